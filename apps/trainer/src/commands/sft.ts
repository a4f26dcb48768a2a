// `tether-train sft`: supervised fine-tuning on the new task with an exact KL anchor to the frozen reference.
//
//   L = CE(π_θ; task batch) + β · KL_anchor
//   KL_anchor over completion tokens, exact over the full vocabulary, direction --kl (forward|reverse|mixed),
//   measured on --kl-on: the task batch, a replay batch of base-corpus examples, or both (their mean,
//   so β keeps one scale). β follows --beta-controller (fixed | target | ratio, reward = −CE).
import * as tf from "@tensorflow/tfjs";
import type { TrainerConfig } from "@tether/shared/schemas/trainer-config";
import { NEW_TASK_DATASET, bundledDataset } from "../data/bundled";
import { collate, encodeExamples } from "../data/batches";
import { readSftJsonl } from "../data/jsonl";
import { BUNDLED_EXAMPLES, FineTuneRun, type FineTuneResult } from "../train/fine-tune-run";
import { crossEntropy, klLoss } from "../train/losses";
import { batchTensors, logitsOf, nextReplayAnchor } from "../train/replay-anchor";

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
    const task = batchTensors(batch);
    const replay = nextReplayAnchor(run, cfg);
    // The reference is a constant: its logits are computed outside the gradient tape.
    const refTask = cfg.klOn === "replay" ? null : tf.tidy(() => logitsOf(reference.params, model, task));
    const beta = run.controller.beta;
    let ce: tf.Scalar | null = null;
    let kl: tf.Scalar | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const pl = logitsOf(policy.params, model, task);
      ce = tf.keep(crossEntropy(pl, task.targets, task.mask));
      const terms: tf.Scalar[] = [];
      if (refTask) terms.push(klLoss(pl, refTask, task.mask, cfg.kl, cfg.klMix));
      if (replay) terms.push(replay.kl(policy.params));
      kl = tf.keep(tf.div(tf.addN(terms), terms.length) as tf.Scalar);
      return tf.add(ce, tf.mul(kl, beta)) as tf.Scalar;
    }, run.adam.trainable());
    const lr = run.lr(step);
    const { gradNorm } = run.adam.apply(grads, lr);
    const [lossV, ceV, klV] = [value, ce!, kl!].map((t: tf.Scalar) => t.dataSync()[0]!) as [number, number, number];
    tf.dispose([value, ce!, kl!, ...Object.values(grads), ...Object.values(task), refTask].filter((t): t is tf.Tensor => t !== null));
    replay?.dispose();
    const record = { loss: lossV, ce: ceV, kl: klV, beta, lr, grad_norm: gradNorm };
    await run.afterStep(step, record, batch.tokens, { kl: klV, reward: -ceV, samples: batch.shape[0] });
  }
  return run.finish();
}
