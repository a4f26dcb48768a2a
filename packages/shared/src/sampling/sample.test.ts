import { describe, expect, it } from "vitest";
import { ParameterError } from "../errors";
import { gaussians, naiveSoftmax } from "../../../../test/support/math-inputs";
import { Pcg32 } from "./prng";
import { sampleToken, samplingDistribution, validateSamplingParams, type SamplingParams } from "./sample";

// Independent reference: full sort of float64 probabilities, filters applied from their definitions.
function referenceDistribution(logits: ArrayLike<number>, { temperature, topK = 0, topP = 1, minP = 0 }: SamplingParams) {
  const p = naiveSoftmax(Array.from(logits, (x) => x / temperature));
  let order = p.map((_, i) => i).sort((a, b) => p[b]! - p[a]! || a - b);
  if (topK > 0) order = order.slice(0, topK);
  if (topP < 1) {
    const mass = order.reduce((a, i) => a + p[i]!, 0);
    let cum = 0;
    const cut = order.findIndex((i) => (cum += p[i]!) >= topP * mass);
    order = order.slice(0, cut + 1);
  }
  if (minP > 0) order = order.filter((i) => p[i]! >= minP * p[order[0]!]!);
  order.sort((a, b) => a - b);
  const mass = order.reduce((a, i) => a + p[i]!, 0);
  return { tokens: order, probs: order.map((i) => p[i]! / mass) };
}

describe("sampling", () => {
  const logits = Float32Array.from(gaussians(2000, 31, 2.5));

  it("filters agree with a sort-based float64 reference", () => {
    const cases: SamplingParams[] = [
      { temperature: 1 },
      { temperature: 0.7, topK: 40 },
      { temperature: 1.3, topP: 0.9 },
      { temperature: 1, topP: 0.5, topK: 100 },
      { temperature: 0.8, minP: 0.05 },
      { temperature: 1, topK: 50, topP: 0.95, minP: 0.02 },
      { temperature: 1, topK: -1, topP: 1e-9 },
    ];
    for (const params of cases) {
      const got = samplingDistribution(logits, params);
      const want = referenceDistribution(logits, params);
      expect([...got.tokens]).toEqual(want.tokens);
      got.probs.forEach((v, j) => expect(v).toBeCloseTo(want.probs[j]!, 12));
    }
  });

  it("top-k keeps the lowest ids among ties at the boundary", () => {
    const tied = [1, 5, 5, 5, 0];
    expect([...samplingDistribution(tied, { temperature: 1, topK: 2 }).tokens]).toEqual([1, 2]);
  });

  it("empirical frequencies match softmax(x/T) (chi-square below its 0.999 quantile)", () => {
    const x = [0.5, -1, 2, 0, 1.2, -0.3, 0.9, -2, 1.7, 0.1];
    const temperature = 0.8;
    const p = naiveSoftmax(x.map((v) => v / temperature));
    const rng = new Pcg32(77);
    const n = 100_000;
    const counts = new Array(x.length).fill(0);
    for (let i = 0; i < n; i++) counts[sampleToken(x, { temperature }, rng.nextFloat())]++;
    const chi2 = counts.reduce((acc, c, i) => acc + (c - n * p[i]!) ** 2 / (n * p[i]!), 0);
    expect(chi2).toBeLessThan(27.88); // χ²_9, 0.999 quantile
  });

  it("temperature 0 is greedy with the lowest-index tie-break, whatever u is", () => {
    expect(sampleToken([0, 3, 3, 1], { temperature: 0 }, 0.999)).toBe(1);
    expect(sampleToken(logits, { temperature: 0, topP: 0.1 }, 0.5)).toBe(referenceDistribution(logits, { temperature: 1, topK: 1 }).tokens[0]);
  });

  it("inverts the CDF at u over kept tokens in id order", () => {
    // p = (0.25, 0.75): u < 0.25 → 0, else 1
    const x = [0, Math.log(3)];
    expect(sampleToken(x, { temperature: 1 }, 0.2499)).toBe(0);
    expect(sampleToken(x, { temperature: 1 }, 0.2501)).toBe(1);
  });

  it("temperature-only draws (no [V] arrays) invert the float64 CDF of softmax(x/T), at vocab 4096", () => {
    const x = Float32Array.from(gaussians(4096, 21, 2));
    for (const temperature of [0.7, 1, 1.3]) {
      const p = naiveSoftmax(Array.from(x, (v) => v / temperature));
      const rng = new Pcg32(5);
      for (let draw = 0; draw < 200; draw++) {
        const u = rng.nextFloat();
        let cdf = 0;
        let expected = p.length - 1;
        for (let i = 0; i < p.length; i++) if (u < (cdf += p[i]!)) { expected = i; break; }
        if (Math.abs(u - cdf) < 1e-12) continue; // on a CDF step: rounding may pick either side
        expect(sampleToken(x, { temperature }, u)).toBe(expected);
        // top-k = V and top-p = 1 are the same distribution through the filtered path
        expect(sampleToken(x, { temperature, topK: 4096 }, u)).toBe(expected);
      }
    }
  });

  it("same seed, same tokens; different seed, different tokens", () => {
    const draw = (seed: number) => {
      const rng = new Pcg32(seed);
      return Array.from({ length: 50 }, () => sampleToken(logits, { temperature: 1, topP: 0.95 }, rng.nextFloat()));
    };
    expect(draw(5)).toEqual(draw(5));
    expect(draw(5)).not.toEqual(draw(6));
  });

  it("invalid parameters throw a ParameterError naming the parameter and its range", () => {
    const bad: [SamplingParams, string, RegExp][] = [
      [{ temperature: -0.1 }, "temperature", /temperature must be a finite number ≥ 0 \(got -0.1\)/],
      [{ temperature: Number.NaN }, "temperature", /temperature/],
      [{ temperature: 1, topK: 1.5 }, "top_k", /top_k must be an integer ≥ −1/],
      [{ temperature: 1, topK: -2 }, "top_k", /top_k/],
      [{ temperature: 1, topP: 0 }, "top_p", /top_p must be in \(0, 1\] \(got 0\)/],
      [{ temperature: 1, topP: 1.01 }, "top_p", /top_p/],
      [{ temperature: 1, minP: -0.5 }, "min_p", /min_p must be in \[0, 1\]/],
    ];
    for (const [params, param, message] of bad) {
      let error: unknown;
      try {
        validateSamplingParams(params);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ParameterError);
      expect((error as ParameterError).param).toBe(param);
      expect((error as Error).message).toMatch(message);
    }
    expect(() => sampleToken(logits, { temperature: 1 }, 1)).toThrow(/u must be in \[0, 1\)/);
  });
});
