// `tether-train pretrain`: train a reference model from scratch on the bundled arithmetic corpus (or
// --data JSONL), then save it as a reference checkpoint with its held-out loss and base-task accuracy.
//
// 1) backend, tokenizer (character BPE), model shape from --preset, seeded init
// 2) Adam steps on next-token cross-entropy over every token, warmup + cosine LR, clipping; with
//    --workers N the batch's gradient is computed by N data-parallel replicas (parallel/data-parallel.ts)
// 3) held-out loss every --eval-every steps (and the weights' sha256 after --fingerprint-at); at the end loss +
//    greedy accuracy on held-out problems
// 4) checkpoint: config.json, model.safetensors, tokenizer files, eval.json, metrics.jsonl, manifest.json
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { Manifest } from "@tether/shared/schemas/manifest";
import type { TrainerConfig } from "@tether/shared/schemas/trainer-config";
import { saveCheckpoint, weightsSha256 } from "../checkpoint/save-load";
import { BASE_DATASET, bundledDataset } from "../data/bundled";
import { collate, encodeExamples, shuffledBatches } from "../data/batches";
import { readSftJsonl } from "../data/jsonl";
import { initParams, disposeParams } from "../model/params";
import { startWorkers, stepGrads } from "../parallel/data-parallel";
import { buildCharBpe } from "../tokenizer/char-bpe";
import { loadTokenizer } from "../tokenizer/tokenizer";
import { answerAccuracy, heldOutLoss } from "../train/evaluate";
import { Adam } from "../train/optimizer";
import { Progress } from "../train/progress";
import { Snapshots } from "../train/snapshot";
import { learningRate } from "../train/schedule";
import { adamOptions, modelConfigFor, setupBackend, updateScales } from "../train/setup";

/** Training problems drawn from the bundled corpus when no --data is given. */
const BUNDLED_TRAIN_EXAMPLES = 10_000;

export interface PretrainResult {
  dir: string;
  manifest: Manifest;
  /** Held-out loss before the first and after the last step (nats/token). */
  initialLoss: number;
  finalLoss: number;
  baseAccuracy: number;
}

/**
 * @example await pretrain(parseTrainerConfig({ command: "pretrain", steps: "200" }))
 */
export async function pretrain(cfg: TrainerConfig, log: (line: string) => void = console.error): Promise<PretrainResult> {
  const started = Date.now();
  const backend = await setupBackend(cfg, log);
  const files = buildCharBpe();
  const tok = loadTokenizer(files.tokenizerJson, files.tokenizerConfig);
  const model = modelConfigFor(cfg.preset, tok);
  const maxLength = Math.min(model.maxPositions, cfg.seqLen ?? model.maxPositions);
  const train = cfg.data ? readSftJsonl(cfg.data) : bundledDataset(BASE_DATASET, "train", cfg.seed, BUNDLED_TRAIN_EXAMPLES);
  const heldOut = bundledDataset(BASE_DATASET, "heldout", cfg.seed, cfg.evalSamples);
  const { rows } = encodeExamples(train, tok, { mode: "pretrain", maxLength });
  const heldOutRows = encodeExamples(heldOut, tok, { mode: "pretrain", maxLength }).rows;
  const dir = cfg.out ?? join("runs", `pretrain-${cfg.preset.replace(/\W+/g, "_")}-s${cfg.seed}`);

  const params = initParams(model, cfg.seed);
  const adam = new Adam(params, adamOptions(cfg), updateScales(cfg, model));
  const schedule = { peak: cfg.lr, floor: cfg.lr * cfg.minLrRatio, warmup: cfg.warmupSteps, total: cfg.steps };
  const snapshots = new Snapshots(dir, cfg.saveEvery, params, adam);
  const start = cfg.resume ? snapshots.restore() : { step: 0, tokens: 0 };
  const initialLoss = heldOutLoss(params, model, heldOutRows, tok.padId);
  const progress = new Progress({ label: "pretrain", totalSteps: cfg.steps, metricsPath: join(dir, "metrics.jsonl"), resume: cfg.resume, print: log });
  if (!cfg.resume) progress.log({ step: 0, heldout_loss: initialLoss });
  let tokens = start.tokens;
  let last: Record<string, number> = {};

  const replica = { policy: params, reference: null, config: model };
  const dp = await startWorkers(cfg.workers, cfg.batch, { ...replica, backend, trainable: [...adam.m.keys()] }, log);
  try {
    for (const { step, items } of shuffledBatches(rows, { batchSize: cfg.batch, seed: cfg.seed, startStep: start.step })) {
      if (step >= cfg.steps) break;
      const batch = collate(items, tok.padId);
      const lr = learningRate(schedule, step);
      const { grads, values } = await stepGrads(dp, replica, { kind: "pretrain" }, { task: batch }, adam.trainable());
      const { gradNorm } = adam.apply(grads, lr);
      tf.dispose(Object.values(grads));
      tokens += batch.tokens;
      last = { loss: values.loss, lr, grad_norm: gradNorm };
      progress.update({ step: step + 1, ...last }, batch.tokens);
      if (step + 1 === cfg.fingerprintAt) progress.log({ step: step + 1, weights_sha256: weightsSha256(model, params) });
      if (cfg.evalEvery > 0 && (step + 1) % cfg.evalEvery === 0 && step + 1 < cfg.steps) {
        progress.log({ step: step + 1, heldout_loss: heldOutLoss(params, model, heldOutRows, tok.padId) });
      }
      if (snapshots.due(step + 1, cfg.steps)) snapshots.save(step + 1, tokens);
    }
  } finally {
    await dp?.close();
  }
  progress.stop();
  snapshots.clear();

  const finalLoss = heldOutLoss(params, model, heldOutRows, tok.padId);
  const base = await answerAccuracy(params, model, tok, heldOut);
  progress.log({ step: cfg.steps, heldout_loss: finalLoss, base_accuracy: base.accuracy });
  log(`tether-train: held-out loss ${initialLoss.toFixed(3)} → ${finalLoss.toFixed(3)} nats/token, base accuracy ${(100 * base.accuracy).toFixed(1)}%`);

  const manifest = saveCheckpoint({
    dir,
    kind: "reference",
    config: model,
    params,
    files: {
      "tokenizer.json": `${JSON.stringify(files.tokenizerJson, null, 2)}\n`,
      "tokenizer_config.json": `${JSON.stringify(files.tokenizerConfig, null, 2)}\n`,
      "generation_config.json": `${JSON.stringify(files.generationConfig, null, 2)}\n`,
    },
    training: {
      command: "pretrain",
      config: { ...cfg },
      seed: cfg.seed,
      backend,
      steps: cfg.steps,
      tokens,
      duration_s: (Date.now() - started) / 1000,
      metrics: { ...last, heldout_loss: finalLoss, base_accuracy: base.accuracy },
    },
    name: `reference (${cfg.preset}, seed ${cfg.seed})`,
  });
  log(`tether-train: saved ${manifest.id} to ${dir}`);
  adam.dispose();
  disposeParams(params);
  return { dir, manifest, initialLoss, finalLoss, baseAccuracy: base.accuracy };
}
