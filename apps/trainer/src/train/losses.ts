// Differentiable training losses over logits [B, T, V] (tfjs twins of packages/shared/src/math/kl.ts,
// which is the float64 definition these are tested against).
//
//   CE      = Σ_t m_t · (−log π_θ(y_t | x_<t)) / Σ_t m_t
//   reverse = Σ_t m_t · Σ_v π_θ(v)·(log π_θ(v) − log π_ref(v)) / Σ_t m_t        KL(π_θ‖π_ref), mode-seeking
//   forward = Σ_t m_t · Σ_v π_ref(v)·(log π_ref(v) − log π_θ(v)) / Σ_t m_t      KL(π_ref‖π_θ), mass-covering
//   mixed   = λ·forward + (1 − λ)·reverse
// The reference logits are constants (frozen model): no gradient flows into them.
import * as tf from "@tensorflow/tfjs";
import type { KlDirection } from "@tether/shared/math/kl";

/** Mean over masked positions of a per-position tensor [B, T]; 0 when the mask is empty. */
export function maskedMean(values: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  return tf.div(tf.sum(tf.mul(values, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}

/**
 * Per-position log π(y_t) [B, T] of the targets. Uses one-hot · log-softmax (wasm lacks a gather gradient).
 * @example tokenLogprobs(logits, targets) // [B, T]
 */
export function tokenLogprobs(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Tensor2D {
  const vocab = logits.shape[2];
  const logp = tf.logSoftmax(logits); // [B, T, V]
  return tf.sum(tf.mul(logp, tf.oneHot(targets.toInt(), vocab).toFloat()), -1) as tf.Tensor2D; // [B, T, V] -> [B, T]
}

/**
 * Token-level cross-entropy (nats) averaged over the mask.
 * @example crossEntropy(logits, targets, lossMask)
 */
export function crossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  return tf.neg(maskedMean(tokenLogprobs(logits, targets), mask)) as tf.Scalar;
}

/**
 * Exact per-position KL between full distributions [B, T] in the given direction (see header).
 * @example tokenKlTensor(policyLogits, referenceLogits, "reverse")
 */
export function tokenKlTensor(policyLogits: tf.Tensor3D, referenceLogits: tf.Tensor3D, direction: KlDirection, mix = 0.5): tf.Tensor2D {
  const logp = tf.logSoftmax(policyLogits);
  const logq = tf.logSoftmax(referenceLogits);
  const reverse = () => tf.sum(tf.mul(tf.exp(logp), tf.sub(logp, logq)), -1) as tf.Tensor2D;
  const forward = () => tf.sum(tf.mul(tf.exp(logq), tf.sub(logq, logp)), -1) as tf.Tensor2D;
  if (direction === "reverse") return reverse();
  if (direction === "forward") return forward();
  return tf.add(tf.mul(forward(), mix), tf.mul(reverse(), 1 - mix)) as tf.Tensor2D;
}

/**
 * Exact KL anchor averaged over masked positions (nats/token).
 * @example klLoss(policyLogits, referenceLogits, mask, "forward")
 */
export function klLoss(policyLogits: tf.Tensor3D, referenceLogits: tf.Tensor3D, mask: tf.Tensor2D, direction: KlDirection, mix = 0.5): tf.Scalar {
  return maskedMean(tokenKlTensor(policyLogits, referenceLogits, direction, mix), mask);
}
