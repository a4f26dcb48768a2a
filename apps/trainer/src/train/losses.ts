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

/**
 * Mean over masked positions of a per-position tensor [B, T]; 0 when the mask is empty. `norm` replaces the
 * denominator max(Σ mask, 1): a data-parallel shard passes the whole batch's count, so the shards' sums add
 * up to the full-batch mean (train/data-parallel.ts).
 */
export function maskedMean(values: tf.Tensor2D, mask: tf.Tensor2D, norm?: number): tf.Scalar {
  return tf.div(tf.sum(tf.mul(values, mask)), denominator(mask, norm)) as tf.Scalar;
}

/** max(Σ mask, 1), or the given whole-batch count. */
function denominator(mask: tf.Tensor2D, norm?: number): tf.Scalar | number {
  return norm === undefined ? (tf.maximum(tf.sum(mask), 1) as tf.Scalar) : Math.max(norm, 1);
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

// The two training losses carry their gradient in closed form (softmax − one-hot, and the KL's), so the
// backward pass is four kernels over [B, T, V] instead of autodiff through log-softmax, one-hot products
// and the masked mean. The closed forms, with w_t = m_t / max(Σm, 1) and p = softmax(z), q = softmax(z_ref):
//   CE:       ∂/∂z_tv = w_t·(p_tv − 1[v = y_t])
//   reverse:  ∂/∂z_tv = w_t·p_tv·(log p_tv − log q_tv − KL_t)
//   forward:  ∂/∂z_tv = w_t·(p_tv − q_tv)
// Targets, mask and reference logits are constants: only the policy logits get a gradient.
function positionWeights(mask: tf.Tensor2D, norm?: number): tf.Tensor3D {
  return tf.expandDims(tf.div(mask, denominator(mask, norm)), -1) as tf.Tensor3D; // [B, T] -> [B, T, 1]
}

/**
 * Token-level cross-entropy (nats) averaged over the mask (or summed and divided by `norm`, see maskedMean).
 * @example crossEntropy(logits, targets, lossMask)
 */
export function crossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D, norm?: number): tf.Scalar {
  const oneHot = tf.oneHot(targets.toInt(), logits.shape[2]).toFloat() as tf.Tensor3D;
  const op = tf.customGrad(((z: tf.Tensor3D, save: tf.GradSaveFunc) => {
    const logp = tf.logSoftmax(z);
    // Tensors made outside the tape are disposed before the backward pass: save everything it reads.
    save([logp, oneHot, positionWeights(mask, norm)]);
    return {
      value: tf.neg(maskedMean(tf.sum(tf.mul(logp, oneHot), -1) as tf.Tensor2D, mask, norm)),
      gradFunc: (dy: tf.Tensor, [sLogp, sOneHot, sW]: tf.Tensor[]) => tf.mul(tf.mul(tf.sub(tf.exp(sLogp!), sOneHot!), sW!), dy),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (z: tf.Tensor3D) => tf.Scalar;
  return op(logits);
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
 * Exact KL anchor averaged over masked positions (nats/token; `norm` as in maskedMean).
 * @example klLoss(policyLogits, referenceLogits, mask, "forward")
 */
export function klLoss(policyLogits: tf.Tensor3D, referenceLogits: tf.Tensor3D, mask: tf.Tensor2D, direction: KlDirection, mix = 0.5, norm?: number): tf.Scalar {
  const logq = tf.logSoftmax(referenceLogits);
  const [wF, wR] = direction === "forward" ? [1, 0] : direction === "reverse" ? [0, 1] : [mix, 1 - mix];
  const op = tf.customGrad(((z: tf.Tensor3D, save: tf.GradSaveFunc) => {
    const logp = tf.logSoftmax(z);
    const p = tf.exp(logp);
    const diff = tf.sub(logp, logq); // log p − log q
    const reverse = tf.sum(tf.mul(p, diff), -1, true); // [B, T, 1]
    const perToken = wF > 0 ? tf.sum(tf.mul(tf.exp(logq), tf.neg(diff)), -1, true) : null;
    const kl = (perToken ? tf.add(tf.mul(perToken, wF), tf.mul(reverse, wR)) : reverse) as tf.Tensor3D;
    save([p, diff, reverse, tf.exp(logq), positionWeights(mask, norm)]);
    return {
      value: tf.sum(tf.mul(tf.squeeze(kl, [-1]), tf.div(mask, denominator(mask, norm)))),
      gradFunc: (dy: tf.Tensor, [sp, sDiff, sReverse, sq, sW]: tf.Tensor[]) => {
        const gReverse = wR > 0 ? tf.mul(tf.mul(sp!, tf.sub(sDiff!, sReverse!)), wR) : null;
        const gForward = wF > 0 ? tf.mul(tf.sub(sp!, sq!), wF) : null;
        const g = gReverse && gForward ? tf.add(gReverse, gForward) : (gReverse ?? gForward)!;
        return tf.mul(tf.mul(g, sW!), dy);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (z: tf.Tensor3D) => tf.Scalar;
  return op(policyLogits);
}
