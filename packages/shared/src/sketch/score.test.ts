// Tests for masked mean pooling and the drift score: a hand-computed case and the χ²_m null distribution.
import { describe, expect, it } from "vitest";
import { Pcg32 } from "../sampling/prng";
import { QuantileSummary } from "./quantiles";
import { MeanPool, driftScore, meanPool, percentile } from "./score";

function gaussian(rng: Pcg32): number {
  return Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
}

// χ²_k quantile by Wilson & Hilferty (1931): k·(1 − 2/(9k) + z_q·√(2/(9k)))³; relative error < 1e-3 for k ≥ 30.
function chiSquareQuantileWH(k: number, z: number): number {
  const a = 2 / (9 * k);
  return k * (1 - a + z * Math.sqrt(a)) ** 3;
}
const Z_95 = 1.6448536269514722; // Φ⁻¹(0.95)

describe("pooling", () => {
  it("takes the masked mean over tokens, also across streamed calls", () => {
    // Y [3, 3]; the third token is padding and must not count.
    const Y = [1, 2, 3, 3, 4, 5, 100, 100, 100];
    expect(Array.from(meanPool(Y, 3, [1, 1, 0]))).toEqual([2, 3, 4]);
    expect(Array.from(meanPool(Y, 3))).toEqual([104 / 3, 106 / 3, 108 / 3]);

    // Prefill of 2 tokens, then a decode step reported as (sum, count) by the graph.
    const pool = new MeanPool(3);
    pool.addTokens(Y.slice(0, 6), [1, 1]);
    pool.addSum([7, 0, -1], 1);
    expect(pool.count).toBe(3);
    expect(Array.from(pool.mean())).toEqual([11 / 3, 6 / 3, 7 / 3]) // (1+3+7)/3, (2+4+0)/3, (3+5−1)/3;

    expect(() => meanPool(Y, 3, [1, 0, 0.5])).toThrow(/^mask\[2\] must be 0 or 1/);
    expect(() => meanPool(Y, 3, [0, 0, 0])).toThrow(/no unmasked token/);
    expect(() => meanPool(Y, 4)).toThrow(/^Y.length must be a multiple of m = 4/);
  });
});

describe("driftScore", () => {
  it("matches a hand computation", () => {
    const ref = { mean: [1, 3, 2], variance: [1, 2, 4] };
    // (1/3)·((2−1)²/1 + (3−3)²/2 + (4−2)²/4) = 2/3
    expect(driftScore([2, 3, 4], ref, 0)).toBeCloseTo(2 / 3, 15);
    // with ε = 1: (1/3)·(1/2 + 0/3 + 4/5) = 13/30
    expect(driftScore([2, 3, 4], ref, 1)).toBeCloseTo(13 / 30, 15);
    expect(() => driftScore([2, 3], ref)).toThrow(/^pooled.length must equal m = 3/);
    expect(() => driftScore([1, 3, 2.5], { mean: [1, 3, 2], variance: [1, 1, 0] }, 0)).toThrow(/^score must be finite/);
  });

  it("follows χ²_m/m under the Gaussian null: mean ≈ 1, 95th percentile of m·score ≈ χ²_m(0.95)", () => {
    const m = 64;
    const rng = new Pcg32(31337);
    // Coordinates with very different scales, so dividing by σ instead of σ² (or not at all) would show.
    const mean = Array.from({ length: m }, () => 5 * gaussian(rng));
    const variance = Array.from({ length: m }, (_, i) => 0.05 * 1.1 ** i); // 0.05 … 20
    const N = 20_000;
    const scaled = new Float64Array(N); // m·score
    let sum = 0;
    const y = new Float64Array(m);
    for (let k = 0; k < N; k++) {
      for (let i = 0; i < m; i++) y[i] = mean[i] + Math.sqrt(variance[i]) * gaussian(rng);
      const s = driftScore(y, { mean, variance }, 0);
      sum += s;
      scaled[k] = m * s;
    }
    // E[score] = 1, sd of the N-sample mean = √(2/m)/√N ≈ 0.0013; tolerance 0.007 ≈ 5σ.
    expect(Math.abs(sum / N - 1)).toBeLessThan(0.007);
    // Sample 95th percentile: sd ≈ √(0.95·0.05/N)/f(q) ≈ 0.17 for χ²_64 (f(q) ≈ 0.009); tolerance 1.0 ≈ 6σ,
    // plus Wilson–Hilferty's error (< 0.01 here).
    scaled.sort();
    const q95 = scaled[Math.floor(0.95 * N)];
    expect(Math.abs(q95 - chiSquareQuantileWH(m, Z_95))).toBeLessThan(1.0);
    expect(chiSquareQuantileWH(m, Z_95)).toBeCloseTo(83.675, 2); // tabulated χ²_64(0.95) = 83.675
  });

  it("percentile reads the score's rank in a reference summary", () => {
    const ref = new QuantileSummary();
    ref.pushAll(Array.from({ length: 1000 }, (_, k) => (k + 0.5) / 1000)); // uniform on (0, 1)
    expect(percentile(0.25, ref)).toBeCloseTo(0.25, 2);
    expect(percentile(-1, ref)).toBe(0);
    expect(percentile(5, ref)).toBe(1);
  });
});
