// Per-coordinate running mean and variance of a stream of vectors (Welford 1962), mergeable across shards
// (Chan, Golub & LeVeque 1979, "Updating formulae and a pairwise algorithm for computing sample variances").
//
// Push x (count n → n+1):           δ = x − μ;  μ ← μ + δ/(n+1);  M2 ← M2 + δ·(x − μ_new)
// Merge (n_a, μ_a, M2_a) with b:    n = n_a + n_b;  δ = μ_b − μ_a;
//                                   μ = μ_a + δ·n_b/n;  M2 = M2_a + M2_b + δ²·n_a·n_b/n
// Population variance M2/n, sample (unbiased) variance M2/(n−1). Accumulators are float64 whatever the input.

import { ParameterError } from "../errors";

/** JSON form of {@link RunningMoments}: enough to resume or merge exactly. */
export interface MomentsJson {
  dim: number;
  count: number;
  mean: number[];
  /** Σ (x − μ)² per coordinate. */
  m2: number[];
}

/**
 * Running per-coordinate mean/variance of `dim`-dimensional vectors.
 * @example
 * const mom = new RunningMoments(2);
 * mom.push([1, 10]); mom.push([3, 14]);
 * mom.mean();             // Float64Array [2, 12]
 * mom.variance();         // population: [1, 4]
 * mom.variance("sample"); // [2, 8]
 */
export class RunningMoments {
  readonly dim: number;
  private n = 0;
  private readonly mu: Float64Array;
  private readonly m2: Float64Array;

  constructor(dim: number) {
    if (!Number.isInteger(dim) || dim < 1) throw new ParameterError("dim", "must be an integer ≥ 1", dim);
    this.dim = dim;
    this.mu = new Float64Array(dim);
    this.m2 = new Float64Array(dim);
  }

  /** Number of vectors seen. */
  get count(): number {
    return this.n;
  }

  /** Add one vector (length dim). */
  push(x: ArrayLike<number>): void {
    if (x.length !== this.dim) throw new ParameterError("x.length", `must equal dim = ${this.dim}`, x.length);
    this.n += 1;
    const n = this.n;
    for (let i = 0; i < this.dim; i++) {
      const delta = x[i] - this.mu[i];
      this.mu[i] += delta / n;
      this.m2[i] += delta * (x[i] - this.mu[i]);
    }
  }

  /** Fold another accumulator into this one (Chan et al.); `other` is unchanged. Returns this. */
  merge(other: RunningMoments): this {
    if (other.dim !== this.dim) throw new ParameterError("other.dim", `must equal dim = ${this.dim}`, other.dim);
    if (other.n === 0) return this;
    const na = this.n;
    const nb = other.n;
    const n = na + nb;
    for (let i = 0; i < this.dim; i++) {
      const delta = other.mu[i] - this.mu[i];
      this.mu[i] += (delta * nb) / n;
      this.m2[i] += other.m2[i] + (delta * delta * na * nb) / n;
    }
    this.n = n;
    return this;
  }

  /** Per-coordinate mean (a copy); zeros while empty. */
  mean(): Float64Array {
    return Float64Array.from(this.mu);
  }

  /**
   * Per-coordinate variance (a copy): "population" M2/n (default) or "sample" M2/(n−1).
   * Throws while there are too few vectors (n < 1, or n < 2 for "sample").
   */
  variance(kind: "population" | "sample" = "population"): Float64Array {
    const denom = kind === "sample" ? this.n - 1 : this.n;
    if (denom < 1) {
      throw new ParameterError("count", `must be ≥ ${kind === "sample" ? 2 : 1} for ${kind} variance`, this.n);
    }
    const out = new Float64Array(this.dim);
    for (let i = 0; i < this.dim; i++) out[i] = this.m2[i] / denom;
    return out;
  }

  /** Σ (x − μ)² per coordinate (a copy). */
  sumSquares(): Float64Array {
    return Float64Array.from(this.m2);
  }

  toJSON(): MomentsJson {
    return { dim: this.dim, count: this.n, mean: Array.from(this.mu), m2: Array.from(this.m2) };
  }

  /** Inverse of {@link toJSON}; validates lengths and counts. */
  static fromJSON(json: MomentsJson): RunningMoments {
    const out = new RunningMoments(json.dim);
    if (!Number.isSafeInteger(json.count) || json.count < 0) {
      throw new ParameterError("count", "must be a non-negative integer", json.count);
    }
    if (json.mean.length !== json.dim) throw new ParameterError("mean.length", `must equal dim = ${json.dim}`, json.mean.length);
    if (json.m2.length !== json.dim) throw new ParameterError("m2.length", `must equal dim = ${json.dim}`, json.m2.length);
    if (json.m2.some((v) => !(v >= 0))) throw new ParameterError("m2", "must be ≥ 0 everywhere");
    out.n = json.count;
    out.mu.set(json.mean);
    out.m2.set(json.m2);
    return out;
  }
}
