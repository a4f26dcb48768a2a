// Test-only: a real exported checkpoint for the engine tests, made by the trainer itself (random seeded
// weights, the bundled character tokenizer, `tether-train export`), plus the trainer's independent
// computations to check the engine against. Imports TensorFlow.js through apps/trainer: never import this
// from gateway runtime code.
import { parseTrainerConfig } from "@tether/shared/schemas/trainer-config";
import { initBackend } from "../apps/trainer/src/backend";
import { exportCheckpoint } from "../apps/trainer/src/commands/export";
import { randomModel, tfjsForward, tinyConfig, writeTinyCheckpoint } from "./support/checkpoint-fixtures";
import type { ModelConfig } from "../apps/trainer/src/model/config";
import { disposeParams, type Params } from "../apps/trainer/src/model/params";
import type { DecoderWeights } from "../apps/trainer/src/export/decoder-io";
import type { Tokenizer as TrainerTokenizer } from "../apps/trainer/src/tokenizer/tokenizer";

export interface TestCheckpoint {
  dir: string;
  config: ModelConfig;
  /** tfjs variables (trainer forward / generate) and the same values as arrays (float64 reference forward). */
  params: Params;
  weights: DecoderWeights;
  /** The trainer's tokenizer of the same files. */
  tok: TrainerTokenizer;
  dispose(): void;
}

/**
 * The tiny preset (d = 64, 2 layers, 4 query / 2 KV heads, vocab 100) with seeded random weights large enough
 * that every term of the forward pass moves the logits, exported as `variant` into `dir`.
 * @example const ckpt = await makeTestCheckpoint(join(tmp, "std"), "standard", 21);
 */
export async function makeTestCheckpoint(dir: string, variant: "standard" | "fused", seed: number, config: ModelConfig = tinyConfig()): Promise<TestCheckpoint> {
  await initBackend();
  const { params, weights } = randomModel(config, seed);
  const { tok } = writeTinyCheckpoint(dir, config, params);
  await exportCheckpoint(parseTrainerConfig({ command: "export", input: dir, onnxVariant: variant }), () => {});
  return { dir, config, params, weights, tok, dispose: () => disposeParams(params) };
}

/** Residual stream after each of l = 0 … L blocks for one unpadded sequence, each [T, d] (tfjs forward). */
export function hiddenStates(ckpt: TestCheckpoint, ids: readonly number[]): Float32Array[] {
  const row = [...ids];
  return tfjsForward(ckpt.params, ckpt.config, [row], [row.map(() => 1)], [row.map((_, t) => t)], true).hidden;
}
