// Loss and gradients of one training batch (or one data-parallel shard of it), for pretrain and sft: the
// single definition that the in-process loop and every data-parallel replica run (train/data-parallel.ts).
//
//   pretrain:  L = CE(π_θ; batch)
//   sft:       L = CE(π_θ; task) + β · mean(KL_task, KL_replay)      (terms as --kl-on selects; exact KL)
//
// With `norms`, every mean divides by the whole batch's token count instead of the shard's, so the shards'
// losses and gradients add up to the full batch's (a plain sum, no reweighting afterwards).
import * as tf from "@tensorflow/tfjs";
import type { KlDirection } from "@tether/shared/math/kl";
import type { ModelConfig } from "../model/config";
import type { Params } from "../model/params";
import { forward } from "../model/qwen2";
import { crossEntropy, klLoss } from "./losses";

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
  | { kind: "sft"; beta: number; klOn: "task" | "replay" | "both"; kl: KlDirection; klMix: number };

export interface StepBatch {
  task: RowBatch;
  /** Base-corpus replay rows (sft with --kl-on replay|both). */
  replay?: RowBatch;
  /** Whole-batch Σ lossMask of task and replay rows, when this batch is a shard of a larger one. */
  norms?: { task: number; replay: number };
}

/** Host values of the loss and its parts (ce = loss for pretrain; kl = 0 there). */
export interface StepValues {
  loss: number;
  ce: number;
  kl: number;
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
      return { grads, values: { loss, ce: loss, kl: 0 } };
    }
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
    return { grads, values: { loss, ce: ceV, kl: klV } };
  } finally {
    tf.dispose([ce, kl, refTask, refReplay, ...(replay ? Object.values(replay) : [])].filter((t): t is tf.Tensor => t !== null));
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
