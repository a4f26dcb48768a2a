// Reading a Hugging Face model folder's small files: each failure names the file and what a folder needs.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** What a folder must hold, quoted in "missing file" errors. */
export const REQUIRED_FILES = "config.json, model.safetensors (or model.safetensors.index.json + shards), tokenizer.json, tokenizer_config.json";

/**
 * Throws `<dir>: missing <name> (…)` unless the file exists.
 * @example requireFile("Qwen2.5-0.5B", "config.json")
 */
export function requireFile(dir: string, name: string): string {
  const path = join(dir, name);
  if (!existsSync(path)) throw new Error(`${dir}: missing ${name} (a Hugging Face Qwen2 folder has ${REQUIRED_FILES})`);
  return path;
}

/**
 * A JSON file's parsed contents, or a one-line error naming the file.
 * @example const hf = readJsonFile("Qwen2.5-0.5B", "config.json") as Record<string, unknown>;
 */
export function readJsonFile(dir: string, name: string): unknown {
  const path = requireFile(dir, name);
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** A JSON object, or an error naming the file and what it holds instead. */
export function readJsonObject(dir: string, name: string): Record<string, unknown> {
  const value = readJsonFile(dir, name);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${join(dir, name)}: must be a JSON object (got ${Array.isArray(value) ? "an array" : typeof value})`);
  }
  return value as Record<string, unknown>;
}
