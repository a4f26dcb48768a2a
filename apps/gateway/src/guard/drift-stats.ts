// Per-candidate drift against the reference (SPEC "KL-aware rejection sampling", step 3), from the full raw
// next-token distributions of both models at every completion position t = 0 … L−1:
//   KL_t      = Σ_v π_θ(v | x, y<t) · (log π_θ(v | x, y<t) − log π_ref(v | x, y<t))   (shared tokenKl)
//   kl_sum    = Σ_t KL_t,   kl_mean = kl_sum / L (0 when L = 0),   kl_max = max_t KL_t
//   log_ratio = Σ_t log π_θ(y_t | …) − log π_ref(y_t | …)   (a one-sample k1 estimate of the sequence KL)
// L counts every sampled token, including an eos or the token that completed a stop string: each was drawn
// from π_θ, so its position is part of what the policy decided.
import { sequenceKl } from "@tether/shared/math/kl";
import type { Drift } from "@tether/shared/schemas/openai-response";

export interface DriftStats {
  klMean: number; // nats/token
  klMax: number; // nats
  klSum: number; // nats
  logRatio: number; // nats, any sign
  tokens: number; // L
}

/**
 * @example driftStats(policyBlock, referenceBlock, 100, [5, 9]) // blocks [2, 100] of raw logits
 */
export function driftStats(policy: Float32Array, reference: Float32Array, vocab: number, tokens: readonly number[]): DriftStats {
  if (tokens.length === 0) return { klMean: 0, klMax: 0, klSum: 0, logRatio: 0, tokens: 0 };
  // one pass over each pair of rows gives KL_t and the log-sum-exps that the log-ratio needs
  const kl = sequenceKl(policy, reference, vocab, { direction: "reverse", tokens });
  return { klMean: kl.mean, klMax: kl.max, klSum: kl.sum, logRatio: kl.logRatio, tokens: tokens.length };
}

/** The wire `drift` object of a returned choice. */
export function toDrift(stats: DriftStats, accepted: boolean, rounds: number, fallback: Drift["fallback"]): Drift {
  return { kl_mean: stats.klMean, kl_max: stats.klMax, kl_sum: stats.klSum, log_ratio: stats.logRatio, accepted, rounds, fallback };
}
