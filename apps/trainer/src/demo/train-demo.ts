// `npm run train:demo`: the demo checkpoint pair that `npm start` serves (models/demo/{reference,policy}),
// made from a seed in a few minutes on 2 cores, so the committed files can be reproduced and checked.
//
// 1) reference: pretrain the tiny preset on the bundled arithmetic corpus (addition/subtraction)
// 2) policy: sft on one-digit multiplication with exact KL to the reference on a replay batch of the base
//    corpus (β = 0.1: docs/sweep-tiny found this keeps ~99% of the base task while the new task is learnt)
// 3) export both to ONNX with sketch outputs; the policy reuses the reference's sketch spec, so the gateway
//    scores the policy's activations against the reference's calibration statistics
//
// Same seed, same backend → the same model.safetensors bytes (checked by demo.test.ts at a reduced size).
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseTrainerConfig, type TrainerConfigInput } from "@tether/shared/schemas/trainer-config";
import { exportCheckpoint } from "../commands/export";
import { pretrain } from "../commands/pretrain";
import { sft } from "../commands/sft";
import { DRIFTED_RECIPE, trainDrifted } from "./train-drifted";

export interface DemoRecipe {
  /** Output folder holding reference/ and policy/. */
  out: string;
  seed: number;
  pretrainSteps: number;
  sftSteps: number;
  /** Held-out requests in each eval.json (the multiplication held-out split has 104 problems). */
  evalSamples: number;
  /** Graph variant for both checkpoints: pinned (same export on every machine) to the portable one, since fused graphs give wrong logits for left-padded batches in other runners (transformers.js batch generate). */
  onnxVariant: "standard" | "fused";
}

/** The committed demo pair was made with exactly these values. */
export const DEMO_RECIPE: DemoRecipe = { out: "models/demo", seed: 1, pretrainSteps: 2000, sftSteps: 200, evalSamples: 100, onnxVariant: "standard" };

/**
 * Train and export the demo pair; returns the two checkpoint directories.
 * @example await trainDemo({ ...DEMO_RECIPE, out: "/tmp/demo", pretrainSteps: 20, sftSteps: 5 })
 */
export async function trainDemo(r: DemoRecipe, log: (line: string) => void = console.error): Promise<{ reference: string; policy: string }> {
  const reference = join(r.out, "reference");
  const policy = join(r.out, "policy");
  for (const dir of [reference, policy]) rmSync(dir, { recursive: true, force: true });
  const cfg = (raw: TrainerConfigInput & Record<string, unknown>) => parseTrainerConfig(raw);
  const common = { seed: String(r.seed), backend: "wasm", evalSamples: String(r.evalSamples) } as const;

  // 1) reference
  await pretrain(cfg({ command: "pretrain", preset: "tiny", steps: String(r.pretrainSteps), batch: "64", lr: "3e-3", evalEvery: "0", out: reference, ...common }), log);
  // 2) policy
  await sft(cfg({ command: "sft", reference, steps: String(r.sftSteps), batch: "32", lr: "1e-3", beta: "0.1", klOn: "replay", evalEvery: "0", out: policy, ...common }), log);
  // 3) export (reference first: the policy takes its sketch spec from reference/sketch.json)
  await exportCheckpoint(cfg({ command: "export", input: reference, onnxVariant: r.onnxVariant, ...common }), log);
  await exportCheckpoint(cfg({ command: "export", input: policy, reference, onnxVariant: r.onnxVariant, ...common }), log);
  return { reference, policy };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const started = Date.now();
  const dirs = await trainDemo(DEMO_RECIPE);
  await trainDrifted(DRIFTED_RECIPE); // models/demo/drifted (npm run drift:demo), from the reference just made
  console.error(`train:demo: wrote ${dirs.reference} and ${dirs.policy} in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
}
