// Activation sketch: seeded sparse projection of the scale-normalised residual stream, pooled per-request
// drift scores, and their reference distribution (sketch.json). See each module's header for the math.

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
