// The guard's acceptance rule over one round's candidates of one choice, in sampling order (SPEC step 4):
//   hard: accept the first j with kl_mean_j ≤ max_kl. Accepting the first passing draw of i.i.d. samples
//         samples π_θ conditioned on the acceptance region {y : kl_mean(y) ≤ max_kl}.
//   soft: accept j with probability a_j = min(1, exp(−(kl_mean_j − max_kl)/τ)), deciding in order with
//         u_j ~ U[0, 1) from the choice's own seeded stream (same seed → same decision); a_j = 1 inside
//         the threshold, decaying by e every τ nats/token beyond it.
import type { Pcg32 } from "@tether/shared/sampling/prng";
import type { DriftGuardMode } from "@tether/shared/schemas/drift-guard";

export interface AcceptanceRule {
  mode: DriftGuardMode;
  maxKl: number; // nats/token
  softTemperature: number; // τ, nats/token
}

/** a(kl) = min(1, exp(−(kl − max_kl)/τ)) for soft, 1[kl ≤ max_kl] for hard. */
export function acceptanceProbability(klMean: number, rule: AcceptanceRule): number {
  if (rule.mode === "hard") return klMean <= rule.maxKl ? 1 : 0;
  return Math.min(1, Math.exp(-(klMean - rule.maxKl) / rule.softTemperature));
}

/**
 * Index of the accepted candidate, or −1. Soft mode draws one u per candidate examined, none after the
 * first acceptance.
 * @example pickAccepted([0.4, 0.02, 0.01], { mode: "hard", maxKl: 0.05, softTemperature: 0.005 }, rng) // 1
 */
export function pickAccepted(klMeans: readonly number[], rule: AcceptanceRule, rng: Pcg32): number {
  for (let j = 0; j < klMeans.length; j++) {
    const a = acceptanceProbability(klMeans[j]!, rule);
    if (rule.mode === "hard" ? a === 1 : rng.nextFloat() < a) return j;
  }
  return -1;
}
