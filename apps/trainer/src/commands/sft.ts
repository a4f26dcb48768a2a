// `tether-train sft`: supervised fine-tuning on the new task with an exact KL anchor to the frozen reference.
//
//   L = CE(π_θ; task batch) + β · KL_anchor
//   KL_anchor over completion tokens, exact over the full vocabulary, direction --kl (forward|reverse|mixed),
//   measured on --kl-on: the task batch, a replay batch of base-corpus examples, or both (their mean,
//   so β keeps one scale). β follows --beta-controller (fixed | target | ratio, reward = −CE).
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { TrainerConfig } from "@tether/shared/schemas/trainer-config";
import type { Manifest } from "@tether/shared/schemas/manifest";
import { savePolicy } from "../train/save-policy";
import { BASE_DATASET, NEW_TASK_DATASET, bundledDataset } from "../data/bundled";
import { collate, encodeExamples, shuffledBatches, type Batch } from "../data/batches";
import { readSftJsonl } from "../data/jsonl";
import { disposeParams, type Params } from "../model/params";
import { forward } from "../model/qwen2";
import type { ModelConfig } from "../model/config";
import { loadAnchoredPair } from "../train/anchor";
import { BetaController } from "../train/beta-controller";
import { crossEntropy, klLoss } from "../train/losses";
import { Adam } from "../train/optimizer";
import { evaluatePolicy, type PolicyEval } from "../train/policy-eval";
import { Progress } from "../train/progress";
import { Snapshots } from "../train/snapshot";
import { learningRate } from "../train/schedule";
import { adamOptions, setupBackend, updateScales } from "../train/setup";

const BUNDLED_TRAIN_EXAMPLES = 10_000;
/** Completion budget for evaluation rollouts (answers are ≤ 3 digits + eos). */
const EVAL_MAX_TOKENS = 8;

export interface FineTuneResult {
  dir: string;
  manifest: Manifest;
  eval: PolicyEval;
}

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
  const started = Date.now();
  const backend = await setupBackend(cfg, log);
  const { reference, policy, tokenizer: tok } = loadAnchoredPair(cfg);
  const model = policy.config;
  const maxLength = Math.min(model.maxPositions, cfg.seqLen ?? model.maxPositions);
  const encode = (xs: { prompt: string; completion: string }[]) => encodeExamples(xs, tok, { mode: "sft", maxLength }).rows;
  const taskRows = encode(cfg.data ? readSftJsonl(cfg.data) : bundledDataset(NEW_TASK_DATASET, "train", cfg.seed, BUNDLED_TRAIN_EXAMPLES));
  const replayRows = encode(cfg.replayData ? readSftJsonl(cfg.replayData) : bundledDataset(BASE_DATASET, "train", cfg.seed + 1, BUNDLED_TRAIN_EXAMPLES));
  const taskHeldOut = bundledDataset(NEW_TASK_DATASET, "heldout", cfg.seed, cfg.evalSamples);
  const baseHeldOut = bundledDataset(BASE_DATASET, "heldout", cfg.seed, cfg.evalSamples);
  const dir = cfg.out ?? join("runs", `sft-b${cfg.beta}-${cfg.klOn}-s${cfg.seed}`);

  const adam = new Adam(policy.params, adamOptions(cfg), updateScales(cfg, model));
  const controller = new BetaController({ kind: cfg.betaController, beta: cfg.beta, klTarget: cfg.klTarget, horizon: cfg.controllerHorizon, window: cfg.ratioWindow });
  const schedule = { peak: cfg.lr, floor: cfg.lr * cfg.minLrRatio, warmup: cfg.warmupSteps, total: cfg.steps };
  const snapshots = new Snapshots(dir, cfg.saveEvery, policy.params, adam, controller);
  const start = cfg.resume ? snapshots.restore() : { step: 0, tokens: 0 };
  const progress = new Progress({ label: `sft β=${cfg.beta}`, totalSteps: cfg.steps, metricsPath: join(dir, "metrics.jsonl"), resume: cfg.resume });
  const replayBatches = shuffledBatches(replayRows, { batchSize: cfg.replayBatch, seed: cfg.seed + 1, startStep: start.step });
  const evaluate = () =>
    evaluatePolicy(policy.params, reference.params, model, tok, taskHeldOut, baseHeldOut, { seed: cfg.seed, maxNewTokens: EVAL_MAX_TOKENS });
  const logEval = (step: number, e: PolicyEval) =>
    progress.log({
      step,
      heldout_kl: e.meanTokenKl,
      task_accuracy: e.taskAccuracy,
      task_reward: e.taskAccuracy,
      base_accuracy: e.baseAccuracy,
      base_retention: e.referenceBaseAccuracy > 0 ? e.baseAccuracy / e.referenceBaseAccuracy : 1,
    });
  let tokens = start.tokens;
  let last: Record<string, number> = {};

  for (const { step, items } of shuffledBatches(taskRows, { batchSize: cfg.batch, seed: cfg.seed, startStep: start.step })) {
    if (step >= cfg.steps) break;
    const batch = collate(items, tok.padId);
    const task = toTensors(batch);
    const replay = cfg.klOn === "task" ? null : toTensors(collate(replayBatches.next().value!.items, tok.padId));
    // The reference is a constant: its logits are computed outside the gradient tape.
    const refTask = cfg.klOn === "replay" ? null : tf.tidy(() => logitsOf(reference.params, model, task));
    const refReplay = replay ? tf.tidy(() => logitsOf(reference.params, model, replay)) : null;
    const beta = controller.beta;
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
    }, adam.trainable());
    const { gradNorm } = adam.apply(grads, learningRate(schedule, step));
    const [lossV, ceV, klV] = [value, ce!, kl!].map((t: tf.Scalar) => t.dataSync()[0]!);
    tf.dispose([value, ce!, kl!, ...Object.values(grads), ...Object.values(task), ...(replay ? Object.values(replay) : []), refTask, refReplay].filter((t): t is tf.Tensor => t !== null));
    controller.update({ kl: klV!, reward: -ceV!, samples: batch.shape[0] });
    tokens += batch.tokens;
    last = { loss: lossV!, ce: ceV!, kl: klV!, beta, lr: learningRate(schedule, step), grad_norm: gradNorm };
    progress.update({ step: step + 1, ...last }, batch.tokens);
    if (cfg.evalEvery > 0 && (step + 1) % cfg.evalEvery === 0 && step + 1 < cfg.steps) logEval(step + 1, await evaluate());
    if (snapshots.due(step + 1, cfg.steps)) snapshots.save(step + 1, tokens);
  }
  progress.stop();
  snapshots.clear();

  const result = await evaluate();
  logEval(cfg.steps, result);
  log(
    `tether-train: held-out KL ${result.meanTokenKl.toFixed(4)} nats/token, task accuracy ${(100 * result.taskAccuracy).toFixed(1)}%` +
      ` (reference ${(100 * result.referenceTaskAccuracy).toFixed(1)}%), base ${(100 * result.baseAccuracy).toFixed(1)}% (reference ${(100 * result.referenceBaseAccuracy).toFixed(1)}%)`,
  );
  const manifest = savePolicy({ cfg, command: "sft", dir, reference, policy, backend, tokens, started, last, result, evalMaxTokens: EVAL_MAX_TOKENS });
  adam.dispose();
  disposeParams(policy.params);
  disposeParams(reference.params);
  return { dir, manifest, eval: result };
}
