// One request as the monitor sees it, derived from its drift-log rows — the same function for a live
// DriftLogEntry and for rows read back from the database, so rebuilt windows equal live ones.
//
// Per request: its checkpoint and arm; kl_mean = the request row's kl_mean (mean over returned choices);
// kl_max = max token KL over the returned candidates; candidates scored and rejected (drift_samples rows of
// one layer, as each candidate has one row per layer); the guard's fallback, 422 rejections counted as
// fallback "reject"; total latency; the sketch percentile (0–100) of every returned choice per layer.

/** The request columns the monitor reads (a NewRequest / Request row has them all). */
export interface RequestRowLike {
  createdAt: Date;
  policyId?: string | null;
  arm?: string | null;
  guardMode?: string | null;
  fallback?: string | null;
  errorCode?: string | null;
  klMean?: number | null;
  totalMs: number;
}

/** The drift_samples columns the monitor reads. */
export interface SampleRowLike {
  layer: number;
  choiceIndex?: number | null;
  klMax: number;
  accepted: boolean;
  sketchPercentile?: number | null;
}

export type Arm = "active" | "canary";

export interface Observation {
  at: number; // arrival, ms since epoch (created_at: the same for a live entry and its stored row)
  checkpointId: string;
  arm: Arm;
  guarded: boolean;
  fallback: "reference" | "least_kl" | "reject" | null;
  klMean: number | null;
  klMax: number | null;
  latencyMs: number;
  candidates: number;
  rejectedCandidates: number;
  sketch: Array<{ layer: number; percentile: number }>;
}

/** null for a request that never reached a checkpoint (refused before routing). */
export function observationOf(request: RequestRowLike, samples: readonly SampleRowLike[]): Observation | null {
  if (!request.policyId) return null;
  let firstLayer = Infinity;
  for (const s of samples) if (s.layer < firstLayer) firstLayer = s.layer;
  let candidates = 0;
  let rejected = 0;
  let klMax: number | null = null;
  const sketch: Observation["sketch"] = [];
  for (const s of samples) {
    if (s.layer === firstLayer) {
      candidates++;
      if (!s.accepted) rejected++;
    }
    if (s.choiceIndex === null || s.choiceIndex === undefined) continue;
    if (s.layer === firstLayer && (klMax === null || s.klMax > klMax)) klMax = s.klMax;
    if (s.layer >= 0 && s.sketchPercentile !== null && s.sketchPercentile !== undefined) sketch.push({ layer: s.layer, percentile: s.sketchPercentile });
  }
  const rejectedRequest = request.errorCode === "drift_limit_exceeded";
  const fallback = rejectedRequest ? "reject" : request.fallback === "reference" || request.fallback === "least_kl" ? request.fallback : null;
  return {
    at: request.createdAt.getTime(),
    checkpointId: request.policyId,
    arm: request.arm === "canary" ? "canary" : "active",
    guarded: request.guardMode !== null && request.guardMode !== undefined,
    fallback,
    klMean: request.klMean ?? null,
    klMax,
    latencyMs: request.totalMs,
    candidates,
    rejectedCandidates: rejected,
    sketch,
  };
}
