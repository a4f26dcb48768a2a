// `tether-train grpo`: group-relative policy optimisation on the new task's verifiable reward, anchored to
// the frozen reference (objective and estimators: train/grpo-objective.ts).
//
// Each step:
//   1) --batch prompts, each sampled --group-size times from the current policy (π_old = π_θ now)
//   2) rewards from the task's exact-match checker; with --kl-in reward, r ← r − β·Σ_t k(π_old, π_ref)
//   3) group-normalised advantages; log π_old and log π_ref of every sampled token (no gradient)
//   4) one gradient step on the clipped objective (+ β·k in the loss with --kl-in loss); with --kl-on
//      replay|both, β·exact KL on a base-corpus replay batch is added (averaged with the task term for both).
//      Loss and gradients: train/batch-grads.ts, in this thread or sharded over --workers replicas; the
//      rollouts (1) and the constants (3) stay on this thread: sampling is sequential per token.
//   5) β controller fed the exact reverse KL of the rollouts (nats/token) and the mean reward
import * as tf from "@tensorflow/tfjs";
import type { TrainerConfig } from "@tether/shared/schemas/trainer-config";
import { readGrpoJsonl } from "../data/jsonl";
import { reward } from "../data/reward";
import { generate } from "../model/generate";
import { forward } from "../model/qwen2";
import { FineTuneRun, bundledTaskTrain, type FineTuneResult } from "../train/fine-tune-run";
import { startWorkers, stepGrads } from "../parallel/data-parallel";
import type { RowBatch } from "../train/batch-grads";
import { groupAdvantages, klEstimatorTensor } from "../train/grpo-objective";
import { tokenKlTensor, tokenLogprobs } from "../train/losses";
import { rolloutBatch, type RolloutBatch } from "../train/rollout";
import { nextReplayBatch } from "../train/replay-anchor";

/**
 * @example await grpo(parseTrainerConfig({ command: "grpo", reference: "models/demo/reference", groupSize: "8" }))
 */
export async function grpo(cfg: TrainerConfig, log: (line: string) => void = console.error): Promise<FineTuneResult> {
  const run = await FineTuneRun.open(cfg, "grpo", log);
  const { policy, reference, model, tok } = run;
  const prompts = cfg.data ? readGrpoJsonl(cfg.data) : bundledTaskTrain(cfg);
  const stopIds = [tok.eosId, ...tok.encode("\n")];
  const taskKl = cfg.klOn !== "replay";
  const replica = { policy: policy.params, reference: reference.params, config: model };
  const sequences = cfg.batch * cfg.groupSize;
  const dp = await startWorkers(cfg.workers, cfg.klOn === "task" ? sequences : Math.min(sequences, cfg.replayBatch!), { ...replica, backend: run.backend, trainable: [...run.adam.m.keys()] }, log);
  try {
    for (const { step, items } of run.batches(prompts)) {
      const beta = run.controller.beta;
      // 1) rollouts, group by group
      const group = items.flatMap((e) => new Array<typeof e>(cfg.groupSize).fill(e));
      const promptIds = group.map((e) => tok.encode(e.prompt));
      const { completions, stopped } = generate(policy.params, model, promptIds, {
        temperature: cfg.sampleTemperature, maxNewTokens: cfg.maxNewTokens, seed: cfg.seed * 1_000_003 + step, stopIds, padId: tok.padId, vocabLimit: tok.vocabSize,
      });
      const scored = completions.map((ids, i) => (stopped[i] ? [...ids, tok.eosId] : ids));
      const rawRewards = completions.map((ids, i) => reward(tok.decode(ids), group[i]!.answer));
      // 3) constants: log π_old, log π_ref, exact KL and the per-sequence estimator sum
      const rb = rolloutBatch(promptIds, scored, tok.padId);
      const ids = tf.tensor2d(rb.ids, rb.shape, "int32");
      const attentionMask = tf.tensor2d(rb.attention, rb.shape);
      const targets = tf.tensor2d(rb.targets, rb.shape, "int32");
      const mask = tf.tensor2d(rb.mask, rb.shape);
      const [oldLogp, refLogp, exactKl, seqEstimate] = tf.tidy(() => {
        const pl = forward(policy.params, model, ids, { attentionMask }).logits;
        const rl = forward(reference.params, model, ids, { attentionMask }).logits;
        const old = tokenLogprobs(pl, targets);
        const ref = tokenLogprobs(rl, targets);
        const exact = tf.div(tf.sum(tf.mul(tokenKlTensor(pl, rl, "reverse"), mask)), tf.maximum(tf.sum(mask), 1));
        const estimate = tf.sum(tf.mul(klEstimatorTensor(cfg.klEstimator, old, ref), mask), 1);
        return [old, ref, exact, estimate];
      });
      // 2) KL in the reward: r ← r − β·Σ_t k
      const estimates = seqEstimate.dataSync() as Float32Array;
      const rewards = rawRewards.map((r, i) => (cfg.klIn === "reward" && taskKl ? r - beta * estimates[i]! : r));
      const advantages = Float32Array.from(groupAdvantages(rewards, cfg.groupSize));
      const replay = nextReplayBatch(run, cfg);
      // 4) one clipped policy-gradient step (train/batch-grads.ts; sharded over --workers)
      const objective = { kind: "grpo", beta, klInLoss: cfg.klIn === "loss" && taskKl, klOn: cfg.klOn, kl: cfg.kl, klMix: cfg.klMix, clipEps: cfg.clipEps, estimator: cfg.klEstimator } as const;
      const rollout = { oldLogp: oldLogp.dataSync() as Float32Array, refLogp: refLogp.dataSync() as Float32Array, advantages };
      const { grads, values } = await stepGrads(dp, replica, objective, { task: rowsOf(rb), rollout, ...(replay ? { replay } : {}) }, run.adam.trainable());
      const lr = run.lr(step);
      const { gradNorm } = run.adam.apply(grads, lr);
      const meanReward = rawRewards.reduce((a, b) => a + b, 0) / rawRewards.length;
      const klValue = exactKl.dataSync()[0]!;
      const stepTokens = rb.mask.flat().reduce((a, b) => a + b, 0);
      const record = {
        loss: values.loss, reward: meanReward, kl: klValue, kl_estimate: estimates.reduce((a, b) => a + b, 0) / Math.max(1, stepTokens),
        clip_fraction: values.clipFraction, beta, lr, grad_norm: gradNorm,
      };
      tf.dispose([...Object.values(grads), ids, attentionMask, targets, mask, oldLogp, refLogp, exactKl, seqEstimate]);
      await run.afterStep(step, record, stepTokens, { kl: klValue, reward: meanReward, samples: group.length });
    }
  } finally {
    await dp?.close();
  }
  return run.finish();
}

/** A rollout batch as the typed row arrays train/batch-grads.ts reads. */
function rowsOf(rb: RolloutBatch): RowBatch {
  return {
    inputIds: Int32Array.from(rb.ids.flat()),
    targetIds: Int32Array.from(rb.targets.flat()),
    lossMask: Float32Array.from(rb.mask.flat()),
    attentionMask: Int32Array.from(rb.attention.flat()),
    shape: rb.shape,
  };
}
