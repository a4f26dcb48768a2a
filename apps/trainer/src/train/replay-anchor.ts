// The replay anchor (--kl-on replay|both), shared by sft and grpo: a batch of base-corpus examples on which the
// exact KL of the policy to the frozen reference is measured over the completion tokens (train/batch-grads.ts
// computes the reference's logits, outside the gradient tape, and the KL term). It protects behaviour the new
// task never shows (compare InstructGPT's pretraining mix, which anchors with a likelihood term instead).
import type { TrainerConfig } from "@tether/shared/schemas/trainer-config";
import { collate, type Batch } from "../data/batches";
import type { FineTuneRun } from "./fine-tune-run";

/**
 * The next collated replay batch of a run, or null when --kl-on task (nothing is drawn then).
 * @example const replay = nextReplayBatch(run, cfg); // then batchGrads(…, { task, replay })
 */
export function nextReplayBatch(run: FineTuneRun, cfg: TrainerConfig): Batch | null {
  if (cfg.klOn === "task") return null;
  return collate(run.replayBatches.next().value!.items, run.tok.padId);
}
