// Per-request, per-layer drift score: how far the pooled activation sketch of one request lies from the
// reference (calibration) distribution of pooled sketches, in units of the reference's own spread.
//
// 1) Per token t the graph computes y_t = S x̂_t ∈ R^m (projection.ts).
// 2) Pool over the request's tokens with the attention mask a_t ∈ {0, 1}:
//      ȳ = Σ_t a_t·y_t / Σ_t a_t
//    The exported graph emits the per-token y_t (index.ts says why) and the caller pools them across graph
//    calls (prefill, then one token per KV-cache step) with {@link MeanPool.addTokens}; a graph that
//    pre-reduces per call can feed its masked sum and count to {@link MeanPool.addSum} instead.
// 3) Score against the reference per-coordinate mean μ_i and variance σ_i² of POOLED calibration requests:
//      score = (1/m) · Σ_i (ȳ_i − μ_i)² / (σ_i² + ε)
// 4) Percentile = F_ref(score), the fraction of calibration requests with a score ≤ this one (quantiles.ts).
//
// Why pooled statistics, not per-token ones: the score must be compared with the distribution of the very
// statistic it is computed from. Tokens of one request are strongly dependent (shared context, position
// effects, attention-sink tokens with huge activations), so per-token variances say nothing reliable about the
// variance of a T-token mean (it is not σ²_token/T), and a per-token reference would make every long request
// look calm and every short one look drifted. Pooled μ, σ² are the moments of exactly the scored quantity.
//
// Null distribution: if ȳ ~ N(μ, diag σ²) with independent coordinates and ε = 0, then
//   m·score = Σ_i z_i², z_i ~ N(0, 1) iid  ⇒  m·score ~ χ²_m,  E[score] = 1,  Var[score] = 2/m.
// Real coordinates are correlated and not Gaussian, which is why thresholds come from the empirical reference
// quantiles (sketch.json), not from χ²_m; χ²_m is the sanity check in the tests.

import { ParameterError } from "../errors";
import type { QuantileSummary } from "./quantiles";

/** Reference per-coordinate moments of the pooled sketch of one layer. */
export interface PooledMoments {
  /** μ, length m. */
  mean: ArrayLike<number>;
  /** σ² (unbiased sample variance over calibration requests), length m. */
  variance: ArrayLike<number>;
}

/**
 * Streaming masked mean of token sketches, across the graph calls that make up one request.
 * @example
 * const pool = new MeanPool(64);
 * pool.addTokens(prefillSketch, promptMask); // [T, 64] with mask [T]
 * pool.addSum(stepSum, 1);                   // a decode step that emitted Σ_t a_t·y_t and Σ_t a_t
 * const ybar = pool.mean();                  // [64]
 */
export class MeanPool {
  readonly m: number;
  private readonly sum: Float64Array;
  private n = 0;

  constructor(m: number) {
    if (!Number.isInteger(m) || m < 1) throw new ParameterError("m", "must be an integer ≥ 1", m);
    this.m = m;
    this.sum = new Float64Array(m);
  }

  /** Tokens pooled so far (Σ a_t). */
  get count(): number {
    return this.n;
  }

  /** Add a block of token sketches Y [T, m]; mask [T] of 0/1 (default all 1). */
  addTokens(Y: ArrayLike<number>, mask?: ArrayLike<number>): void {
    const m = this.m;
    if (Y.length % m !== 0) throw new ParameterError("Y.length", `must be a multiple of m = ${m}`, Y.length);
    const T = Y.length / m;
    if (mask !== undefined && mask.length !== T) throw new ParameterError("mask.length", `must equal T = ${T}`, mask.length);
    for (let t = 0; t < T; t++) {
      const a = mask === undefined ? 1 : mask[t];
      if (a !== 0 && a !== 1) throw new ParameterError(`mask[${t}]`, "must be 0 or 1", a);
      if (a === 0) continue;
      for (let i = 0; i < m; i++) this.sum[i] += Y[t * m + i]; // [T, m] -> [m]
      this.n += 1;
    }
  }

  /** Add a pre-reduced block: sum = Σ_t a_t·y_t (length m) over `count` = Σ_t a_t tokens. */
  addSum(sum: ArrayLike<number>, count: number): void {
    if (sum.length !== this.m) throw new ParameterError("sum.length", `must equal m = ${this.m}`, sum.length);
    if (!Number.isInteger(count) || count < 0) throw new ParameterError("count", "must be an integer ≥ 0", count);
    for (let i = 0; i < this.m; i++) this.sum[i] += sum[i];
    this.n += count;
  }

  /** ȳ = Σ a_t·y_t / Σ a_t. Throws when no token was pooled. */
  mean(): Float64Array {
    if (this.n === 0) throw new ParameterError("count", "must be ≥ 1 (no unmasked token was pooled)", 0);
    const out = new Float64Array(this.m);
    for (let i = 0; i < this.m; i++) out[i] = this.sum[i] / this.n;
    return out;
  }
}

/**
 * Masked mean of a token block in one call: Y [T, m], mask [T] -> ȳ [m].
 * @example
 * meanPool([1, 2, 3, 4, 100, 100], 2, [1, 1, 0]); // Float64Array [2, 3]
 */
export function meanPool(Y: ArrayLike<number>, m: number, mask?: ArrayLike<number>): Float64Array {
  const pool = new MeanPool(m);
  pool.addTokens(Y, mask);
  return pool.mean();
}

/**
 * Drift score of one pooled request sketch: (1/m)·Σ_i (ȳ_i − μ_i)² / (σ_i² + ε). About 1 for a request like
 * the calibration set; m·score ~ χ²_m under the Gaussian null (see the file header).
 * @example
 * driftScore([1, 0], { mean: [0, 0], variance: [1, 4] }, 0); // (1/2)·(1/1 + 0/4) = 0.5
 */
export function driftScore(pooled: ArrayLike<number>, reference: PooledMoments, varianceEps = 1e-6): number {
  const m = reference.mean.length;
  if (reference.variance.length !== m) {
    throw new ParameterError("reference.variance.length", `must equal reference.mean.length = ${m}`, reference.variance.length);
  }
  if (pooled.length !== m) throw new ParameterError("pooled.length", `must equal m = ${m}`, pooled.length);
  if (!(varianceEps >= 0)) throw new ParameterError("varianceEps", "must be ≥ 0", varianceEps);
  let acc = 0;
  for (let i = 0; i < m; i++) {
    const r = pooled[i] - reference.mean[i];
    acc += (r * r) / (reference.variance[i] + varianceEps);
  }
  const score = acc / m;
  if (!Number.isFinite(score)) {
    throw new ParameterError("score", "must be finite (a zero variance needs varianceEps > 0, or pooled holds NaN)", score);
  }
  return score;
}

/**
 * Percentile of a score in the reference score distribution: F_ref(score) ∈ [0, 1] (1 = beyond every
 * calibration request).
 * @example
 * percentile(2.7, reference.layer(12).scores); // e.g. 0.996
 */
export function percentile(score: number, referenceScores: QuantileSummary): number {
  return referenceScores.cdf(score);
}
