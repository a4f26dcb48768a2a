// Tests for the t-digest quantile summary against exact quantiles of sorted samples.
import { describe, expect, it } from "vitest";
import { Pcg32 } from "../sampling/prng";
import { DEFAULT_QUANTILES, QuantileSummary } from "./quantiles";

// A skewed, heavy-ish tailed sample (log-normal): scores look like this, and symmetric data would hide
// a summary that confuses the two tails.
function logNormal(seed: number, n: number): Float64Array {
  const rng = new Pcg32(seed);
  return Float64Array.from({ length: n }, () => {
    const z = Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
    return Math.exp(0.75 * z);
  });
}

// Exact empirical CDF from a sorted sample: fraction of values ≤ x.
function empiricalCdf(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo / sorted.length;
}

const QS = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999];
// Rank error of the digest's quantile: |F_n(q̂) − q| ≤ 0.005, tighter in the tails (δ = 0.01 bounds a
// centroid at rank q to 4δ·q(1−q) of the mass; interpolation keeps the error well below that).
const rankTolerance = (q: number) => Math.max(0.0005, 0.5 * 4 * 0.01 * q * (1 - q));

describe("QuantileSummary", () => {
  const N = 100_000;
  const xs = logNormal(1, N);
  const sorted = Float64Array.from(xs).sort();
  const whole = new QuantileSummary();
  whole.pushAll(xs);

  it("matches exact quantiles of 100k samples in rank (|F_n(q̂) − q| ≤ 0.005, ≤ 0.0005 in the 0.1% tails)", () => {
    expect(whole.count).toBe(N);
    expect(whole.quantile(0)).toBe(sorted[0]);
    expect(whole.quantile(1)).toBe(sorted[N - 1]);
    for (const q of QS) {
      const rank = empiricalCdf(sorted, whole.quantile(q));
      expect(Math.abs(rank - q), `q = ${q}`).toBeLessThanOrEqual(rankTolerance(q));
    }
    // The summary stays small: far fewer centroids than points.
    expect(whole.size).toBeLessThan(3000);
  });

  it("cdf agrees with the exact empirical CDF and inverts quantile", () => {
    for (const q of QS) {
      const x = sorted[Math.floor(q * N)];
      expect(Math.abs(whole.cdf(x) - empiricalCdf(sorted, x)), `x at q = ${q}`).toBeLessThanOrEqual(rankTolerance(q));
      expect(Math.abs(whole.cdf(whole.quantile(q)) - q), `q = ${q}`).toBeLessThanOrEqual(rankTolerance(q));
    }
    expect(whole.cdf(sorted[0] - 1)).toBe(0);
    expect(whole.cdf(sorted[N - 1])).toBe(1);
    expect(whole.cdf(sorted[N - 1] * 2)).toBe(1);
  });

  it("merging 4 shards agrees with the exact quantiles and with one summary", () => {
    const shards = [0, 1, 2, 3].map(() => new QuantileSummary());
    xs.forEach((x, k) => shards[k % 4].push(x));
    const merged = shards[0].merge(shards[1]).merge(shards[2]).merge(shards[3]);
    expect(merged.count).toBe(N);
    expect(merged.quantile(0)).toBe(sorted[0]);
    expect(merged.quantile(1)).toBe(sorted[N - 1]);
    for (const q of QS) {
      const rankMerged = empiricalCdf(sorted, merged.quantile(q));
      expect(Math.abs(rankMerged - q), `q = ${q}`).toBeLessThanOrEqual(rankTolerance(q));
      expect(Math.abs(rankMerged - empiricalCdf(sorted, whole.quantile(q)))).toBeLessThanOrEqual(rankTolerance(q));
    }
  });

  it("is deterministic and round-trips through JSON with identical quantiles and cdf", () => {
    const again = new QuantileSummary();
    again.pushAll(xs);
    expect(again.toJSON()).toEqual(whole.toJSON());

    const copy = QuantileSummary.fromJSON(JSON.parse(JSON.stringify(whole)));
    expect(copy.count).toBe(N);
    expect(copy.table()).toEqual(whole.table());
    for (const q of QS) expect(copy.quantile(q)).toBe(whole.quantile(q));
    for (const x of [0.3, 1, 2.5, 7]) expect(copy.cdf(x)).toBe(whole.cdf(x));
    expect(whole.table().map((row) => row.q)).toEqual(DEFAULT_QUANTILES);
  });

  it("stays accurate, bounded and deterministic on sorted input (its worst case, which forces recompression)", () => {
    // Sorted pushes never merge (each point lands beyond the max centroid), so the centroid count hits the
    // 25/δ = 2500 trigger again and again and the seeded re-insertion runs many times.
    const thinned = sorted.filter((_, k) => k % 3 === 0); // 33,334 values, still sorted
    const runs = [0, 1].map(() => {
      const s = new QuantileSummary();
      s.pushAll(thinned);
      return s;
    });
    expect(runs[0].toJSON()).toEqual(runs[1].toJSON());
    expect(runs[0].size).toBeLessThanOrEqual(2500);
    for (const q of QS) {
      expect(Math.abs(empiricalCdf(thinned, runs[0].quantile(q)) - q), `q = ${q}`).toBeLessThanOrEqual(rankTolerance(q));
    }
  });

  it("is exact on a handful of values and validates its inputs", () => {
    const small = new QuantileSummary();
    small.pushAll([5, 1, 3]);
    expect(small.quantile(0)).toBe(1);
    expect(small.quantile(0.5)).toBe(3);
    expect(small.quantile(1)).toBe(5);
    expect(small.cdf(3)).toBeCloseTo(0.5, 12); // mid-rank of the middle point: 1.5 of 3
    expect(() => small.quantile(1.01)).toThrow(/^q must be in \[0, 1\] \(got 1.01\)/);
    expect(() => small.quantile(Number.NaN)).toThrow(/^q must be in \[0, 1\]/);
    expect(() => small.push(Number.POSITIVE_INFINITY)).toThrow(/^x must be a finite number/);
    expect(() => new QuantileSummary().quantile(0.5)).toThrow(/empty/);
    expect(() => new QuantileSummary(0)).toThrow(/^delta/);
    const json = small.toJSON();
    expect(() => QuantileSummary.fromJSON({ ...json, count: 4 })).toThrow(/^count must equal the centroid total 3/);
  });
});
