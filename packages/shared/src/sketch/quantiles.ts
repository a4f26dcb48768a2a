// Mergeable quantile summary of a stream of reals: a t-digest (Dunning & Ertl 2019, "Computing extremely
// accurate quantiles using t-digests") from the `tdigest` package, made deterministic and JSON-serialisable.
//
// The digest keeps centroids (mean, n) sorted by mean; a centroid at cumulative rank fraction q may hold at most
//   n_max = ⌊4 · N · δ · q(1−q)⌋            (δ = compression, default 0.01)
// points, so centroids are small in the tails and rank error is smallest there, where drift thresholds live.
//   quantile(q): interpolate the mean between the two centroids whose mid-ranks bracket q·N
//   cdf(x):      interpolate the mid-rank between the two centroids whose means bracket x, divided by N
// Exact min and max are tracked beside the digest, so quantile(0) = min, quantile(1) = max, cdf(x < min) = 0,
// cdf(x ≥ max) = 1.
//
// Why wrap the library: its compress() reshuffles centroids with Math.random, so the same data could give
// different sketch.json files. Here automatic recompression is off (K = 0) and this wrapper recompresses,
// and merges, by re-inserting centroids in an order shuffled by a PCG32 stream seeded from the counts, so
// the same pushes and merges give bit-identical digests on every runtime.

import tdigest from "tdigest"; // CommonJS: `module.exports = { TDigest, Digest }`, so use the default import.
import type { TDigest } from "tdigest";
import { ParameterError } from "../errors";
import { Pcg32 } from "../sampling/prng";

/** One t-digest centroid: the mean of `n` points. */
export interface CentroidJson {
  mean: number;
  n: number;
}

/** JSON form of a {@link QuantileSummary}; centroids ascending by mean. */
export interface DigestJson {
  /** Compression δ: max fraction of the mass near the median that one centroid may hold. */
  delta: number;
  count: number;
  min: number;
  max: number;
  centroids: CentroidJson[];
}

/** The fixed table of quantiles written for humans next to the digest in sketch.json. */
export const DEFAULT_QUANTILES: readonly number[] = [0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

// Recompress when the digest holds more than K/δ centroids (the library's own default trigger, K = 25).
const RECOMPRESS_K = 25;
// How often the library refreshes cached cumulative counts during ingest (its default).
const CUMULATE_CX = 1.1;
// Fixed part of the PCG32 seeds for the re-insertion shuffles; the rest is derived from the counts.
const SHUFFLE_SEED = 0x7e7de5;

/**
 * Mergeable, deterministic quantile summary.
 * @example
 * const s = new QuantileSummary();
 * for (const x of scores) s.push(x);
 * s.quantile(0.99);  // ≈ 99th percentile of scores
 * s.cdf(3.2);        // fraction of scores ≤ 3.2, in [0, 1]
 * const copy = QuantileSummary.fromJSON(JSON.parse(JSON.stringify(s)));
 */
export class QuantileSummary {
  readonly delta: number;
  private td: TDigest;
  private n = 0;
  private lo = Infinity;
  private hi = -Infinity;

  constructor(delta = 0.01) {
    if (!(delta > 0 && delta < 1)) throw new ParameterError("delta", "must be in (0, 1)", delta);
    this.delta = delta;
    this.td = new tdigest.TDigest(delta, 0, CUMULATE_CX);
  }

  /** Number of values pushed (including merged ones). */
  get count(): number {
    return this.n;
  }

  /** Smallest value seen (Infinity while empty). */
  get min(): number {
    return this.lo;
  }

  /** Largest value seen (−Infinity while empty). */
  get max(): number {
    return this.hi;
  }

  /** Number of centroids currently held. */
  get size(): number {
    return this.td.size();
  }

  /** Add one finite value. */
  push(x: number): void {
    if (!Number.isFinite(x)) throw new ParameterError("x", "must be a finite number", x);
    this.td.push(x);
    this.n += 1;
    if (x < this.lo) this.lo = x;
    if (x > this.hi) this.hi = x;
    this.maybeRecompress();
  }

  /** Add every value of `xs`. */
  pushAll(xs: Iterable<number>): void {
    for (const x of xs) this.push(x);
  }

  /** Fold `other` into this summary (its centroids re-inserted in a seeded shuffled order). Returns this. */
  merge(other: QuantileSummary): this {
    if (other.n === 0) return this;
    const centroids = shuffled(other.td.toArray(), new Pcg32(this.n, SHUFFLE_SEED + other.n));
    this.td.push_centroid(centroids);
    this.n += other.n;
    this.lo = Math.min(this.lo, other.lo);
    this.hi = Math.max(this.hi, other.hi);
    this.maybeRecompress();
    return this;
  }

  /**
   * Value at cumulative fraction q ∈ [0, 1]: quantile(0) = min, quantile(1) = max, in between the
   * t-digest interpolation (clamped to [min, max]).
   */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new ParameterError("q", "must be in [0, 1]", q);
    this.assertNonEmpty();
    if (q === 0) return this.lo;
    if (q === 1) return this.hi;
    return clamp(this.td.percentile(q), this.lo, this.hi);
  }

  /** Estimated fraction of values ≤ x, in [0, 1] (0 below min, 1 at or above max). */
  cdf(x: number): number {
    if (Number.isNaN(x)) throw new ParameterError("x", "must be a number", x);
    this.assertNonEmpty();
    if (x < this.lo) return 0;
    if (x >= this.hi) return 1;
    return clamp(this.td.p_rank(x), 0, 1);
  }

  /** The quantiles at the given fractions (default {@link DEFAULT_QUANTILES}) as {q, value} rows. */
  table(qs: readonly number[] = DEFAULT_QUANTILES): { q: number; value: number }[] {
    return qs.map((q) => ({ q, value: this.quantile(q) }));
  }

  toJSON(): DigestJson {
    return {
      delta: this.delta,
      count: this.n,
      min: this.lo,
      max: this.hi,
      centroids: this.td.toArray().map((c) => ({ mean: c.mean, n: c.n })),
    };
  }

  /**
   * Inverse of {@link toJSON}. Centroids are re-inserted in ascending order, which recreates them one for one,
   * so quantiles and cdf of the copy equal the original's exactly.
   */
  static fromJSON(json: DigestJson): QuantileSummary {
    const out = new QuantileSummary(json.delta);
    let total = 0;
    let prev = -Infinity;
    json.centroids.forEach((c, k) => {
      if (!Number.isFinite(c.mean) || c.mean < prev) {
        throw new ParameterError(`centroids[${k}].mean`, "must be finite and ascending", c.mean);
      }
      if (!(c.n > 0 && Number.isFinite(c.n))) throw new ParameterError(`centroids[${k}].n`, "must be > 0", c.n);
      prev = c.mean;
      total += c.n;
    });
    if (total !== json.count) throw new ParameterError("count", `must equal the centroid total ${total}`, json.count);
    if (json.count > 0) {
      const first = json.centroids[0].mean;
      const last = json.centroids[json.centroids.length - 1].mean;
      if (!(json.min <= first)) throw new ParameterError("min", `must be ≤ the first centroid mean ${first}`, json.min);
      if (!(json.max >= last)) throw new ParameterError("max", `must be ≥ the last centroid mean ${last}`, json.max);
      out.td.push_centroid(json.centroids);
      out.n = json.count;
      out.lo = json.min;
      out.hi = json.max;
    }
    return out;
  }

  private assertNonEmpty(): void {
    if (this.n === 0) throw new ParameterError("summary", "must hold at least one value (it is empty)");
  }

  // Re-insert the centroids in a seeded shuffled order into a fresh digest: the library's compress()
  // without Math.random (sorted re-insertion would be the worst case for compression).
  private maybeRecompress(): void {
    if (this.td.size() <= RECOMPRESS_K / this.delta) return;
    const centroids = shuffled(this.td.toArray(), new Pcg32(SHUFFLE_SEED, this.n));
    this.td = new tdigest.TDigest(this.delta, 0, CUMULATE_CX);
    this.td.push_centroid(centroids);
  }
}

// Fisher–Yates with a seeded generator.
function shuffled<T>(items: T[], rng: Pcg32): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
  return items;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
