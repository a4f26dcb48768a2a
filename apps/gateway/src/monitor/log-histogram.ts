// A mergeable quantile summary: counts in fixed log-spaced buckets (DDSketch's layout, Masson et al. 2019,
// without its bucket collapsing). O(1) per observation, exactly mergeable (add the counts), so a window is
// the bucket-wise sum of its time slots and gives the same answer whatever the order of observations.
//
// Layout: bucket i ≥ 1 holds x in (MIN·γ^(i−1), MIN·γ^i] with γ = (1 + α)/(1 − α); bucket 0 holds x ≤ MIN.
// A bucket is reported by 2·MIN·γ^i/(γ + 1), whose relative distance to every x in the bucket is ≤ α:
//   at x = MIN·γ^(i−1): (2γ/(γ+1) − 1) = (γ − 1)/(γ + 1) = α; at x = MIN·γ^i: 1 − 2/(γ+1) = α.
// So for the nearest-rank quantile x_(⌈q·n⌉) of the observed values: |estimate − exact| ≤ α·exact when
// exact > MIN, and estimate = 0 (error ≤ MIN) when exact ≤ MIN. Values above MAX share the top bucket.
// With α = 1%, MIN = 1e-6 and MAX = 1e7 (KL in nats down to float32 rounding, latency in ms up to ~3 h,
// percentile scores 0–100) that is 1,498 buckets: 6 KB per summary, allocated on the first observation.

/** Relative error bound α of every quantile above MIN. */
export const RELATIVE_ERROR = 0.01;
/** Values at or below MIN are counted as 0 (absolute error ≤ MIN). */
export const MIN_VALUE = 1e-6;
export const MAX_VALUE = 1e7;

const GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR);
const LOG_GAMMA = Math.log(GAMMA);
const BUCKETS = Math.ceil(Math.log(MAX_VALUE / MIN_VALUE) / LOG_GAMMA) + 1;

function bucketOf(x: number): number {
  if (!(x > MIN_VALUE)) return 0; // also NaN and negatives: KL, latencies and percentiles are ≥ 0
  return Math.min(BUCKETS - 1, Math.max(1, Math.ceil(Math.log(x / MIN_VALUE) / LOG_GAMMA)));
}

function valueOf(bucket: number): number {
  return bucket === 0 ? 0 : (2 * MIN_VALUE * GAMMA ** bucket) / (GAMMA + 1);
}

/**
 * Count, sum, max and a quantile sketch of non-negative values.
 * @example
 * const h = new LogHistogram(); [0.1, 0.2, 0.3].forEach((x) => h.add(x));
 * h.quantile(0.5) // 0.2 within 1%
 */
export class LogHistogram {
  count = 0;
  sum = 0;
  max = -Infinity;
  private counts: Uint32Array | null = null;

  add(x: number): void {
    if (!Number.isFinite(x)) x = MAX_VALUE; // an infinite KL is "off the scale", not dropped
    (this.counts ??= new Uint32Array(BUCKETS))[bucketOf(x)]!++;
    this.count++;
    this.sum += x;
    if (x > this.max) this.max = x;
  }

  /** Adds another summary's observations into this one. */
  merge(other: LogHistogram): void {
    if (other.count === 0) return;
    const mine = (this.counts ??= new Uint32Array(BUCKETS));
    const theirs = other.counts!;
    for (let i = 0; i < BUCKETS; i++) mine[i]! += theirs[i]!;
    this.count += other.count;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
  }

  mean(): number | null {
    return this.count === 0 ? null : this.sum / this.count;
  }

  /** Nearest-rank q-quantile (the ⌈q·n⌉-th smallest value), within RELATIVE_ERROR; null when empty. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    if (q >= 1) return this.max;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    const counts = this.counts!;
    for (let i = 0; i < BUCKETS; i++) {
      seen += counts[i]!;
      if (seen >= rank) return Math.min(valueOf(i), this.max); // never above the true maximum
    }
    return this.max;
  }

  reset(): void {
    this.count = 0;
    this.sum = 0;
    this.max = -Infinity;
    this.counts?.fill(0);
  }
}
