// Loss and gradients of one training batch (or one data-parallel shard of it), for pretrain and sft: the
// single definition that the in-process loop and every data-parallel replica run (train/data-parallel.ts).
//
//   pretrain:  L = CE(π_θ; batch)
//   sft:       L = CE(π_θ; task) + β · mean(KL_task, KL_replay)      (terms as --kl-on selects; exact KL)
//   grpo:      L = GRPO's clipped objective on the rollouts (train/grpo-objective.ts) [+ β · exact KL on replay]
//
// With `norms`, every mean divides by the whole batch's count (tokens, or sequences for GRPO's per-sequence
// mean) instead of the shard's, so the shards' losses and gradients add up to the full batch's (a plain sum).
import * as tf from "@tensorflow/tfjs";
import type { KlEstimator } from "@tether/shared/math/estimators";
import type { KlDirection } from "@tether/shared/math/kl";
import type { ModelConfig } from "../model/config";
import type { Params } from "../model/params";
import { forward } from "../model/qwen2";
import { grpoLoss } from "./grpo-objective";
import { crossEntropy, klLoss, tokenLogprobs } from "./losses";

/** A padded batch's arrays, row-major [B, T] (data/batches.ts's Batch without its token count). */
export interface RowBatch {
  inputIds: Int32Array;
  targetIds: Int32Array;
  lossMask: Float32Array;
  attentionMask: Int32Array;
  shape: [number, number];
}

export type StepObjective =
  | { kind: "pretrain" }
  | { kind: "sft"; beta: number; klOn: "task" | "replay" | "both"; kl: KlDirection; klMix: number }
  | {
      kind: "grpo";
      beta: number;
      /** β·k in the loss (--kl-in loss with a task KL); else the task KL lives in the rewards. */
      klInLoss: boolean;
      klOn: "task" | "replay" | "both";
      kl: KlDirection;
      klMix: number;
      clipEps: number;
      estimator: KlEstimator;
    };

/** GRPO's per-row constants, aligned with the task rows: log π_old and log π_ref [B, T], advantages [B]. */
export interface RolloutConstants {
  oldLogp: Float32Array;
  refLogp: Float32Array;
  advantages: Float32Array;
}

export interface StepBatch {
  task: RowBatch;
  /** Base-corpus replay rows (sft with --kl-on replay|both). */
  replay?: RowBatch;
  /** GRPO: the rollouts' constants. */
  rollout?: RolloutConstants;
  /** Whole-batch Σ lossMask of task and replay rows (and task row count), when this batch is a shard. */
  norms?: { task: number; replay: number; sequences: number };
}

/** Host values of the loss and its parts (ce = loss for pretrain; kl = 0 there; GRPO: ce = 0, kl = 0). */
export interface StepValues {
  loss: number;
  ce: number;
  kl: number;
  /** GRPO: fraction of completion tokens whose ratio was clipped (sequence mean, then batch mean). */
  clipFraction: number;
}

export interface Replica {
  policy: Params;
  /** The frozen reference (sft); null for pretrain. */
  reference: Params | null;
  config: ModelConfig;
}

/**
 * Gradients (keyed by tf variable name, as tf.variableGrads gives them; the caller disposes them) and values.
 * @example const { grads, values } = batchGrads(replica, { kind: "pretrain" }, { task: batch }, adam.trainable());
 */
export function batchGrads(m: Replica, obj: StepObjective, b: StepBatch, trainable: tf.Variable[]): { grads: tf.NamedTensorMap; values: StepValues } {
  const task = tensorsOf(b.task);
  try {
    if (obj.kind === "pretrain") {
      const { value, grads } = tf.variableGrads(() => {
        // Pretraining rows are right-padded and attention is causal: no attention mask needed.
        const { logits } = forward(m.policy, m.config, task.ids);
        return crossEntropy(logits, task.targets, task.mask, b.norms?.task);
      }, trainable);
      const loss = value.dataSync()[0]!;
      value.dispose();
      return { grads, values: { loss, ce: loss, kl: 0, clipFraction: 0 } };
    }
    if (obj.kind === "grpo") return grpoGrads(m, obj, b, task, trainable);
    return sftGrads(m, obj, b, task, trainable);
  } finally {
    tf.dispose(Object.values(task));
  }
}

function sftGrads(m: Replica, obj: Extract<StepObjective, { kind: "sft" }>, b: StepBatch, task: BatchTensors, trainable: tf.Variable[]) {
  const reference = m.reference;
  if (!reference) throw new Error("sft needs the frozen reference");
  const replay = obj.klOn !== "task" && b.replay ? tensorsOf(b.replay) : null;
  // The reference is a constant: its logits are computed outside the gradient tape.
  const refReplay = replay ? tf.tidy(() => logitsOf(reference, m.config, replay)) : null;
  const refTask = obj.klOn === "replay" ? null : tf.tidy(() => logitsOf(reference, m.config, task));
  let ce: tf.Scalar | null = null;
  let kl: tf.Scalar | null = null;
  try {
    const { value, grads } = tf.variableGrads(() => {
      const pl = logitsOf(m.policy, m.config, task);
      ce = tf.keep(crossEntropy(pl, task.targets, task.mask, b.norms?.task));
      const terms: tf.Scalar[] = [];
      if (refTask) terms.push(klLoss(pl, refTask, task.mask, obj.kl, obj.klMix, b.norms?.task));
      if (replay && refReplay) terms.push(klLoss(logitsOf(m.policy, m.config, replay), refReplay, replay.mask, obj.kl, obj.klMix, b.norms?.replay));
      kl = tf.keep(tf.div(tf.addN(terms), terms.length) as tf.Scalar);
      return tf.add(ce, tf.mul(kl, obj.beta)) as tf.Scalar;
    }, trainable);
    const [loss, ceV, klV] = [value, ce!, kl!].map((t: tf.Scalar) => t.dataSync()[0]!) as [number, number, number];
    tf.dispose(value);
    return { grads, values: { loss, ce: ceV, kl: klV, clipFraction: 0 } };
  } finally {
    tf.dispose([ce, kl, refTask, refReplay, ...(replay ? Object.values(replay) : [])].filter((t): t is tf.Tensor => t !== null));
  }
}

function grpoGrads(m: Replica, obj: Extract<StepObjective, { kind: "grpo" }>, b: StepBatch, task: BatchTensors, trainable: tf.Variable[]) {
  const reference = m.reference;
  const r = b.rollout;
  if (!reference || !r) throw new Error("grpo needs the frozen reference and the rollouts' constants");
  const [N, T] = b.task.shape;
  const oldLogp = tf.tensor2d(r.oldLogp, [N, T]);
  const refLogp = tf.tensor2d(r.refLogp, [N, T]);
  const advantages = tf.tensor1d(r.advantages);
  const replay = obj.klOn !== "task" && b.replay ? tensorsOf(b.replay) : null;
  const refReplay = replay ? tf.tidy(() => logitsOf(reference, m.config, replay)) : null;
  let clipFraction: tf.Scalar | null = null;
  try {
    const { value, grads } = tf.variableGrads(() => {
      const logp = tokenLogprobs(logitsOf(m.policy, m.config, task), task.targets);
      const parts = grpoLoss({
        logp, oldLogp, refLogp, advantages, mask: task.mask, clipEps: obj.clipEps, beta: obj.klInLoss ? obj.beta : 0, estimator: obj.estimator, sequences: b.norms?.sequences,
      });
      clipFraction = tf.keep(parts.clipFraction);
      if (!replay || !refReplay) return parts.loss;
      const replayKl = tf.mul(klLoss(logitsOf(m.policy, m.config, replay), refReplay, replay.mask, obj.kl, obj.klMix, b.norms?.replay), obj.beta);
      // both: the task and replay KL terms are averaged (as sft), so β keeps one scale
      if (obj.klOn === "both" && obj.klInLoss) return tf.add(tf.neg(parts.surrogate), tf.mul(tf.add(tf.mul(parts.kl, obj.beta), replayKl), 0.5)) as tf.Scalar;
      return tf.add(parts.loss, replayKl) as tf.Scalar;
    }, trainable);
    const [loss, clip] = [value, clipFraction!].map((t: tf.Scalar) => t.dataSync()[0]!) as [number, number];
    tf.dispose(value);
    return { grads, values: { loss, ce: 0, kl: 0, clipFraction: clip } };
  } finally {
    tf.dispose([oldLogp, refLogp, advantages, clipFraction, refReplay, ...(replay ? Object.values(replay) : [])].filter((t): t is tf.Tensor => t !== null));
  }
}

interface BatchTensors {
  ids: tf.Tensor2D;
  targets: tf.Tensor2D;
  mask: tf.Tensor2D;
  attention: tf.Tensor2D;
}

function tensorsOf(b: RowBatch): BatchTensors {
  return {
    ids: tf.tensor2d(b.inputIds, b.shape, "int32"),
    targets: tf.tensor2d(b.targetIds, b.shape, "int32"),
    mask: tf.tensor2d(b.lossMask, b.shape),
    attention: tf.tensor2d(b.attentionMask, b.shape),
  };
}

function logitsOf(params: Params, c: ModelConfig, t: BatchTensors): tf.Tensor3D {
  return forward(params, c, t.ids, { attentionMask: t.attention }).logits;
}
