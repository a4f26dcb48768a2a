// Seeded very sparse sign projection S (m × d) for the activation sketch (Achlioptas 2003, "Database-friendly
// random projections"; Li, Hastie & Church 2006, "Very sparse random projections").
//
//   S_ij = +s with probability p/2,  −s with probability p/2,  0 otherwise,   s = 1/√(p·d)
//   x̂    = x / rms(x),  rms(x) = √(mean_j x_j² + ε)          (RMS norm without a learned gain)
//   y    = S x̂                                                 y ∈ R^m
//
// Why s = 1/√(p·d): E[S_ij] = 0 and E[S_ij²] = p·s² = 1/d, and the entries are independent, so for any fixed x
//   E_S[y_i²] = Σ_j E[S_ij²] x̂_j² = mean_j x̂_j² = mean(x²)/(mean(x²)+ε) ≈ 1,
// whatever d and p are: every sketch coordinate of a normalised hidden state has unit second moment, so sketches
// of models with different widths (and scores built on them) live on the same scale. Distances follow the
// Johnson–Lindenstrauss form ‖S(x̂−ẑ)‖²/m ≈ ‖x̂−ẑ‖²/d. Li et al. show p = 1/√d loses almost no accuracy.
//
// Generation recipe (version "pcg32-sparse-sign-v1"; identical on Node, Workers and browsers because it uses
// only 32-bit integer draws and integer comparisons, no Math.log/Math.random):
//   1) rng = new Pcg32(seed, layer)           — one PCG stream per monitored layer, same seed for all layers
//   2) t   = min(2^32, round(p · 2^32))       — acceptance threshold on a uniform u32
//   3) for i in 0..m−1, for j in 0..d−1 (row-major): u = rng.nextU32();
//        if u < t: S_ij = (u & 1) == 0 ? +s : −s     (parity of u is independent of u < t up to 2^-32)
//        else:     S_ij = 0
//   4) s is stored as float32 (Math.fround(1/√(p·d))), the value an ONNX initializer holds.

import { ParameterError } from "../errors";
import { Pcg32 } from "../sampling/prng";

/** Parameters that determine S completely. */
export interface ProjectionParams {
  /** Generator seed shared by all monitored layers (a safe integer). */
  seed: number;
  /** Sketch width: number of output coordinates (rows of S). */
  m: number;
  /** Hidden size of the model (columns of S). */
  d: number;
  /** Probability that an entry is non-zero, 0 < p ≤ 1 (1/√d is the usual "very sparse" choice). */
  density: number;
  /** Monitored layer index; selects the PCG stream so every layer gets an independent S. Default 0. */
  layer?: number;
}

/** S in compressed sparse row form: row i's non-zeros are colIdx/values[rowPtr[i] .. rowPtr[i+1]). */
export interface SparseProjection {
  readonly seed: number;
  readonly layer: number;
  readonly m: number;
  readonly d: number;
  readonly density: number;
  /** Magnitude of every non-zero entry, float32: 1/√(p·d). */
  readonly scale: number;
  /** [m + 1] */
  readonly rowPtr: Int32Array;
  /** [nnz] column of each non-zero, ascending within a row. */
  readonly colIdx: Int32Array;
  /** [nnz] ±scale. */
  readonly values: Float32Array;
}

/** Identifier of the generation recipe above; stored in sketch.json so a future change is detectable. */
export const PROJECTION_RECIPE = "pcg32-sparse-sign-v1";

const TWO_POW_32 = 0x100000000;

function checkParams(params: ProjectionParams): void {
  const { seed, m, d, density } = params;
  const layer = params.layer ?? 0;
  if (!Number.isSafeInteger(seed)) throw new ParameterError("seed", "must be a safe integer", seed);
  if (!Number.isInteger(m) || m < 1) throw new ParameterError("m", "must be an integer ≥ 1", m);
  if (!Number.isInteger(d) || d < 1) throw new ParameterError("d", "must be an integer ≥ 1", d);
  if (!(density > 0 && density <= 1)) throw new ParameterError("density", "must be in (0, 1]", density);
  if (!Number.isSafeInteger(layer) || layer < 0) {
    throw new ParameterError("layer", "must be a non-negative safe integer", layer);
  }
  if (m * d > 0x7fffffff) throw new ParameterError("m·d", "must be < 2^31", m * d);
}

/**
 * Generate S for one layer following the documented recipe (see the file header).
 * @example
 * const S = createProjection({ seed: 1234, m: 64, d: 896, density: 1 / Math.sqrt(896), layer: 12 });
 * S.values.length; // ≈ 64 · 896 / √896 ≈ 1915 non-zeros
 */
export function createProjection(params: ProjectionParams): SparseProjection {
  checkParams(params);
  const { seed, m, d, density } = params;
  const layer = params.layer ?? 0;
  const rng = new Pcg32(seed, layer);
  const threshold = Math.min(TWO_POW_32, Math.round(density * TWO_POW_32));
  const scale = Math.fround(1 / Math.sqrt(density * d));

  const rowPtr = new Int32Array(m + 1);
  const cols: number[] = [];
  const vals: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < d; j++) {
      const u = rng.nextU32();
      if (u < threshold) {
        cols.push(j);
        vals.push((u & 1) === 0 ? scale : -scale);
      }
    }
    rowPtr[i + 1] = cols.length;
  }
  return {
    seed, layer, m, d, density, scale,
    rowPtr, colIdx: Int32Array.from(cols), values: Float32Array.from(vals),
  };
}

/**
 * S as a dense row-major Float32Array. For an ONNX `MatMul(x[..., d], W)` use {@link toDenseTransposed}.
 * @example
 * const dense = toDense(S); // [m, d]; dense[i * d + j] = S_ij
 */
export function toDense(S: SparseProjection): Float32Array {
  const out = new Float32Array(S.m * S.d); // [m, d]
  for (let i = 0; i < S.m; i++) {
    for (let k = S.rowPtr[i]; k < S.rowPtr[i + 1]; k++) out[i * S.d + S.colIdx[k]] = S.values[k];
  }
  return out;
}

/**
 * Sᵀ as a dense row-major Float32Array `[d, m]`: the initializer for ONNX MatMul, y[..., m] = x̂[..., d] @ Sᵀ.
 * @example
 * const W = toDenseTransposed(S); // [d, m]; W[j * m + i] = S_ij
 */
export function toDenseTransposed(S: SparseProjection): Float32Array {
  const out = new Float32Array(S.d * S.m); // [d, m]
  for (let i = 0; i < S.m; i++) {
    for (let k = S.rowPtr[i]; k < S.rowPtr[i + 1]; k++) out[S.colIdx[k] * S.m + i] = S.values[k];
  }
  return out;
}

/**
 * Scale-normalise one vector: x̂ = x / √(mean(x²) + ε), accumulated in float64 (RMSNorm with unit gain, as
 * ONNX `RMSNormalization`/`SimplifiedLayerNormalization` with scale 1 computes it).
 * @example
 * rmsNormalise([3, 4], 0); // [3, 4] / √12.5 ≈ [0.8485, 1.1314]
 */
export function rmsNormalise(x: ArrayLike<number>, eps = 1e-6): Float64Array {
  if (x.length === 0) throw new ParameterError("x", "must be non-empty");
  const out = new Float64Array(x.length);
  normaliseRow(x, 0, x.length, checkEps(eps), out);
  return out;
}

/**
 * Normalise each row of a token block by its own RMS: [T, d] -> [T, d].
 * @example
 * rmsNormaliseRows(hidden, 896, 1e-6); // hidden.length = T · 896
 */
export function rmsNormaliseRows(X: ArrayLike<number>, d: number, eps = 1e-6): Float64Array {
  const T = blockRows(X, d, "X");
  checkEps(eps);
  const out = new Float64Array(T * d); // [T, d]
  for (let t = 0; t < T; t++) normaliseRow(X, t * d, d, eps, out);
  return out;
}

// out[o .. o+d) = x[o .. o+d) / √(mean(x²) + ε)
function normaliseRow(x: ArrayLike<number>, o: number, d: number, eps: number, out: Float64Array): void {
  let sumSq = 0;
  for (let j = o; j < o + d; j++) sumSq += x[j] * x[j];
  const inv = 1 / Math.sqrt(sumSq / d + eps);
  for (let j = o; j < o + d; j++) out[j] = x[j] * inv;
}

function checkEps(eps: number): number {
  if (!(eps >= 0 && Number.isFinite(eps))) throw new ParameterError("eps", "must be a finite number ≥ 0", eps);
  return eps;
}

/**
 * y = S x for one vector (no normalisation: pass x̂). Float64 accumulation over the non-zeros in column order.
 * @example
 * const y = project(S, rmsNormalise(hidden)); // [d] -> [m]
 */
export function project(S: SparseProjection, x: ArrayLike<number>): Float64Array {
  if (x.length !== S.d) throw new ParameterError("x.length", `must equal d = ${S.d}`, x.length);
  const y = new Float64Array(S.m); // [d] -> [m]
  for (let i = 0; i < S.m; i++) {
    let acc = 0;
    for (let k = S.rowPtr[i]; k < S.rowPtr[i + 1]; k++) acc += S.values[k] * x[S.colIdx[k]];
    y[i] = acc;
  }
  return y;
}

/**
 * Y = X Sᵀ for a token block, row by row: [T, d] -> [T, m] (no normalisation).
 * @example
 * const Y = projectBlock(S, rmsNormaliseRows(hidden, S.d), S.d); // Y.length = T · S.m
 */
export function projectBlock(S: SparseProjection, X: ArrayLike<number>, d: number = S.d): Float64Array {
  if (d !== S.d) throw new ParameterError("d", `must equal the projection's d = ${S.d}`, d);
  const T = blockRows(X, d, "X");
  const Y = new Float64Array(T * S.m); // [T, d] -> [T, m]
  for (let t = 0; t < T; t++) {
    const base = t * d;
    for (let i = 0; i < S.m; i++) {
      let acc = 0;
      for (let k = S.rowPtr[i]; k < S.rowPtr[i + 1]; k++) acc += S.values[k] * X[base + S.colIdx[k]];
      Y[t * S.m + i] = acc;
    }
  }
  return Y;
}

/**
 * The sketch of a token block as the ONNX graph computes it: Y = rmsNormalise(X) Sᵀ, [T, d] -> [T, m].
 * @example
 * const Y = sketchTokens(S, hiddenStates, 1e-6); // hiddenStates.length = T · S.d
 */
export function sketchTokens(S: SparseProjection, X: ArrayLike<number>, eps = 1e-6): Float64Array {
  return projectBlock(S, rmsNormaliseRows(X, S.d, eps), S.d);
}

function blockRows(X: ArrayLike<number>, d: number, name: string): number {
  if (!Number.isInteger(d) || d < 1) throw new ParameterError("d", "must be an integer ≥ 1", d);
  if (X.length % d !== 0) throw new ParameterError(`${name}.length`, `must be a multiple of d = ${d}`, X.length);
  return X.length / d;
}

/**
 * One projection per monitored layer, S_l = createProjection({ ..., layer: l }) (PCG stream l).
 * @example
 * const Ss = createLayerProjections({ seed: 7, m: 128, d: 896, density: 1 / Math.sqrt(896), layers: [6, 12] });
 * Ss[1].layer; // 12
 */
export function createLayerProjections(
  spec: Omit<ProjectionParams, "layer"> & { layers: readonly number[] },
): SparseProjection[] {
  return spec.layers.map((layer) => createProjection({ seed: spec.seed, m: spec.m, d: spec.d, density: spec.density, layer }));
}
