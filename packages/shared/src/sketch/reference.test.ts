// Tests for building reference statistics from calibration requests and scoring against them.
import { describe, expect, it } from "vitest";
import { parseSketchJson } from "../schemas/sketch";
import { Pcg32 } from "../sampling/prng";
import { ReferenceStatsBuilder, SketchReference, leaveOneOutScores, makeSketchSpec, percentScore, scorePools } from "./reference";
import { MeanPool } from "./score";

function gaussian(rng: Pcg32): number {
  return Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
}

describe("leaveOneOutScores", () => {
  it("equals scoring each vector against a two-pass mean/sample variance of the others", () => {
    const rng = new Pcg32(8);
    const vectors = Array.from({ length: 7 }, () => Array.from({ length: 3 }, (_, i) => 10 * i + gaussian(rng)));
    const eps = 0.01;
    const scores = leaveOneOutScores(vectors, eps);
    vectors.forEach((y, k) => {
      const others = vectors.filter((_, j) => j !== k);
      let expected = 0;
      for (let i = 0; i < 3; i++) {
        const mu = others.reduce((acc, v) => acc + v[i], 0) / others.length;
        const s2 = others.reduce((acc, v) => acc + (v[i] - mu) ** 2, 0) / (others.length - 1);
        expected += (y[i] - mu) ** 2 / (s2 + eps);
      }
      expect(scores[k]).toBeCloseTo(expected / 3, 12);
    });
    expect(Array.from(leaveOneOutScores([[0], [1], [2]], 0))).toEqual([4.5, 0, 4.5]);
    expect(() => leaveOneOutScores([[0], [1]])).toThrow(/^vectors.length must be ≥ 3/);
  });
});

describe("ReferenceStatsBuilder / SketchReference", () => {
  const m = 32;
  const layers = [3, 7];
  const spec = makeSketchSpec({ d: 256, layers, m, seed: 5, varianceEps: 0 });
  const rng = new Pcg32(99);
  // Per layer a reference distribution of pooled vectors with unequal coordinate scales.
  const truth = layers.map(() => ({
    mean: Array.from({ length: m }, () => gaussian(rng)),
    sd: Array.from({ length: m }, (_, i) => 0.1 + 0.05 * i),
  }));
  const draw = (shift: number) => truth.map((t) => t.mean.map((mu, i) => mu + t.sd[i] * (gaussian(rng) + shift)));

  const N = 2000;
  const builder = new ReferenceStatsBuilder(spec);
  for (let k = 0; k < N; k++) builder.addRequest(draw(0));
  const built = builder.build();
  const reference = SketchReference.fromJson(JSON.stringify(built));

  it("writes a valid sketch.json whose moments estimate the calibration distribution", () => {
    expect(() => parseSketchJson(built)).not.toThrow();
    expect(built.layers.map((l) => [l.layer, l.count, l.score.count])).toEqual([[3, N, N], [7, N, N]]);
    built.layers.forEach((entry, k) => {
      entry.mean.forEach((mu, i) => {
        // standard error of a mean of N draws: sd/√N; 5σ
        expect(Math.abs(mu - truth[k].mean[i])).toBeLessThan((5 * truth[k].sd[i]) / Math.sqrt(N));
        // relative standard error of a sample variance: √(2/(N−1)) ≈ 0.032; 5σ
        expect(Math.abs(entry.variance[i] / truth[k].sd[i] ** 2 - 1)).toBeLessThan(0.16);
      });
    });
  });

  it("stores a null score distribution close to χ²_m/m (95th percentile within 0.06 of 46.19/32)", () => {
    for (const entry of built.layers) {
      const q95 = entry.score.quantiles.find((row) => row.q === 0.95)?.value ?? Number.NaN;
      // χ²_32(0.95) = 46.194; the sample quantile of N = 2000 has sd ≈ 0.012 in score units.
      expect(Math.abs(q95 - 46.194 / m)).toBeLessThan(0.06);
      const median = entry.score.quantiles.find((row) => row.q === 0.5)?.value ?? Number.NaN;
      expect(Math.abs(median - 31.336 / m)).toBeLessThan(0.04); // χ²_32(0.5) = 31.336
    }
  });

  it("gives held-out null requests uniform percentiles and shifted ones percentiles > 0.99", () => {
    const held = Array.from({ length: 500 }, () => reference.score(draw(0)));
    for (let k = 0; k < layers.length; k++) {
      const ps = held.map((r) => r[k].percentile);
      const mean = ps.reduce((a, b) => a + b, 0) / ps.length;
      expect(Math.abs(mean - 0.5)).toBeLessThan(0.07); // sd of a mean of 500 uniforms ≈ 0.013; ≈ 5σ
      const above95 = ps.filter((p) => p > 0.95).length / ps.length;
      expect(Math.abs(above95 - 0.05)).toBeLessThan(0.05);
    }
    // A shift of 2σ in every coordinate: E[score] = 1 + 2² = 5, far beyond the null 99th percentile (≈ 1.67).
    for (let r = 0; r < 100; r++) {
      for (const { layer, score, percentile } of reference.score(draw(2))) {
        expect(score, `layer ${layer}`).toBeGreaterThan(2);
        expect(percentile, `layer ${layer}`).toBeGreaterThan(0.99);
      }
    }
  });

  it("scores with the stored moments, exactly as driftScore on the JSON values", () => {
    const y = draw(0);
    const [first] = reference.score(y);
    const entry = built.layers[0];
    let expected = 0;
    for (let i = 0; i < m; i++) expected += (y[0][i] - entry.mean[i]) ** 2 / entry.variance[i];
    expect(first.score).toBeCloseTo(expected / m, 12);
    expect(reference.layer(7).layer).toBe(7);
    expect(() => reference.layer(4)).toThrow(/^layer must be one of \[3, 7\]/);
    expect(() => reference.score([y[0]])).toThrow(/^pooled.length must equal the number of monitored layers 2/);
  });

  it("validates its inputs", () => {
    expect(() => new ReferenceStatsBuilder({ ...spec, density: 0 })).toThrow(/^spec.density/);
    const b = new ReferenceStatsBuilder(spec);
    expect(() => b.addRequest([new Float64Array(m)])).toThrow(/^pooled.length/);
    expect(() => b.addRequest([new Float64Array(m), new Float64Array(m + 1)])).toThrow(/^pooled\[1\].length must equal m = 32/);
    expect(() => b.addRequest([new Float64Array(m).fill(Number.NaN), new Float64Array(m)])).toThrow(/^pooled\[0\]\[0\] must be finite/);
    expect(() => b.build()).toThrow(/^count must be ≥ 3/);
  });
});

describe("scorePools / percentScore", () => {
  it("score each layer's masked token mean, as percent; null while any pool is empty", () => {
    const spec = makeSketchSpec({ d: 4, layers: [1, 2], m: 2 });
    const builder = new ReferenceStatsBuilder(spec);
    for (let k = 0; k < 9; k++) builder.addRequest([[k % 3, k], [k, -k % 4]]);
    const reference = SketchReference.fromJson(builder.build());
    const pools = [new MeanPool(2), new MeanPool(2)];
    pools[0]!.addTokens([1, 2, 9, 9, 3, 4], [1, 0, 1]); // ȳ = [2, 3]
    expect(scorePools(reference, pools)).toBeNull();
    pools[1]!.addTokens([5, -1]);
    const scores = scorePools(reference, pools)!;
    // closed form: (1/m) Σ_i (ȳ_i − μ_i)² / (σ_i² + ε) on layer 1's stored moments
    const l1 = reference.layer(1);
    const expected = ((2 - l1.mean[0]!) ** 2 / (l1.variance[0]! + 1e-6) + (3 - l1.mean[1]!) ** 2 / (l1.variance[1]! + 1e-6)) / 2;
    expect(scores[0]!.score).toBeCloseTo(expected, 12);
    expect(scores.map(percentScore)).toEqual(scores.map((s) => 100 * reference.layer(s.layer).scores.cdf(s.score)));
    expect(scorePools(reference, [])).toBeNull();
  });
});
