// Which safetensors files hold a folder's weights: model.safetensors, else the shards named by
// model.safetensors.index.json (transformers' order of preference), each checked to exist up front.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readJsonObject } from "./folder";

export const SINGLE_FILE = "model.safetensors";
export const INDEX_FILE = "model.safetensors.index.json";

/** Weight formats import-hf does not read, named when they are all a folder has. */
const OTHER_FORMATS = ["pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5", "flax_model.msgpack", "model.gguf"];

export interface WeightFiles {
  /** Safetensors files in read order (shards sorted by name). */
  shards: string[];
  /** Tensor name → shard, from the index; null for a single model.safetensors. */
  weightMap: Map<string, string> | null;
}

/**
 * Locates the weight files of `dir`; throws naming what is missing.
 * @example locateWeights("Qwen2.5-7B").shards // ["model-00001-of-00004.safetensors", …]
 */
export function locateWeights(dir: string): WeightFiles {
  if (existsSync(join(dir, SINGLE_FILE))) return { shards: [SINGLE_FILE], weightMap: null };
  if (!existsSync(join(dir, INDEX_FILE))) {
    const other = OTHER_FORMATS.filter((f) => existsSync(join(dir, f)));
    const hint = other.length ? ` (found ${other.join(", ")}: import-hf reads safetensors only; re-save with save_pretrained(safe_serialization=True))` : "";
    throw new Error(`${dir}: missing ${SINGLE_FILE} or ${INDEX_FILE}${hint}`);
  }
  const index = readJsonObject(dir, INDEX_FILE);
  const raw = index.weight_map;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error(`${join(dir, INDEX_FILE)}: weight_map must be an object {tensor name: shard file}`);
  const weightMap = new Map<string, string>();
  for (const [name, file] of Object.entries(raw)) {
    // A shard is a plain file name: the index must not point outside the folder.
    if (typeof file !== "string" || !/^[^/\\]+\.safetensors$/.test(file) || file.startsWith(".")) {
      throw new Error(`${join(dir, INDEX_FILE)}: weight_map["${name}"] must be a .safetensors file name in the folder (got ${JSON.stringify(file)})`);
    }
    weightMap.set(name, file);
  }
  const shards = [...new Set(weightMap.values())].sort();
  if (shards.length === 0) throw new Error(`${join(dir, INDEX_FILE)}: weight_map is empty`);
  const absent = shards.filter((f) => !existsSync(join(dir, f)));
  if (absent.length) {
    throw new Error(`${INDEX_FILE} names shard${absent.length > 1 ? "s" : ""} ${absent.join(", ")}, not found in ${dir}`);
  }
  return { shards, weightMap };
}
