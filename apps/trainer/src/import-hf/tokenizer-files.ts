// The tokenizer files an imported checkpoint carries: tokenizer.json byte for byte (a policy must match
// its reference's byte for byte), tokenizer_config.json with its chat template, generation_config.json.
// The tokenizer must load in Tether's loader and fit the embedding: its ids may stop short of
// config.json's vocab_size (Qwen pads the embedding to a multiple of 128) but never exceed it.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ModelConfig } from "../model/config";
import { readTokenizerDir } from "../tokenizer/tokenizer";
import { readJsonObject, requireFile } from "./folder";

/** Newer transformers save the chat template beside tokenizer_config.json instead of inside it. */
const JINJA_TEMPLATE = "chat_template.jinja";

/**
 * File name → contents for saveCheckpoint; throws naming the file that is missing or does not fit.
 * @example readTokenizerFiles("Qwen2.5-0.5B", config, console.error)["tokenizer.json"]
 */
export function readTokenizerFiles(dir: string, config: ModelConfig, log: (line: string) => void): Record<string, string | Uint8Array> {
  const tokenizerPath = requireFile(dir, "tokenizer.json");
  requireFile(dir, "tokenizer_config.json");
  // 1) it loads, and its ids index rows of the embedding
  let vocabSize: number;
  try {
    vocabSize = readTokenizerDir(dir).vocabSize;
  } catch (e) {
    throw new Error(`${tokenizerPath}: Tether's tokenizer cannot load it (${(e as Error).message})`);
  }
  if (vocabSize > config.vocabSize) {
    throw new Error(`${tokenizerPath}: token ids go up to ${vocabSize - 1}, but config.json vocab_size is ${config.vocabSize} (embedding rows)`);
  }
  // 2) the chat template, folded into tokenizer_config.json when it lives in chat_template.jinja
  const tokenizerConfig = readJsonObject(dir, "tokenizer_config.json");
  let configText = readFileSync(join(dir, "tokenizer_config.json"), "utf8");
  if (tokenizerConfig.chat_template === undefined && existsSync(join(dir, JINJA_TEMPLATE))) {
    tokenizerConfig.chat_template = readFileSync(join(dir, JINJA_TEMPLATE), "utf8");
    configText = `${JSON.stringify(tokenizerConfig, null, 2)}\n`;
  }
  if (tokenizerConfig.chat_template === undefined) {
    log(`tether-train: warning: ${dir} has no chat template (tokenizer_config.json chat_template); the checkpoint will serve /v1/completions only`);
  }
  const files: Record<string, string | Uint8Array> = {
    "tokenizer.json": new Uint8Array(readFileSync(tokenizerPath)),
    "tokenizer_config.json": configText,
  };
  // 3) generation defaults (stop ids, sampling) when the folder has them
  if (existsSync(join(dir, "generation_config.json"))) {
    readJsonObject(dir, "generation_config.json");
    files["generation_config.json"] = readFileSync(join(dir, "generation_config.json"), "utf8");
  }
  return files;
}
