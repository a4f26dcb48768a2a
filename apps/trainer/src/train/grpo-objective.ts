// GRPO (Shao et al. 2024, DeepSeekMath §4.1): group-normalised advantages, a PPO-clipped objective, and a
// KL penalty to the reference from a sampled estimator (Schulman 2020) placed in the loss or the reward.
//
//   advantages:   A_i = (r_i − mean_g r) / (std_g r + ε)   over the G samples of one prompt
//                 (std with Bessel's correction, as TRL's GRPOTrainer; ε = 1e-4 so equal rewards give A = 0)
//   per token:    ρ_t = π_θ(y_t) / π_old(y_t)
//                 J_t = min(ρ_t·A_i, clip(ρ_t, 1 − ε_clip, 1 + ε_clip)·A_i) − β·k(π_θ(y_t), π_ref(y_t))   (kl in loss)
//   loss:         L = −(1/N) Σ_i (1/|o_i|) Σ_t J_t        (sequence mean, then batch mean)
//   kl in reward: r_i ← r_i − β·Σ_t k(π_old(y_t), π_ref(y_t)) before the advantages, and no loss term.
// k is k1, k2 or k3 of packages/shared/src/math/estimators.ts, here as tensors so gradients reach π_θ.
import * as tf from "@tensorflow/tfjs";
import { ParameterError } from "@tether/shared/errors";
import type { KlEstimator } from "@tether/shared/math/estimators";

export const ADVANTAGE_EPS = 1e-4;

/**
 * Group-normalised advantages for rewards laid out group by group ([g0 s0, g0 s1, …, g1 s0, …]).
 * @example groupAdvantages([1, 0, 0, 1], 2) // [0.7071, −0.7071, −0.7071, 0.7071] (÷ (std + ε))
 */
export function groupAdvantages(rewards: ArrayLike<number>, groupSize: number, eps = ADVANTAGE_EPS): Float64Array {
  if (!Number.isInteger(groupSize) || groupSize < 2) throw new ParameterError("group_size", "must be an integer ≥ 2", groupSize);
  if (rewards.length % groupSize !== 0) throw new ParameterError("rewards", `length must be a multiple of group_size ${groupSize}`, rewards.length);
  const out = new Float64Array(rewards.length);
  for (let g = 0; g < rewards.length; g += groupSize) {
    let mean = 0;
    for (let i = 0; i < groupSize; i++) mean += rewards[g + i]! / groupSize;
    let ss = 0;
    for (let i = 0; i < groupSize; i++) ss += (rewards[g + i]! - mean) ** 2;
    const std = Math.sqrt(ss / (groupSize - 1));
    for (let i = 0; i < groupSize; i++) out[g + i] = (rewards[g + i]! - mean) / (std + eps);
  }
  return out;
}

/**
 * Estimator tensor k(π_θ, π_ref) per token from log-probabilities (log r = log π_ref − log π_θ).
 * @example klEstimatorTensor("k3", logpPolicy, logpReference) // [N, T]
 */
export function klEstimatorTensor(kind: KlEstimator, logpPolicy: tf.Tensor2D, logpReference: tf.Tensor2D): tf.Tensor2D {
  const logR = tf.sub(logpReference, logpPolicy);
  if (kind === "k1") return tf.neg(logR) as tf.Tensor2D;
  if (kind === "k2") return tf.mul(tf.square(logR), 0.5) as tf.Tensor2D;
  return tf.sub(tf.sub(tf.exp(logR), 1), logR) as tf.Tensor2D;
}

export interface GrpoLossInputs {
  /** [N, T] log π_θ(y_t) (differentiable). */
  logp: tf.Tensor2D;
  /** [N, T] log π_old(y_t) at sampling time (constant). */
  oldLogp: tf.Tensor2D;
  /** [N, T] log π_ref(y_t) (constant). */
  refLogp: tf.Tensor2D;
  /** [N] advantages. */
  advantages: tf.Tensor1D;
  /** [N, T] 1 on completion tokens. */
  mask: tf.Tensor2D;
  clipEps: number;
  /** β for the in-loss KL term; 0 when the KL lives in the reward. */
  beta: number;
  estimator: KlEstimator;
  /** The whole batch's sequence count when these rows are a data-parallel shard (means become sums ÷ it). */
  sequences?: number;
}

/**
 * The GRPO loss (header) and its parts, each a scalar.
 * @example const { loss } = grpoLoss({ logp, oldLogp, refLogp, advantages, mask, clipEps: 0.2, beta: 0.04, estimator: "k3" });
 */
export function grpoLoss(i: GrpoLossInputs): { loss: tf.Scalar; surrogate: tf.Scalar; kl: tf.Scalar; clipFraction: tf.Scalar } {
  const ratio = tf.exp(tf.sub(i.logp, i.oldLogp));
  const adv = tf.expandDims(i.advantages, 1); // [N] -> [N, 1]
  const unclipped = tf.mul(ratio, adv);
  const clipped = tf.mul(tf.clipByValue(ratio, 1 - i.clipEps, 1 + i.clipEps), adv);
  const surrogate = tf.minimum(unclipped, clipped);
  const k = klEstimatorTensor(i.estimator, i.logp, i.refLogp);
  const lengths = tf.maximum(tf.sum(i.mask, 1), 1); // [N]
  const perSequence = (x: tf.Tensor) => {
    const means = tf.div(tf.sum(tf.mul(x, i.mask), 1), lengths); // [N]
    return (i.sequences === undefined ? tf.mean(means) : tf.div(tf.sum(means), i.sequences)) as tf.Scalar;
  };
  const surrogateMean = perSequence(surrogate);
  const klMean = perSequence(k);
  const clipFraction = perSequence(tf.cast(tf.notEqual(unclipped, surrogate), "float32"));
  const loss = tf.neg(tf.sub(surrogateMean, tf.mul(klMean, i.beta))) as tf.Scalar;
  return { loss, surrogate: surrogateMean, kl: klMean, clipFraction };
}
