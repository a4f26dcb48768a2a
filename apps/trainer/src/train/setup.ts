// What every training command does first: backend, tokenizer, model shape, optimiser scales.
import { readFileSync } from "node:fs";
import { freezeScales } from "@tether/shared/schemas/freeze-spec";
import type { TrainerConfig } from "@tether/shared/schemas/trainer-config";
import { initBackend, type BackendName } from "../backend";
import { PRESETS, fromHfConfig, validateModelConfig, type ModelConfig } from "../model/config";
import { parameterSpecs } from "../model/params";
import type { Tokenizer } from "../tokenizer/tokenizer";
import type { AdamOptions } from "./optimizer";

const BACKENDS: Record<TrainerConfig["backend"], BackendName | undefined> = {
  auto: undefined,
  "node-gpu": "tensorflow-gpu",
  node: "tensorflow",
  wasm: "wasm",
  cpu: "cpu",
};

/** Initialise the configured backend and print which one runs (SPEC: the chosen one is printed). */
export async function setupBackend(cfg: TrainerConfig, log: (line: string) => void): Promise<BackendName> {
  const name = await initBackend(BACKENDS[cfg.backend]);
  log(`tether-train: backend ${name}`);
  return name;
}

/**
 * Model config from --preset: "tiny", "demo", "small" or a Hugging Face Qwen2 config.json; the vocabulary comes
 * from the tokenizer (a config.json's vocab_size must cover it).
 * @example modelConfigFor("tiny", tok).hiddenSize // 64
 */
export function modelConfigFor(preset: string, tok: Tokenizer): ModelConfig {
  if (Object.hasOwn(PRESETS, preset)) {
    return validateModelConfig({ ...PRESETS[preset as keyof typeof PRESETS], vocabSize: tok.vocabSize, bosTokenId: tok.eosId, eosTokenId: tok.eosId });
  }
  let hf: Record<string, unknown>;
  try {
    hf = JSON.parse(readFileSync(preset, "utf8"));
  } catch (e) {
    throw new Error(`--preset: "${preset}" is not ${Object.keys(PRESETS).join(", ")} or a readable config.json (${(e as Error).message})`);
  }
  const c = fromHfConfig(hf);
  if (c.vocabSize < tok.vocabSize) throw new Error(`--preset: vocab_size ${c.vocabSize} is smaller than the tokenizer's ${tok.vocabSize}`);
  return c;
}

/**
 * Per-parameter update scales from --freeze: block l's tensors get α_l; the embedding, final norm and an
 * untied head follow "*" (the `rest` scale).
 */
export function updateScales(cfg: TrainerConfig, c: ModelConfig): Map<string, number> {
  const perLayer = freezeScales(cfg.freeze, c.numLayers);
  return new Map(parameterSpecs(c).map((s) => [s.name, s.layer >= 0 ? perLayer[s.layer]! : cfg.freeze.rest]));
}

export function adamOptions(cfg: TrainerConfig): AdamOptions {
  return { beta1: cfg.adamBeta1, beta2: cfg.adamBeta2, eps: 1e-8, weightDecay: cfg.weightDecay, clipNorm: cfg.gradClip };
}
