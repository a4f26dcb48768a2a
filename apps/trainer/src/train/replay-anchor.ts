// The replay anchor (--kl-on replay|both), shared by sft and grpo: a batch of base-corpus examples, the
// frozen reference's logits on it (a constant, computed outside the gradient tape), and the exact KL
// of the policy to it over the batch's completion tokens. It protects behaviour the new task never shows
// (compare InstructGPT's pretraining mix, which anchors with a likelihood term instead).
import * as tf from "@tensorflow/tfjs";
import type { TrainerConfig } from "@tether/shared/schemas/trainer-config";
import { collate, type Batch } from "../data/batches";
import type { ModelConfig } from "../model/config";
import type { Params } from "../model/params";
import { forward } from "../model/qwen2";
import type { FineTuneRun } from "./fine-tune-run";
import { klLoss } from "./losses";

/** A collated batch as tensors: inputs, next-token targets, completion-token mask, attention mask. */
export interface BatchTensors {
  ids: tf.Tensor2D;
  targets: tf.Tensor2D;
  mask: tf.Tensor2D;
  attention: tf.Tensor2D;
}

/** @example const t = batchTensors(collate(rows, padId)); … tf.dispose(Object.values(t)); */
export function batchTensors(b: Batch): BatchTensors {
  return {
    ids: tf.tensor2d(b.inputIds, b.shape, "int32"),
    targets: tf.tensor2d(b.targetIds, b.shape, "int32"),
    mask: tf.tensor2d(b.lossMask, b.shape),
    attention: tf.tensor2d(b.attentionMask, b.shape),
  };
}

/** Raw logits [B, T, V] of a model on a batch. */
export function logitsOf(params: Params, c: ModelConfig, t: BatchTensors): tf.Tensor3D {
  return forward(params, c, t.ids, { attentionMask: t.attention }).logits;
}

export interface ReplayAnchor {
  batch: BatchTensors;
  /** [B, T, V] reference logits on the replay batch. */
  refLogits: tf.Tensor3D;
  /** KL(π_θ ‖ π_ref) in the run's --kl direction over the replay completion tokens; call inside the tape. */
  kl(policy: Params): tf.Scalar;
  dispose(): void;
}

/** The next collated replay batch of a run, or null when --kl-on task (nothing is drawn then). */
export function nextReplayBatch(run: FineTuneRun, cfg: TrainerConfig): Batch | null {
  if (cfg.klOn === "task") return null;
  return collate(run.replayBatches.next().value!.items, run.tok.padId);
}

/**
 * The next replay batch of a run with its reference logits, or null when --kl-on task.
 * @example const anchor = nextReplayAnchor(run, cfg); … if (anchor) terms.push(anchor.kl(policy.params)); anchor?.dispose();
 */
export function nextReplayAnchor(run: FineTuneRun, cfg: TrainerConfig): ReplayAnchor | null {
  const rows = nextReplayBatch(run, cfg);
  if (!rows) return null;
  const { model, reference } = run;
  const batch = batchTensors(rows);
  const refLogits = tf.tidy(() => logitsOf(reference.params, model, batch));
  return {
    batch,
    refLogits,
    kl: (policy) => klLoss(logitsOf(policy, model, batch), refLogits, batch.mask, cfg.kl, cfg.klMix),
    dispose: () => tf.dispose([...Object.values(batch), refLogits]),
  };
}
