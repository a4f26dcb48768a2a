import { describe, expect, it } from "vitest";
import { klDivergence, sampledLogRatio, sequenceKl, tokenKl } from "./kl";
import { gaussians, naiveKl, naiveSoftmax } from "../../../../test/support/math-inputs";

// p = (0.5, 0.5), q = (0.9, 0.1) as logits; closed forms in nats:
//   KL(p‖q) = 0.5 ln(0.5/0.9) + 0.5 ln(0.5/0.1) = 0.5108256237659907
//   KL(q‖p) = 0.9 ln(0.9/0.5) + 0.1 ln(0.1/0.5) = 0.3680642071684971
const P = [0, 0];
const Q = [Math.log(0.9), Math.log(0.1)];
const KL_PQ = 0.5 * Math.log(0.5 / 0.9) + 0.5 * Math.log(0.5 / 0.1);
const sumExp = (x: number[]) => x.reduce((a, v) => a + Math.exp(v), 0);
const KL_QP = 0.9 * Math.log(0.9 / 0.5) + 0.1 * Math.log(0.1 / 0.5);

describe("exact KL", () => {
  it("matches the closed form in nats, in both directions", () => {
    expect(KL_PQ).toBeCloseTo(0.5108256237659907, 15);
    expect(klDivergence(P, Q)).toBeCloseTo(KL_PQ, 14);
    expect(klDivergence(Q, P)).toBeCloseTo(KL_QP, 14);
    // policy = P, reference = Q: reverse = KL(π_θ‖π_ref), forward = KL(π_ref‖π_θ)
    expect(tokenKl(P, Q, "reverse")).toBeCloseTo(KL_PQ, 14);
    expect(tokenKl(P, Q, "forward")).toBeCloseTo(KL_QP, 14);
    expect(tokenKl(P, Q, "mixed", 0.25)).toBeCloseTo(0.25 * KL_QP + 0.75 * KL_PQ, 14);
  });

  it("matches a float64 definition on random rows and is zero for identical rows", () => {
    for (let seed = 1; seed <= 5; seed++) {
      const p = Float32Array.from(gaussians(4096, seed, 2));
      const q = Float32Array.from(gaussians(4096, seed + 100, 2));
      expect(klDivergence(p, q) / naiveKl(p, q)).toBeCloseTo(1, 11);
      expect(klDivergence(p, p)).toBe(0);
    }
  });

  it("is stable at vocab 152k with large logits (where the naive formula overflows)", () => {
    const vocab = 152_064;
    const p = Float32Array.from(gaussians(vocab, 11, 3));
    const q = Float32Array.from(gaussians(vocab, 12, 3));
    const exact = naiveKl(p, q);
    const shiftedP = p.map((v) => v + 900);
    const shiftedQ = q.map((v) => v - 900);
    expect(naiveSoftmax(shiftedP).some(Number.isNaN)).toBe(true); // exp(900) = Infinity
    expect(klDivergence(shiftedP, shiftedQ) / exact).toBeCloseTo(1, 2); // float32 rounding of ±900 shifts
    expect(klDivergence(p, q) / exact).toBeCloseTo(1, 10);
  });

  it("handles zero-probability tokens: 0·log 0 = 0, and p > 0 with q = 0 is infinite", () => {
    expect(klDivergence([0, -Infinity], [0, 0])).toBeCloseTo(Math.LN2, 15);
    expect(klDivergence([0, 0], [0, -Infinity])).toBe(Infinity);
  });

  it("aggregates per token, per sequence, under a mask", () => {
    const vocab = 50;
    const steps = 6;
    const pol = Float32Array.from(gaussians(vocab * steps, 3, 1.5));
    const ref = Float32Array.from(gaussians(vocab * steps, 4, 1.5));
    const mask = [0, 0, 1, 1, 1, 0];
    const per = Array.from({ length: steps }, (_, t) =>
      naiveKl(pol.subarray(t * vocab, (t + 1) * vocab), ref.subarray(t * vocab, (t + 1) * vocab)),
    );
    const selected = per.filter((_, t) => mask[t]);
    const result = sequenceKl(pol, ref, vocab, { mask });
    expect(result.count).toBe(3);
    expect(result.sum).toBeCloseTo(selected.reduce((a, b) => a + b), 12);
    expect(result.mean).toBeCloseTo(result.sum / 3, 14);
    expect(result.max).toBeCloseTo(Math.max(...selected), 12);
    expect(result.perToken[0]).toBe(0);
    const forward = sequenceKl(pol, ref, vocab, { direction: "forward" });
    expect(forward.sum).toBeCloseTo(
      per.reduce((acc, _, t) => acc + naiveKl(ref.subarray(t * vocab, (t + 1) * vocab), pol.subarray(t * vocab, (t + 1) * vocab)), 0),
      12,
    );
  });

  it("sampled log-ratio sums log π_θ(y) − log π_ref(y) over positions", () => {
    const vocab = 20;
    const pol = Float32Array.from(gaussians(vocab * 3, 5));
    const ref = Float32Array.from(gaussians(vocab * 3, 6));
    const tokens = [3, 19, 0];
    let expected = 0;
    tokens.forEach((y, t) => {
      const p = naiveSoftmax(pol.subarray(t * vocab, (t + 1) * vocab));
      const q = naiveSoftmax(ref.subarray(t * vocab, (t + 1) * vocab));
      expected += Math.log(p[y]!) - Math.log(q[y]!);
    });
    expect(sampledLogRatio(pol, ref, vocab, tokens)).toBeCloseTo(expected, 12);
    expect(() => sampledLogRatio(pol, ref, vocab, [1, 2, 20])).toThrow(/tokens must be integers in \[0, 19\]/);
  });

  it("one pass also yields both log-sum-exps; sequenceKl sums the log-ratio from them", () => {
    const vocab = 300;
    const pol = Float32Array.from(gaussians(vocab * 4, 8, 2));
    const ref = Float32Array.from(gaussians(vocab * 4, 9, 2));
    const lse = new Float64Array(2);
    klDivergence(pol.subarray(0, vocab), ref.subarray(0, vocab), lse);
    const lse64 = (row: Float32Array) => Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
    expect(lse[0]).toBeCloseTo(lse64(pol.subarray(0, vocab)), 12);
    expect(lse[1]).toBeCloseTo(lse64(ref.subarray(0, vocab)), 12);
    const tokens = [0, 299, 17, 150];
    for (const direction of ["reverse", "forward", "mixed"] as const) {
      const result = sequenceKl(pol, ref, vocab, { direction, tokens });
      let expected = 0;
      tokens.forEach((y, t) => {
        const p = naiveSoftmax(pol.subarray(t * vocab, (t + 1) * vocab));
        const q = naiveSoftmax(ref.subarray(t * vocab, (t + 1) * vocab));
        expected += Math.log(p[y]! / q[y]!);
      });
      expect(result.logRatio).toBeCloseTo(expected, 11);
    }
    expect(sequenceKl(pol, ref, vocab).logRatio).toBe(0);
    expect(() => sequenceKl(pol, ref, vocab, { tokens: [0, 1, 2, 300] })).toThrow(/tokens must be integers in \[0, 299\]/);
  });

  it("masked tokens in either row and the online max: leading −∞, a late maximum, rows of one finite entry", () => {
    const p = [-Infinity, -5, 0, 3, -Infinity, 2];
    const q = [1, -Infinity, 3, 2, -Infinity, -1];
    expect(klDivergence(p, q)).toBe(Infinity); // p_1 > 0 where q_1 = 0
    // P lives on ids {2, 3, 5}; q_i = q'_i · Z'/Z with q' = Q renormalised there: KL = KL(P‖Q') + log Z − log Z'
    const p2 = [-Infinity, -Infinity, 0, 3, -Infinity, 2];
    expect(klDivergence(p2, q)).toBeCloseTo(naiveKl([0, 3, 2], [3, 2, -1]) + Math.log(sumExp([1, 3, 2, -1])) - Math.log(sumExp([3, 2, -1])), 13);
    expect(klDivergence([-Infinity, 4], [7, -Infinity])).toBe(Infinity);
    expect(klDivergence([-Infinity, 4], [-Infinity, -3])).toBe(0);
    expect(() => klDivergence([-Infinity, -Infinity], [0, 0])).toThrow(/at least one finite value/);
    expect(() => klDivergence([0, 0], [0, Number.NaN])).toThrow(/finite or −Infinity/);
  });

  it("rejects mismatched shapes and a mix weight outside [0, 1]", () => {
    expect(() => klDivergence([0, 1], [0])).toThrow(/equal length/);
    expect(() => tokenKl(P, Q, "mixed", 1.5)).toThrow(/mix must be in \[0, 1\]/);
    expect(() => sequenceKl(new Float32Array(10), new Float32Array(10), 3)).toThrow(/multiple of vocab/);
  });
});
