// `tether-train sft`: supervised fine-tuning on the new task with an exact KL anchor to the frozen reference.
//
//   L = CE(π_θ; task batch) + β · KL_anchor
//   KL_anchor over completion tokens, exact over the full vocabulary, direction --kl (forward|reverse|mixed),
//   measured on --kl-on: the task batch, a replay batch of base-corpus examples, or both (their mean,
//   so β keeps one scale). β follows --beta-controller (fixed | target | ratio, reward = −CE).
import * as tf from "@tensorflow/tfjs";
import type { TrainerConfig } from "@tether/shared/schemas/trainer-config";
import { NEW_TASK_DATASET, bundledDataset } from "../data/bundled";
import { collate, encodeExamples, type Batch } from "../data/batches";
import { readSftJsonl } from "../data/jsonl";
import type { ModelConfig } from "../model/config";
import type { Params } from "../model/params";
import { forward } from "../model/qwen2";
import { BUNDLED_EXAMPLES, FineTuneRun, type FineTuneResult } from "../train/fine-tune-run";
import { crossEntropy, klLoss } from "../train/losses";

type Tensors = { ids: tf.Tensor2D; targets: tf.Tensor2D; mask: tf.Tensor2D; attention: tf.Tensor2D };

function toTensors(b: Batch): Tensors {
  return {
    ids: tf.tensor2d(b.inputIds, b.shape, "int32"),
    targets: tf.tensor2d(b.targetIds, b.shape, "int32"),
    mask: tf.tensor2d(b.lossMask, b.shape),
    attention: tf.tensor2d(b.attentionMask, b.shape),
  };
}

function logitsOf(params: Params, c: ModelConfig, t: Tensors): tf.Tensor3D {
  return forward(params, c, t.ids, { attentionMask: t.attention }).logits;
}

/**
 * @example await sft(parseTrainerConfig({ command: "sft", reference: "models/demo/reference", beta: "0.2" }))
 */
export async function sft(cfg: TrainerConfig, log: (line: string) => void = console.error): Promise<FineTuneResult> {
  const run = await FineTuneRun.open(cfg, "sft", log);
  const { policy, reference, model, tok } = run;
  const examples = cfg.data ? readSftJsonl(cfg.data) : bundledDataset(NEW_TASK_DATASET, "train", cfg.seed, BUNDLED_EXAMPLES);
  const taskRows = encodeExamples(examples, tok, { mode: "sft", maxLength: run.maxLength }).rows;

  for (const { step, items } of run.batches(taskRows)) {
    const batch = collate(items, tok.padId);
    const task = toTensors(batch);
    const replay = cfg.klOn === "task" ? null : toTensors(collate(run.replayBatches.next().value!.items, tok.padId));
    // The reference is a constant: its logits are computed outside the gradient tape.
    const refTask = cfg.klOn === "replay" ? null : tf.tidy(() => logitsOf(reference.params, model, task));
    const refReplay = replay ? tf.tidy(() => logitsOf(reference.params, model, replay)) : null;
    const beta = run.controller.beta;
    let ce: tf.Scalar | null = null;
    let kl: tf.Scalar | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const pl = logitsOf(policy.params, model, task);
      ce = tf.keep(crossEntropy(pl, task.targets, task.mask));
      const terms: tf.Scalar[] = [];
      if (refTask) terms.push(klLoss(pl, refTask, task.mask, cfg.kl, cfg.klMix));
      if (replay && refReplay) terms.push(klLoss(logitsOf(policy.params, model, replay), refReplay, replay.mask, cfg.kl, cfg.klMix));
      kl = tf.keep(tf.div(tf.addN(terms), terms.length) as tf.Scalar);
      return tf.add(ce, tf.mul(kl, beta)) as tf.Scalar;
    }, run.adam.trainable());
    const lr = run.lr(step);
    const { gradNorm } = run.adam.apply(grads, lr);
    const [lossV, ceV, klV] = [value, ce!, kl!].map((t: tf.Scalar) => t.dataSync()[0]!) as [number, number, number];
    tf.dispose([value, ce!, kl!, ...Object.values(grads), ...Object.values(task), ...(replay ? Object.values(replay) : []), refTask, refReplay].filter((t): t is tf.Tensor => t !== null));
    const record = { loss: lossV, ce: ceV, kl: klV, beta, lr, grad_norm: gradNorm };
    await run.afterStep(step, record, batch.tokens, { kl: klV, reward: -ceV, samples: batch.shape[0] });
  }
  return run.finish();
}
