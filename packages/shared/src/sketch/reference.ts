// Reference statistics for the drift score: built from calibration requests at export time, written to
// sketch.json, and loaded by the gateway to turn per-request scores into percentiles.
//
// Build (two passes; the pooled vectors are kept, N·L·m float64, e.g. 2,000 requests × 4 layers × 128 = 8 MB):
//   1) per layer, Welford moments of the pooled request vectors → μ and unbiased σ² (moments.ts)
//   2) per layer, score every calibration request k against leave-one-out moments (exact downdate, N ≥ 3):
//        r = y_k − μ;   y_k − μ_{−k} = N/(N−1) · r;   M2_{−k} = M2 − N/(N−1) · r²;   σ²_{−k} = M2_{−k}/(N−2)
//        score_k = (1/m) Σ_i (y_k − μ_{−k})_i² / (σ²_{−k,i} + ε)
//      The reference then describes held-out requests, as served requests are. In-sample scores are biased
//      low, most in the tail that matters: an outlying calibration request inflates the σ² it is divided by.
//   3) the N scores → QuantileSummary → quantile table + digest (quantiles.ts)
// Serve: SketchReference.fromJson(sketch.json).score(pooled per layer) → [{ layer, score, percentile }].

import { ParameterError } from "../errors";
import { parseSketchJson, SketchSpecSchema, type SketchJson, type SketchSpec } from "../schemas/sketch";
import { RunningMoments } from "./moments";
import { PROJECTION_RECIPE } from "./projection";
import { DEFAULT_QUANTILES, QuantileSummary } from "./quantiles";
import { driftScore, type MeanPool } from "./score";

/**
 * A sketch spec with the defaults filled in: m = 128, density = 1/√d, eps = varianceEps = 1e-6, seed = 0.
 * @example
 * makeSketchSpec({ d: 896, layers: [6, 12, 18, 24], seed: 42 }).density; // 1/√896 ≈ 0.0334
 */
export function makeSketchSpec(options: {
  d: number;
  layers: number[];
  seed?: number;
  m?: number;
  density?: number;
  eps?: number;
  varianceEps?: number;
}): SketchSpec {
  return {
    projection: PROJECTION_RECIPE,
    seed: options.seed ?? 0,
    m: options.m ?? 128,
    d: options.d,
    density: options.density ?? 1 / Math.sqrt(options.d),
    layers: options.layers,
    normalisation: "rms",
    pooling: "mean",
    eps: options.eps ?? 1e-6,
    varianceEps: options.varianceEps ?? 1e-6,
  };
}

/**
 * Drift scores of each of N vectors against the moments of the other N − 1 (see the file header, step 2).
 * @example
 * leaveOneOutScores([[0], [1], [2]], 0); // [4.5, 0, 4.5]: y = 0 against {1, 2}: (0 − 1.5)² / 0.5
 */
export function leaveOneOutScores(vectors: readonly ArrayLike<number>[], varianceEps = 1e-6): Float64Array {
  const N = vectors.length;
  if (N < 3) throw new ParameterError("vectors.length", "must be ≥ 3 for leave-one-out variances", N);
  const moments = new RunningMoments(vectors[0].length);
  for (const y of vectors) moments.push(y);
  const mu = moments.mean();
  const m2 = moments.sumSquares();
  const m = moments.dim;
  const shift = N / (N - 1);
  const looMean = new Float64Array(m);
  const looVar = new Float64Array(m);
  const scores = new Float64Array(N);
  vectors.forEach((y, k) => {
    for (let i = 0; i < m; i++) {
      const r = y[i] - mu[i];
      looMean[i] = y[i] - shift * r; // μ_{−k} = y_k − N/(N−1)·r
      looVar[i] = Math.max(0, m2[i] - shift * r * r) / (N - 2); // cancellation can dip just below 0
    }
    scores[k] = driftScore(y, { mean: looMean, variance: looVar }, varianceEps);
  });
  return scores;
}

/**
 * Accumulates pooled calibration sketches (one vector per monitored layer per request) and builds sketch.json.
 * @example
 * const builder = new ReferenceStatsBuilder(makeSketchSpec({ d: 896, layers: [6, 12] }));
 * for (const prompt of calibration) builder.addRequest(await pooledSketches(prompt)); // [[128], [128]]
 * const sketchJson = builder.build(); // write JSON.stringify(sketchJson) to <ckpt>/sketch.json
 */
export class ReferenceStatsBuilder {
  readonly spec: SketchSpec;
  private readonly pooled: Float64Array[][]; // [L][N] -> [m]

  constructor(spec: SketchSpec, private readonly digestDelta = 0.01) {
    const checked = SketchSpecSchema.safeParse(spec);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new ParameterError(["spec", ...issue.path.map(String)].join("."), issue.message);
    }
    this.spec = checked.data;
    this.pooled = spec.layers.map(() => []);
  }

  /** Calibration requests added so far. */
  get count(): number {
    return this.pooled[0].length;
  }

  /** Add one request: pooled[k] is the pooled sketch (length m) of layer spec.layers[k]. */
  addRequest(pooled: readonly ArrayLike<number>[]): void {
    const { layers, m } = this.spec;
    if (pooled.length !== layers.length) {
      throw new ParameterError("pooled.length", `must equal the number of monitored layers ${layers.length}`, pooled.length);
    }
    pooled.forEach((y, k) => {
      if (y.length !== m) throw new ParameterError(`pooled[${k}].length`, `must equal m = ${m}`, y.length);
      for (let i = 0; i < m; i++) {
        if (!Number.isFinite(y[i])) throw new ParameterError(`pooled[${k}][${i}]`, "must be finite", y[i]);
      }
    });
    pooled.forEach((y, k) => this.pooled[k].push(Float64Array.from(y)));
  }

  /** Moments, leave-one-out scores and their quantile summary per layer, as a sketch.json object. */
  build(): SketchJson {
    if (this.count < 3) throw new ParameterError("count", "must be ≥ 3 calibration requests", this.count);
    const layers = this.spec.layers.map((layer, k) => {
      const vectors = this.pooled[k];
      const moments = new RunningMoments(this.spec.m);
      for (const y of vectors) moments.push(y);
      const scores = new QuantileSummary(this.digestDelta);
      scores.pushAll(leaveOneOutScores(vectors, this.spec.varianceEps));
      return {
        layer,
        count: moments.count,
        mean: Array.from(moments.mean()),
        variance: Array.from(moments.variance("sample")),
        score: { count: scores.count, quantiles: scores.table(DEFAULT_QUANTILES), digest: scores.toJSON() },
      };
    });
    return { version: 1, spec: this.spec, layers };
  }
}

/** The reference of one monitored layer, ready for scoring. */
export interface LayerReference {
  layer: number;
  count: number;
  mean: Float64Array;
  variance: Float64Array;
  /** Reference distribution of held-out request scores. */
  scores: QuantileSummary;
}

/** Score and percentile of one request at one layer. */
export interface LayerScore {
  layer: number;
  score: number;
  /** F_ref(score) ∈ [0, 1]. */
  percentile: number;
}

/**
 * A loaded sketch.json: scores pooled request sketches and turns them into reference percentiles.
 * @example
 * const ref = SketchReference.fromJson(await readFile(`${ckpt}/sketch.json`, "utf8"));
 * ref.score([ybar6, ybar12]); // [{ layer: 6, score: 1.3, percentile: 0.81 }, { layer: 12, … }]
 */
export class SketchReference {
  private constructor(
    readonly spec: SketchSpec,
    readonly layers: readonly LayerReference[],
  ) {}

  /** Parse (text or object) and validate sketch.json, then load the digests. */
  static fromJson(input: string | unknown): SketchReference {
    const doc = parseSketchJson(input);
    const layers = doc.layers.map((entry) => ({
      layer: entry.layer,
      count: entry.count,
      mean: Float64Array.from(entry.mean),
      variance: Float64Array.from(entry.variance),
      scores: QuantileSummary.fromJSON(entry.score.digest),
    }));
    return new SketchReference(doc.spec, layers);
  }

  /** The reference of residual-stream position `layer` (one of spec.layers). */
  layer(layer: number): LayerReference {
    const found = this.layers.find((entry) => entry.layer === layer);
    if (found === undefined) throw new ParameterError("layer", `must be one of [${this.spec.layers.join(", ")}]`, layer);
    return found;
  }

  /** pooled[k] is the pooled sketch of layer spec.layers[k]; returns one score per monitored layer. */
  score(pooled: readonly ArrayLike<number>[]): LayerScore[] {
    if (pooled.length !== this.layers.length) {
      throw new ParameterError("pooled.length", `must equal the number of monitored layers ${this.layers.length}`, pooled.length);
    }
    return this.layers.map((ref, k) => {
      const score = driftScore(pooled[k], ref, this.spec.varianceEps);
      return { layer: ref.layer, score, percentile: ref.scores.cdf(score) };
    });
  }
}

/**
 * One request's sketch scores from its per-layer pools (pools[k] for spec.layers[k]), or null when any pool is
 * empty. The gateway scores every returned choice with it (guard/job.ts) and the trainer scores the held-out
 * requests behind eval.json's sketch section with it (apps/trainer/src/export/eval-sketch.ts): one statistic.
 * @example scorePools(reference, seq.pools)?.map(percentScore) // [37.5, 99.2]
 */
export function scorePools(reference: SketchReference, pools: readonly MeanPool[]): LayerScore[] | null {
  if (pools.length === 0 || pools.some((p) => p.count === 0)) return null;
  return reference.score(pools.map((p) => p.mean()));
}

/** A layer score's percentile as logged and alerted on: 100·F_ref(score) ∈ [0, 100]. */
export function percentScore(s: LayerScore): number {
  return 100 * s.percentile;
}
