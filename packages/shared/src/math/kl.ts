// Exact KL divergence between full next-token distributions given as logit rows (natural log: nats).
//
//   KL(P‖Q) = Σ_i p_i · (log p_i − log q_i),   log p = logSoftmax(x_p), log q = logSoftmax(x_q)
//
// Directions, with π_θ the policy and π_ref the frozen reference (the naming of the SFT literature,
// e.g. seed article 001: forward = D(P_ref‖Q_θ), mass-covering; reverse = D(Q_θ‖P_ref), mode-seeking):
//   forward  KL(π_ref‖π_θ)
//   reverse  KL(π_θ‖π_ref)          ← what the drift guard reports and RLHF penalises
//   mixed    λ·forward + (1 − λ)·reverse
// Terms with p_i = 0 contribute 0 (lim p→0 of p log p = 0); p_i > 0 with q_i = 0 gives +∞.
import { ParameterError } from "../errors";
import { logSumExp, type Row } from "./softmax";

export type KlDirection = "forward" | "reverse" | "mixed";

/**
 * KL(P‖Q) in nats from two logit rows of equal length, in one pass after two log-sum-exps.
 * @example klDivergence([0, 0], [Math.log(9), 0]) // 0.5·ln(0.5/0.9) + 0.5·ln(0.5/0.1) ≈ 0.5108
 */
export function klDivergence(pLogits: Row, qLogits: Row): number {
  if (pLogits.length !== qLogits.length) {
    throw new ParameterError("logits", `rows must have equal length (${pLogits.length} vs ${qLogits.length})`);
  }
  const lseP = logSumExp(pLogits);
  const lseQ = logSumExp(qLogits);
  let kl = 0;
  for (let i = 0; i < pLogits.length; i++) {
    const logP = pLogits[i]! - lseP;
    if (logP === -Infinity) continue;
    kl += Math.exp(logP) * (logP - (qLogits[i]! - lseQ));
  }
  // Rounding can leave a tiny negative value when P = Q; KL is non-negative by Gibbs' inequality.
  return kl > 0 ? kl : 0;
}

/**
 * Token KL between policy and reference rows in the chosen direction (see header).
 * @example tokenKl(policyRow, referenceRow, "mixed", 0.5)
 */
export function tokenKl(policy: Row, reference: Row, direction: KlDirection = "reverse", mix = 0.5): number {
  switch (direction) {
    case "reverse":
      return klDivergence(policy, reference);
    case "forward":
      return klDivergence(reference, policy);
    case "mixed":
      if (!(mix >= 0 && mix <= 1)) throw new ParameterError("mix", "must be in [0, 1]", mix);
      return mix * klDivergence(reference, policy) + (1 - mix) * klDivergence(policy, reference);
    default:
      throw new ParameterError("direction", "must be forward, reverse or mixed", direction);
  }
}

/** Per-sequence aggregation of per-token KL over the positions selected by a mask. */
export interface SequenceKl {
  /** KL at every position, [T] (masked positions hold 0). */
  perToken: Float64Array;
  /** Σ over selected positions (nats). */
  sum: number;
  /** sum / count (nats/token); 0 when nothing is selected. */
  mean: number;
  /** Largest selected per-token KL. */
  max: number;
  /** Number of selected positions. */
  count: number;
}

export interface SequenceKlOptions {
  direction?: KlDirection;
  mix?: number;
  /** [T], non-zero = include this position (e.g. completion tokens only). Default: all. */
  mask?: ArrayLike<number>;
}

/**
 * Token KL at each of T positions of flat [T, V] logit blocks, summed, averaged and maxed over the mask.
 * @example sequenceKl(policyLogits, referenceLogits, vocab, { mask: completionMask }).mean
 */
export function sequenceKl(
  policyLogits: Float32Array | Float64Array,
  referenceLogits: Float32Array | Float64Array,
  vocab: number,
  { direction = "reverse", mix = 0.5, mask }: SequenceKlOptions = {},
): SequenceKl {
  const steps = checkBlocks(policyLogits, referenceLogits, vocab);
  if (mask && mask.length !== steps) throw new ParameterError("mask", `must have length ${steps}`, mask.length);
  const perToken = new Float64Array(steps);
  let sum = 0;
  let max = 0;
  let count = 0;
  for (let t = 0; t < steps; t++) {
    if (mask && !mask[t]) continue;
    const row = [t * vocab, (t + 1) * vocab] as const;
    const kl = tokenKl(policyLogits.subarray(...row), referenceLogits.subarray(...row), direction, mix);
    perToken[t] = kl;
    sum += kl;
    if (kl > max) max = kl;
    count++;
  }
  return { perToken, sum, mean: count ? sum / count : 0, max, count };
}

/**
 * Sampled log-ratio Σ_t log π_θ(y_t) − log π_ref(y_t) over the tokens y_t, position t scored by row t.
 * Its expectation under π_θ is the sequence KL(π_θ‖π_ref); a single value is a noisy (k1) estimate.
 * @example sampledLogRatio(policyLogits, referenceLogits, vocab, [5, 9, 2])
 */
export function sampledLogRatio(
  policyLogits: Float32Array | Float64Array,
  referenceLogits: Float32Array | Float64Array,
  vocab: number,
  tokens: ArrayLike<number>,
): number {
  const steps = checkBlocks(policyLogits, referenceLogits, vocab);
  if (tokens.length !== steps) throw new ParameterError("tokens", `must have length ${steps}`, tokens.length);
  let sum = 0;
  for (let t = 0; t < steps; t++) {
    const y = tokens[t]!;
    if (!Number.isInteger(y) || y < 0 || y >= vocab) throw new ParameterError("tokens", `must be integers in [0, ${vocab - 1}]`, y);
    const p = policyLogits.subarray(t * vocab, (t + 1) * vocab);
    const q = referenceLogits.subarray(t * vocab, (t + 1) * vocab);
    sum += p[y]! - logSumExp(p) - (q[y]! - logSumExp(q));
  }
  return sum;
}

function checkBlocks(a: Float32Array | Float64Array, b: Float32Array | Float64Array, vocab: number): number {
  if (!Number.isInteger(vocab) || vocab < 1) throw new ParameterError("vocab", "must be a positive integer", vocab);
  if (a.length !== b.length) throw new ParameterError("logits", `blocks must have equal length (${a.length} vs ${b.length})`);
  if (a.length % vocab !== 0) throw new ParameterError("logits", `length must be a multiple of vocab ${vocab}`, a.length);
  return a.length / vocab;
}
