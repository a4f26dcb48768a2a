// Activation sketch: seeded sparse projection of the scale-normalised residual stream, pooled per-request
// drift scores, and their reference distribution (sketch.json). See each module's header for the math.
//
// Where each step runs (one implementation of S: createLayerProjections/toDenseTransposed here):
//   1) In the ONNX graph (apps/trainer/src/export/sketch-outputs.ts): per monitored position l, Sᵀ_l [d, m] is a
//      float32 initializer `sketch.S.{l}` and the graph output `sketch.{l}` [batch_size, sequence_length, m] holds
//      the per-token sketches y_t = x̂_t S_lᵀ (x̂ = RMS-normalised residual stream, spec.eps). Only m ≪ d floats
//      per token and layer leave the graph; hidden states never cross into JavaScript.
//   2) In JS: the per-request vector is the masked mean of those token sketches over prompt + completion,
//      accumulated with MeanPool.addTokens across graph calls (prefill [B, T, m] with its attention mask, then
//      one [B, 1, m] block per KV-cache decode step), then scored against sketch.json (SketchReference).
// Why pooling is not in the graph: with a KV cache each decode call sees only the new token, so an in-graph mean
// would need its running sum and count carried between calls as extra state inputs/outputs (like
// past_key_values), which standard Optimum/transformers.js runners neither feed nor read. Per-token output is
// stateless, costs B·T·m floats per layer (far less than the B·T·vocab logits the caller already reads), and
// lets the caller choose what to pool (prompt only, completion only, both). The calibration set is pooled the
// same way (apps/trainer/src/export/calibrate.ts: one full pass, right padding, mask 0 on pads), so served and
// reference vectors are the same statistic. (MeanPool.addSum remains for a graph that pre-reduces per call.)

export {
  PROJECTION_RECIPE,
  createLayerProjections,
  createProjection,
  project,
  projectBlock,
  rmsNormalise,
  rmsNormaliseRows,
  sketchTokens,
  toDense,
  toDenseTransposed,
  type ProjectionParams,
  type SparseProjection,
} from "./projection";
export { RunningMoments, type MomentsJson } from "./moments";
export { DEFAULT_QUANTILES, QuantileSummary, type CentroidJson, type DigestJson } from "./quantiles";
export { MeanPool, driftScore, meanPool, percentile, type PooledMoments } from "./score";
export {
  ReferenceStatsBuilder,
  SketchReference,
  leaveOneOutScores,
  makeSketchSpec,
  percentScore,
  scorePools,
  type LayerReference,
  type LayerScore,
} from "./reference";
export {
  SketchJsonError,
  SketchJsonSchema,
  SketchSpecSchema,
  parseSketchJson,
  type LayerStats,
  type SketchJson,
  type SketchSpec,
} from "../schemas/sketch";
