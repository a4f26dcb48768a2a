import { describe, expect, it } from "vitest";
import { Pcg32 } from "../sampling/prng";
import { sampleToken } from "../sampling/sample";
import { klEstimate, klEstimates, type KlEstimator } from "./estimators";
import { klDivergence } from "./kl";
import { logSoftmax } from "./softmax";
import { gaussians } from "../../../../test/support/math-inputs";

// Draw N tokens y ~ π_θ with a seeded generator; return the per-sample estimator values.
function sampleEstimates(kind: KlEstimator, policy: Float64Array, reference: Float64Array, n: number, seed: number) {
  const rng = new Pcg32(seed, 1);
  const lp = logSoftmax(policy);
  const lq = logSoftmax(reference);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const y = sampleToken(policy, { temperature: 1 }, rng.nextFloat());
    values[i] = klEstimate(kind, lp[y]!, lq[y]!);
  }
  return values;
}

function meanAndStderr(values: Float64Array): [number, number] {
  let mean = 0;
  for (const v of values) mean += v / values.length;
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  return [mean, Math.sqrt(ss / (values.length - 1) / values.length)];
}

describe("KL estimators (Schulman 2020)", () => {
  const vocab = 64;
  const policy = gaussians(vocab, 21, 1.2);
  // A reference near the policy (KL ≈ 0.1 nats, a realistic drift): far apart, r = π_ref/π_θ is heavy-tailed
  // and k3's variance explodes, which is Schulman's caveat, not what these tests are about.
  const noise = gaussians(vocab, 22, 0.5);
  const reference = policy.map((v, i) => v + noise[i]!);
  const exact = klDivergence(policy, reference); // KL(π_θ‖π_ref)
  const n = 200_000;

  it("k1 and k3 sample means converge to the exact KL (within 4 standard errors)", () => {
    expect(exact).toBeGreaterThan(0.05); // the test must distinguish KL from 0 and from −KL
    for (const kind of ["k1", "k3"] as const) {
      const [mean, stderr] = meanAndStderr(sampleEstimates(kind, policy, reference, n, 5));
      expect(stderr).toBeLessThan(0.1 * exact);
      expect(Math.abs(mean - exact)).toBeLessThan(4 * stderr);
    }
  });

  it("k2 converges to its own expectation Σ π_θ·½(log r)², close to KL only when π_θ ≈ π_ref", () => {
    const lp = logSoftmax(policy);
    const lq = logSoftmax(reference);
    let expected = 0;
    for (let i = 0; i < vocab; i++) expected += Math.exp(lp[i]!) * 0.5 * (lq[i]! - lp[i]!) ** 2;
    const [mean, stderr] = meanAndStderr(sampleEstimates("k2", policy, reference, n, 6));
    expect(Math.abs(mean - expected)).toBeLessThan(4 * stderr);
    // Nearby distributions: bias is third order in the log-ratio.
    const near = policy.map((v, i) => v + 0.1 * noise[i]!);
    const lnear = logSoftmax(near);
    let k2Near = 0;
    for (let i = 0; i < vocab; i++) k2Near += Math.exp(lp[i]!) * 0.5 * (lnear[i]! - lp[i]!) ** 2;
    const klNear = klDivergence(policy, near);
    expect(Math.abs(k2Near - klNear) / klNear).toBeLessThan(0.05);
  });

  it("k2 and k3 are non-negative per sample, k1 is not; k3 has less variance than k1", () => {
    const k1 = sampleEstimates("k1", policy, reference, 20_000, 7);
    const k3 = sampleEstimates("k3", policy, reference, 20_000, 7);
    expect(Math.min(...k1)).toBeLessThan(0);
    expect(Math.min(...k3)).toBeGreaterThanOrEqual(0);
    expect(meanAndStderr(k3)[1]).toBeLessThan(meanAndStderr(k1)[1]);
  });

  it("hand-checked values and the element-wise form", () => {
    // log π_θ(y) = ln 0.5, log π_ref(y) = ln 0.25 → r = 0.5
    expect(klEstimate("k1", Math.log(0.5), Math.log(0.25))).toBeCloseTo(Math.LN2, 15);
    expect(klEstimate("k2", Math.log(0.5), Math.log(0.25))).toBeCloseTo(0.5 * Math.LN2 ** 2, 15);
    expect(klEstimate("k3", Math.log(0.5), Math.log(0.25))).toBeCloseTo(-0.5 + Math.LN2, 15);
    // r = 1 + 1e-9: k3 ≈ (1e-9)²/2 needs expm1 to keep any digits
    expect(klEstimate("k3", 0, Math.log1p(1e-9))).toBeCloseTo(5e-19, 24);
    expect([...klEstimates("k1", [0, -1], [-1, 0])]).toEqual([1, -1]);
    expect(() => klEstimate("k4" as KlEstimator, 0, 0)).toThrow(/kl_estimator must be k1, k2 or k3/);
  });
});
