// `npm run train:demo`: the demo checkpoint pair that `npm start` serves (models/demo/{reference,policy}),
// made from a seed (~10 min of one core with models/demo/drifted: 582 s CPU, 20 min wall at load 5–15 on 2 cores),
// so the committed files can be reproduced and checked.
//
// 1) reference: pretrain the tiny preset on the bundled arithmetic corpus (addition/subtraction); 4,000 steps
//    of 128 problems (the old 2,000 × 64 stopped at 83% held-out accuracy; 4,000 × 64 reached 97%, 8,000 × 64
//    98.1% on 1,000 held-out problems, this one 98.9%)
// 2) policy: sft on one-digit multiplication with exact KL to the reference on a replay batch of the base
//    corpus; β = 0.5 rather than docs/sweep-tiny's 0.1: at lr 3e-3 (sweep-tiny: 1e-3 for 200 steps, which
//    reached only 15% multiplication) β = 0.1 let retention dip to 56–90% over the first 750 steps in a trial
//    run; at β = 0.5 the committed policy keeps 99% of the reference's held-out base accuracy
// 3) export both to ONNX with sketch outputs, sketch.json calibrated on both tasks (DemoRecipe.calibration); the
//    policy reuses the reference's sketch spec, so the gateway scores the policy's activations against the
//    reference's calibration statistics, and its eval.json gets the held-out sketch percentiles the default
//    sketch alert rule reads
//
// Same seed, same backend → the same model.safetensors bytes. test/demo-checkpoints.test.ts reruns the first
// fingerprintAt steps of (1) and (2) and compares the weights' sha256 with the one each run logged there.
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseTrainerConfig, type TrainerConfig, type TrainerConfigInput } from "@tether/shared/schemas/trainer-config";
import { exportCheckpoint } from "../commands/export";
import { pretrain } from "../commands/pretrain";
import { sft } from "../commands/sft";
import { DRIFTED_RECIPE, trainDrifted } from "./train-drifted";

export interface DemoRecipe {
  /** Output folder holding reference/ and policy/. */
  out: string;
  seed: number;
  pretrainSteps: number;
  pretrainBatch: number;
  /** Peak learning rate of the reference's warmup + cosine schedule. */
  pretrainLr: number;
  sftSteps: number;
  sftBatch: number;
  sftLr: number;
  /** KL weight of the policy's replay anchor. */
  sftBeta: number;
  /**
   * Both runs warm up linearly for exactly this many steps and log the weights' sha256 after it
   * (metrics.jsonl, `--fingerprint-at`). Warmup LRs do not depend on the run's length, so a run of just these
   * steps takes the same steps as the full recipe: demo-checkpoints.test.ts reruns that prefix and compares.
   */
  fingerprintAt: number;
  /** Held-out requests in each eval.json (the multiplication held-out split has 104 problems). */
  evalSamples: number;
  /** Graph variant for both checkpoints: pinned (same export on every machine) to the portable one, since fused graphs give wrong logits for left-padded batches in other runners (transformers.js batch generate). */
  onnxVariant: "standard" | "fused";
  /**
   * sketch.json's calibration set (export --data) for every demo checkpoint: traffic like what the demo serves,
   * both tasks. Calibrated on the base corpus alone, the reference itself scores percentile 100 on multiplication
   * prompts, so eval.json's sketch thresholds saturate at 100 and the default sketch rule could never fire.
   */
  calibration: string;
}

/** The committed demo pair was made with exactly these values. */
export const DEMO_RECIPE: DemoRecipe = {
  out: "models/demo",
  seed: 1,
  pretrainSteps: 4000,
  pretrainBatch: 128,
  pretrainLr: 3e-3,
  sftSteps: 2000,
  sftBatch: 64,
  sftLr: 3e-3,
  sftBeta: 0.5,
  fingerprintAt: 100,
  evalSamples: 100,
  onnxVariant: "standard",
  calibration: "bundled:arithmetic/train,multiplication/train",
};

const common = (r: DemoRecipe) => ({ seed: String(r.seed), backend: "wasm", evalSamples: String(r.evalSamples) }) as const;

/**
 * The reference's pretrain config (1).
 * @example await pretrain(referenceConfig(DEMO_RECIPE, "/tmp/ref"))
 */
export function referenceConfig(r: DemoRecipe, out: string): TrainerConfig {
  return parseTrainerConfig({
    command: "pretrain", preset: "tiny", steps: String(r.pretrainSteps), batch: String(r.pretrainBatch), lr: String(r.pretrainLr),
    warmupSteps: String(r.fingerprintAt), fingerprintAt: String(r.fingerprintAt), evalEvery: "0", out, ...common(r),
  } satisfies TrainerConfigInput & Record<string, unknown>);
}

/**
 * The policy's sft config (2), anchored to `reference`.
 * @example await sft(policyConfig(DEMO_RECIPE, "models/demo/reference", "/tmp/policy"))
 */
export function policyConfig(r: DemoRecipe, reference: string, out: string): TrainerConfig {
  return parseTrainerConfig({
    command: "sft", reference, steps: String(r.sftSteps), batch: String(r.sftBatch), lr: String(r.sftLr), beta: String(r.sftBeta), klOn: "replay",
    warmupSteps: String(r.fingerprintAt), fingerprintAt: String(r.fingerprintAt), evalEvery: "0", out, ...common(r),
  } satisfies TrainerConfigInput & Record<string, unknown>);
}

/**
 * Train and export the demo pair; returns the two checkpoint directories.
 * @example await trainDemo({ ...DEMO_RECIPE, out: "/tmp/demo", pretrainSteps: 20, sftSteps: 5, fingerprintAt: 5 })
 */
export async function trainDemo(r: DemoRecipe, log: (line: string) => void = console.error): Promise<{ reference: string; policy: string }> {
  const reference = join(r.out, "reference");
  const policy = join(r.out, "policy");
  for (const dir of [reference, policy]) rmSync(dir, { recursive: true, force: true });

  // 1) reference
  await pretrain(referenceConfig(r, reference), log);
  // 2) policy
  await sft(policyConfig(r, reference, policy), log);
  // 3) export (reference first: the policy takes its sketch spec from reference/sketch.json)
  const cfg = (raw: TrainerConfigInput & Record<string, unknown>) => parseTrainerConfig(raw);
  await exportCheckpoint(cfg({ command: "export", input: reference, onnxVariant: r.onnxVariant, data: r.calibration, ...common(r) }), log);
  await exportCheckpoint(cfg({ command: "export", input: policy, reference, onnxVariant: r.onnxVariant, data: r.calibration, ...common(r) }), log);
  return { reference, policy };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const started = Date.now();
  const dirs = await trainDemo(DEMO_RECIPE);
  await trainDrifted(DRIFTED_RECIPE); // models/demo/drifted (npm run drift:demo), from the reference just made
  console.error(`train:demo: wrote ${dirs.reference} and ${dirs.policy} in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
}
