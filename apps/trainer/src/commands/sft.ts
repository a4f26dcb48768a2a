// `tether-train sft`: supervised fine-tuning on the new task with an exact KL anchor to the frozen reference.
//
//   L = CE(π_θ; task batch) + β · KL_anchor
//   KL_anchor over completion tokens, exact over the full vocabulary, direction --kl (forward|reverse|mixed),
//   measured on --kl-on: the task batch, a replay batch of base-corpus examples, or both (their mean,
//   so β keeps one scale). β follows --beta-controller (fixed | target | ratio, reward = −CE).
// Loss and gradients: train/batch-grads.ts, in this thread or over --workers data-parallel replicas.
import * as tf from "@tensorflow/tfjs";
import type { TrainerConfig } from "@tether/shared/schemas/trainer-config";
import { collate, encodeExamples } from "../data/batches";
import { readSftJsonl } from "../data/jsonl";
import { FineTuneRun, bundledTaskTrain, type FineTuneResult } from "../train/fine-tune-run";
import { startWorkers, stepGrads } from "../parallel/data-parallel";
import { nextReplayBatch } from "../train/replay-anchor";

/**
 * @example await sft(parseTrainerConfig({ command: "sft", reference: "models/demo/reference", beta: "0.2" }))
 */
export async function sft(cfg: TrainerConfig, log: (line: string) => void = console.error): Promise<FineTuneResult> {
  const run = await FineTuneRun.open(cfg, "sft", log);
  const { policy, reference, model, tok } = run;
  const examples = cfg.data ? readSftJsonl(cfg.data) : bundledTaskTrain(cfg);
  const taskRows = encodeExamples(examples, tok, { mode: "sft", maxLength: run.maxLength }).rows;

  const objective = { kind: "sft", beta: 0, klOn: cfg.klOn, kl: cfg.kl, klMix: cfg.klMix } as const;
  const replica = { policy: policy.params, reference: reference.params, config: model };
  const rows = cfg.klOn === "task" ? cfg.batch : Math.min(cfg.batch, cfg.replayBatch!);
  const dp = await startWorkers(cfg.workers, rows, { ...replica, backend: run.backend, trainable: [...run.adam.m.keys()] }, log);
  try {
    for (const { step, items } of run.batches(taskRows)) {
      const batch = collate(items, tok.padId);
      const replay = nextReplayBatch(run, cfg);
      const beta = run.controller.beta;
      const { grads, values } = await stepGrads(dp, replica, { ...objective, beta }, { task: batch, ...(replay ? { replay } : {}) }, run.adam.trainable());
      const lr = run.lr(step);
      const { gradNorm } = run.adam.apply(grads, lr);
      tf.dispose(Object.values(grads));
      const record = { loss: values.loss, ce: values.ce, kl: values.kl, beta, lr, grad_norm: gradNorm };
      await run.afterStep(step, record, batch.tokens, { kl: values.kl, reward: -values.ce, samples: batch.shape[0] });
    }
  } finally {
    await dp?.close();
  }
  return run.finish();
}
