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
 * KL(P‖Q) in nats from two logit rows of equal length, in ONE pass over both rows and no allocation.
 * With x = pLogits, y = qLogits and running maxima m_x, m_y (rescaled as in logSumExp):
 *   s_x = Σ e^{x_i − m_x},  s_y = Σ e^{y_i − m_y},  a = Σ e^{x_i − m_x} · (x_i − y_i)
 *   KL(P‖Q) = Σ p_i (x_i − lse_x − y_i + lse_y) = a / s_x − lse_x + lse_y,   lse = m + log s
 * `lse`, when given, receives [lse_x, lse_y] (the log-probability of token v is then x_v − lse_x).
 * @example klDivergence([0, 0], [Math.log(9), 0]) // 0.5·ln(0.5/0.9) + 0.5·ln(0.5/0.1) ≈ 0.5108
 */
export function klDivergence(pLogits: Row, qLogits: Row, lse?: Float64Array): number {
  const n = pLogits.length;
  if (n !== qLogits.length) throw new ParameterError("logits", `rows must have equal length (${n} vs ${qLogits.length})`);
  if (n === 0) throw new ParameterError("logits", "must be a non-empty row");
  let mx = -Infinity;
  let sx = 0;
  let a = 0;
  let my = -Infinity;
  let sy = 0;
  let infinite = false; // some p_i > 0 has q_i = 0
  for (let i = 0; i < n; i++) {
    const x = pLogits[i]!;
    const y = qLogits[i]!;
    if (!(x < Infinity) || !(y < Infinity)) throw new ParameterError("logits", "must be finite or −Infinity", `${x < Infinity ? y : x} at index ${i}`);
    if (y > my) {
      sy = sy * Math.exp(my - y) + 1;
      my = y;
    } else if (y !== -Infinity) sy += Math.exp(y - my);
    if (x === -Infinity) continue; // p_i = 0: 0 · log 0 = 0
    let d = x - y;
    if (d === Infinity) {
      infinite = true;
      d = 0;
    }
    if (x > mx) {
      const f = Math.exp(mx - x);
      sx = sx * f + 1;
      a = a * f + d;
      mx = x;
    } else {
      const w = Math.exp(x - mx);
      sx += w;
      a += w * d;
    }
  }
  if (mx === -Infinity || my === -Infinity) throw new ParameterError("logits", "must contain at least one finite value");
  const lseX = mx + Math.log(sx);
  const lseY = my + Math.log(sy);
  if (lse) {
    lse[0] = lseX;
    lse[1] = lseY;
  }
  if (infinite) return Infinity;
  const kl = a / sx - lseX + lseY;
  // Rounding can leave a tiny negative value when P = Q; KL is non-negative by Gibbs' inequality.
  return kl > 0 ? kl : 0;
}

// [lse(policy), lse(reference)] of the last tokenKl call that asked for them (one buffer, no per-token allocation).
const LSE_PAIR = new Float64Array(2);

/**
 * Token KL between policy and reference rows in the chosen direction (see header). `lse`, when given,
 * receives [logsumexp(policy), logsumexp(reference)] from the same pass.
 * @example tokenKl(policyRow, referenceRow, "mixed", 0.5)
 */
export function tokenKl(policy: Row, reference: Row, direction: KlDirection = "reverse", mix = 0.5, lse?: Float64Array): number {
  switch (direction) {
    case "reverse":
      return klDivergence(policy, reference, lse);
    case "forward": {
      const kl = klDivergence(reference, policy, lse);
      if (lse) lse.reverse();
      return kl;
    }
    case "mixed": {
      if (!(mix >= 0 && mix <= 1)) throw new ParameterError("mix", "must be in [0, 1]", mix);
      return mix * klDivergence(reference, policy) + (1 - mix) * klDivergence(policy, reference, lse);
    }
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
  /** Σ_t log π_θ(y_t) − log π_ref(y_t) over the selected positions when `tokens` was given, else 0. */
  logRatio: number;
}

export interface SequenceKlOptions {
  direction?: KlDirection;
  mix?: number;
  /** [T], non-zero = include this position (e.g. completion tokens only). Default: all. */
  mask?: ArrayLike<number>;
  /** [T] sampled ids y_t: also sum the log-ratio (sampledLogRatio) from the same pass over each row. */
  tokens?: ArrayLike<number>;
}

/**
 * Token KL at each of T positions of flat [T, V] logit blocks, summed, averaged and maxed over the mask.
 * @example sequenceKl(policyLogits, referenceLogits, vocab, { mask: completionMask }).mean
 */
export function sequenceKl(
  policyLogits: Float32Array | Float64Array,
  referenceLogits: Float32Array | Float64Array,
  vocab: number,
  { direction = "reverse", mix = 0.5, mask, tokens }: SequenceKlOptions = {},
): SequenceKl {
  const steps = checkBlocks(policyLogits, referenceLogits, vocab);
  if (mask && mask.length !== steps) throw new ParameterError("mask", `must have length ${steps}`, mask.length);
  if (tokens) checkTokens(tokens, steps, vocab);
  const perToken = new Float64Array(steps);
  let sum = 0;
  let max = 0;
  let count = 0;
  let logRatio = 0;
  for (let t = 0; t < steps; t++) {
    if (mask && !mask[t]) continue;
    const from = t * vocab;
    const p = policyLogits.subarray(from, from + vocab);
    const q = referenceLogits.subarray(from, from + vocab);
    const kl = tokenKl(p, q, direction, mix, tokens ? LSE_PAIR : undefined);
    // log π_θ(y) − log π_ref(y) = (x_y − lse_x) − (x'_y − lse_x'), the log-sum-exps of the KL pass
    if (tokens) logRatio += p[tokens[t]!]! - LSE_PAIR[0]! - (q[tokens[t]!]! - LSE_PAIR[1]!);
    perToken[t] = kl;
    sum += kl;
    if (kl > max) max = kl;
    count++;
  }
  return { perToken, sum, mean: count ? sum / count : 0, max, count, logRatio };
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
  checkTokens(tokens, steps, vocab);
  let sum = 0;
  for (let t = 0; t < steps; t++) {
    const y = tokens[t]!;
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

function checkTokens(tokens: ArrayLike<number>, steps: number, vocab: number): void {
  if (tokens.length !== steps) throw new ParameterError("tokens", `must have length ${steps}`, tokens.length);
  for (let t = 0; t < steps; t++) {
    const y = tokens[t]!;
    if (!Number.isInteger(y) || y < 0 || y >= vocab) throw new ParameterError("tokens", `must be integers in [0, ${vocab - 1}]`, y);
  }
}
