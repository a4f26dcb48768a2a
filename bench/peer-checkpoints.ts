// The decode-peer checkpoints, shared by bench/decode-peer.ts and bench/decode-profile.ts: one preset's shape with
// seeded random weights (speed does not depend on their values) and the character tokenizer, exported twice:
// `auto` (the variant the export chooses, which our engine serves, plus onnx/model_int8.onnx) and `standard`
// (what transformers.js is given, as the SPEC promises). transformers.js then reads a temp copy of the standard
// folder, offline, pinned to `threads` intra-op threads.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AutoModelForCausalLM, env, type PreTrainedModel } from "@huggingface/transformers";
import { parseTrainerConfig } from "@tether/shared/schemas/trainer-config";
import { exportCheckpoint } from "../apps/trainer/src/commands/export";
import { randomModel, writeTinyCheckpoint } from "../test/support/checkpoint-fixtures";
import { PRESETS, validateModelConfig } from "../apps/trainer/src/model/config";
import { disposeParams } from "../apps/trainer/src/model/params";

export type Preset = keyof typeof PRESETS;

/** Writes `<root>/<preset>-auto` and `<root>/<preset>-standard` (the trainer's tfjs backend must be initialised). */
export async function writePeerCheckpoints(preset: Preset, root: string): Promise<{ auto: string; standard: string }> {
  const config = validateModelConfig({ ...PRESETS[preset], vocabSize: 100, bosTokenId: 0, eosTokenId: 0 });
  const { params } = randomModel(config, 3);
  const dirs = { auto: join(root, `${preset}-auto`), standard: join(root, `${preset}-standard`) };
  try {
    for (const [variant, dir] of Object.entries(dirs)) {
      writeTinyCheckpoint(dir, config, params);
      await exportCheckpoint(parseTrainerConfig({ command: "export", input: dir, onnxVariant: variant as "auto" | "standard", quantize: variant === "auto" ? "int8" : "none" }), () => {});
    }
  } finally {
    disposeParams(params);
  }
  return dirs;
}

/** transformers.js on a temp copy of `standardDir`; `close()` disposes it and removes the copy. */
export async function loadPeer(standardDir: string, preset: Preset, threads: number): Promise<{ peer: PreTrainedModel; close: () => Promise<void> }> {
  const peerRoot = mkdtempSync(join(tmpdir(), "tether-peer-"));
  cpSync(standardDir, join(peerRoot, preset), { recursive: true });
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = peerRoot;
  const peer = await AutoModelForCausalLM.from_pretrained(preset, { dtype: "fp32", session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 } });
  return {
    peer,
    close: async () => {
      await peer.dispose();
      rmSync(peerRoot, { recursive: true, force: true });
    },
  };
}
