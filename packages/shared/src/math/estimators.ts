// Monte-Carlo estimators of KL(π_θ‖π_ref) from the log-probabilities of tokens sampled from π_θ
// (J. Schulman, "Approximating KL divergence", 2020). With y ~ π_θ and r = π_ref(y) / π_θ(y):
//
//   k1 = −log r                unbiased, high variance, can be negative
//   k2 = ½ (log r)²            biased (low bias when π_θ ≈ π_ref), always ≥ 0; E[k2] = Σ π_θ·½(log r)²
//   k3 = (r − 1) − log r       unbiased (E_θ[r] = 1), always ≥ 0, low variance — GRPO's choice
//
// k3 uses expm1 so that r ≈ 1 keeps its precision.
import { ParameterError } from "../errors";

export type KlEstimator = "k1" | "k2" | "k3";

/**
 * One estimator value from the sampled token's log-probabilities under policy and reference.
 * @example klEstimate("k3", Math.log(0.5), Math.log(0.25)) // (0.5 − 1) − ln 0.5 ≈ 0.1931
 */
export function klEstimate(kind: KlEstimator, logpPolicy: number, logpReference: number): number {
  const logR = logpReference - logpPolicy;
  switch (kind) {
    case "k1":
      return -logR;
    case "k2":
      return 0.5 * logR * logR;
    case "k3":
      return Math.expm1(logR) - logR;
    default:
      throw new ParameterError("kl_estimator", "must be k1, k2 or k3", kind);
  }
}

/**
 * Element-wise estimator values for many sampled tokens.
 * @example klEstimates("k1", policyLogprobs, referenceLogprobs)
 */
export function klEstimates(
  kind: KlEstimator,
  logpPolicy: ArrayLike<number>,
  logpReference: ArrayLike<number>,
): Float64Array {
  if (logpPolicy.length !== logpReference.length) {
    throw new ParameterError("logprobs", `arrays must have equal length (${logpPolicy.length} vs ${logpReference.length})`);
  }
  const out = new Float64Array(logpPolicy.length);
  for (let i = 0; i < out.length; i++) out[i] = klEstimate(kind, logpPolicy[i]!, logpReference[i]!);
  return out;
}
