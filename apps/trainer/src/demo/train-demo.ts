// `npm run train:demo`: the demo checkpoint pair that `npm start` serves (models/demo/{reference,policy}),
// made from a seed (~1 h of one core with models/demo/drifted: 13 min pretrain, 45 min sft at load 2–4 on 2
// cores), so the committed files can be reproduced and checked.
//
// 1) reference: pretrain the `demo` preset (d = 128, 3 layers, ~0.6M parameters) on the bundled arithmetic corpus
//    (addition/subtraction); 2,000 steps of 128 problems reach 98% on 100 held-out problems. (The tiny preset
//    needed 4,000 × 128 for 98.9%; d = 128 with 2 layers reached 100% in 3,000.)
// 2) policy: sft on one-digit multiplication with exact KL to the reference on a replay batch of the base
//    corpus, β = 0.5, 8,000 steps of 64 at 3e-3. Its training products have left operands of 1–3 digits, a third
//    each (--task-max-left 999 --task-left-digits balanced), 50,000 of them drawn (--task-examples: 7,112 distinct
//    3-digit problems instead of the default 10,000's 2,703, so less to memorise); the held-out split it is scored
//    on stays 0–99 × one digit, and none of those prompts is in training (the split is by hash of the prompt). On the
//    0–99 products alone every model tried memorised the ~900 training problems (99.9% right) and generalised to
//    about half the held-out ones; trials, seed 1, held-out multiplication accuracy (retention ≥ 0.98 at the end in all):
//      2,000 steps: tiny, 0–99 (the previous demo)                          51%
//                   tiny, 0–999 (2/3) + 0–99 (1/3)                          40%
//                   tiny, 0–99, weight decay 1                              27% (retention 0.91)
//                   d = 128 × 2 layers, 0–99                                49%
//                   d = 128 × 2 layers, 0–999 (2/3) + 0–99 (1/3)            56%
//                   `demo`, 1–3 digits balanced, 10,000 drawn               66% (37%, 56% at 1,000, 1,500)
//      8,000 steps: `demo`, 1–3 digits balanced, 10,000 drawn               51%, 64%, 68%, 78%, 72% at 2,000, 3,000,
//                                                                           4,000, 4,500, 5,500 (stopped at 5,700)
//                   `demo`, 1–3 digits balanced, 50,000 drawn (this one)    46%, 60%, 66%, 70%, 72%, 81%, 79%, 79%, 84%,
//                                                                           80%, 80%, 86%, 85% every 500 from 2,000 to 8,000
//    Issue #13's 90% is not reached; docs/limits.md lists what was not tried.
//    The held-out curve is logged every sftEvalEvery steps in the policy's metrics.jsonl. β = 0.5 rather than
//    docs/sweep-tiny's 0.1: at lr 3e-3 β = 0.1 let the tiny policy's retention dip to 56–90% over the first 750
//    steps in a trial run; here retention dips to 0.73 in the first 500 steps and is back to 1.0 by 3,000.
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
  /** Model shape of both checkpoints (--preset). */
  preset: string;
  pretrainSteps: number;
  pretrainBatch: number;
  /** Peak learning rate of the reference's warmup + cosine schedule. */
  pretrainLr: number;
  sftSteps: number;
  sftBatch: number;
  sftLr: number;
  /** KL weight of the policy's replay anchor. */
  sftBeta: number;
  /** Steps between the policy's held-out evaluations in metrics.jsonl (the learning curve; evaluation draws nothing from the training streams, so the weights do not depend on it). */
  sftEvalEvery: number;
  /** The policy's training products (--task-max-left, --task-left-digits); its held-out evaluation stays 0–99 × one digit. */
  sftTaskMaxLeft: number;
  sftTaskLeftDigits: "uniform" | "balanced";
  /** How many training products the policy's pool draws (--task-examples; the first 10,000 are the default pool). */
  sftTaskExamples: number;
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
  preset: "demo",
  pretrainSteps: 2000,
  pretrainBatch: 128,
  pretrainLr: 3e-3,
  sftSteps: 8000,
  sftBatch: 64,
  sftLr: 3e-3,
  sftBeta: 0.5,
  sftEvalEvery: 500,
  sftTaskMaxLeft: 999,
  sftTaskLeftDigits: "balanced",
  sftTaskExamples: 50_000,
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
    command: "pretrain", preset: r.preset, steps: String(r.pretrainSteps), batch: String(r.pretrainBatch), lr: String(r.pretrainLr),
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
    taskMaxLeft: String(r.sftTaskMaxLeft), taskLeftDigits: r.sftTaskLeftDigits, taskExamples: String(r.sftTaskExamples),
    warmupSteps: String(r.fingerprintAt), fingerprintAt: String(r.fingerprintAt), evalEvery: String(r.sftEvalEvery), out, ...common(r),
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
