// models/demo/drifted: a deliberately over-tuned policy for `npm run drift:demo` — sft on one-digit
// multiplication from the demo reference with β = 0 (no KL anchor at all) at 3.3× the demo policy's learning
// rate. It forgets the base task the reference is confident on (retention 0 vs the demo policy's 0.99), so on
// arithmetic traffic its per-request KL to the reference lands above the demo policy's eval.json budget and
// the gateway's drift alerts fire on it. (On the held-out multiplication split, where the reference never
// learnt `*`, it drifts no further than the demo policy, which learnt `*` too: the reference's own uncertainty
// bounds KL(π‖ref) ≈ −log ref(y) for a confident π; the eval.json means are 7.03 and 7.53 nats/token.)
//
// 1) sft from models/demo/reference, β = 0 (the KL is still measured and logged, never penalised)
// 2) export to ONNX with the reference's sketch spec, like the demo policy, so the gateway serves it
//    against the same reference and scores its activations on the same calibration
import { rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseTrainerConfig, type TrainerConfigInput } from "@tether/shared/schemas/trainer-config";
import { exportCheckpoint } from "../commands/export";
import { sft } from "../commands/sft";
import type { DemoRecipe } from "./train-demo";

export interface DriftedRecipe extends Pick<DemoRecipe, "out" | "seed" | "evalSamples" | "onnxVariant" | "calibration"> {
  steps: number;
  /** Peak learning rate; the demo policy uses 3e-3. */
  lr: number;
}

/**
 * The committed models/demo/drifted was made with exactly these values (reference: models/demo/reference).
 * out, seed, evalSamples, onnxVariant and calibration are DEMO_RECIPE's, written out because train-demo.ts imports this
 * module (a value import back would be read before train-demo.ts has initialised it).
 */
export const DRIFTED_RECIPE: DriftedRecipe = { out: "models/demo", seed: 1, evalSamples: 100, onnxVariant: "standard", calibration: "bundled:arithmetic/train,multiplication/train", steps: 1500, lr: 1e-2 };

/**
 * Train and export `<out>/drifted` from the existing `<out>/reference`; returns the checkpoint directory.
 * @example await trainDrifted({ ...DRIFTED_RECIPE, out: "/tmp/demo", steps: 5 })
 */
export async function trainDrifted(r: DriftedRecipe, log: (line: string) => void = console.error): Promise<string> {
  const reference = join(r.out, "reference");
  const drifted = join(r.out, "drifted");
  rmSync(drifted, { recursive: true, force: true });
  const cfg = (raw: TrainerConfigInput & Record<string, unknown>) => parseTrainerConfig(raw);
  const common = { seed: String(r.seed), backend: "wasm", evalSamples: String(r.evalSamples) } as const;
  // 1) β = 0 on the task batch: nothing pulls the policy back towards the reference
  await sft(cfg({ command: "sft", reference, steps: String(r.steps), batch: "32", lr: String(r.lr), beta: "0", klOn: "task", evalEvery: "0", out: drifted, ...common }), log);
  // 2) export with the reference's sketch spec
  await exportCheckpoint(cfg({ command: "export", input: drifted, reference, onnxVariant: r.onnxVariant, data: r.calibration, ...common }), log);
  return drifted;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const started = Date.now();
  const dir = await trainDrifted(DRIFTED_RECIPE);
  console.error(`train:drifted: wrote ${dir} in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
}
