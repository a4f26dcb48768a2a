// A local Hugging Face Qwen2 folder → float32 weights under Hugging Face names, the tokenizer files and
// where they came from; the `import-hf` command turns this into a reference checkpoint.
//
// 1) config.json → ModelConfig (unsupported architectures and settings refused by name)
// 2) tokenizer files (loadable, ids within vocab_size)
// 3) every shard's header checked against the architecture before any weight is read
// 4) shards streamed one at a time, each tensor widened to float32 as it is read, each file hashed
// 5) a tied model's stored lm_head.weight must equal the embedding; it is then dropped
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { toFloat32, type Dtype } from "@tether/shared/io/safetensors";
import type { ModelConfig } from "../model/config";
import { countParams } from "../model/params";

/** Largest float32 model.safetensors this build reads (Node's readFileSync limit, 2 GiB − 1). */
export const MAX_CHECKPOINT_BYTES = 2 ** 31 - 1;
import { readModelConfig } from "./model-config";
import { readShardHeader, streamShard } from "./shard-reader";
import { EMBEDDING, TIED_HEAD, checkTensors } from "./tensor-check";
import { readTokenizerFiles } from "./tokenizer-files";
import { INDEX_FILE, locateWeights } from "./weight-files";

/** Where an import came from, recorded in the manifest's training lineage. */
export interface ImportSource {
  /** The folder's name (e.g. "Qwen2.5-0.5B-Instruct"). */
  name: string;
  /** Storage dtypes of the weights, e.g. ["BF16"]. */
  dtypes: Dtype[];
  /** sha256 of each safetensors file read (the index too, when sharded). */
  files: Record<string, string>;
}

export interface ImportedModel {
  config: ModelConfig;
  /** float32 values by Hugging Face name, one per parameterSpecs entry (a tied head stored once). */
  weights: Map<string, Float32Array>;
  /** tokenizer.json, tokenizer_config.json and, if present, generation_config.json. */
  files: Record<string, string | Uint8Array>;
  source: ImportSource;
}

/**
 * Reads and checks a Hugging Face Qwen2 folder; throws one line naming the file and tensor at fault.
 * @example const { config, weights } = importHfFolder("downloads/Qwen2.5-0.5B-Instruct", console.error);
 */
export function importHfFolder(dir: string, log: (line: string) => void = () => {}): ImportedModel {
  const config = readModelConfig(dir);
  // Checkpoints are one float32 model.safetensors read whole (readFileSync stops at 2 GiB): refuse before
  // converting gigabytes of shards rather than after.
  const bytes = countParams(config) * 4;
  if (bytes > MAX_CHECKPOINT_BYTES) {
    throw new Error(`${join(dir, "config.json")}: ${(countParams(config) / 1e9).toFixed(2)}B parameters need ${(bytes / 2 ** 30).toFixed(1)} GiB as float32; this build handles checkpoints up to 2 GiB (about 0.5B parameters, e.g. Qwen2.5-0.5B)`);
  }
  const files = readTokenizerFiles(dir, config, log);
  const { shards, weightMap } = locateWeights(dir);
  const headers = shards.map((file) => readShardHeader(dir, file));
  const check = checkTensors(config, headers, weightMap);

  const weights = new Map<string, Float32Array>();
  let storedHead: Float32Array | null = null;
  const hashes: Record<string, string> = {};
  if (weightMap) hashes[INDEX_FILE] = createHash("sha256").update(readFileSync(join(dir, INDEX_FILE))).digest("hex");
  for (const header of headers) {
    hashes[header.file] = streamShard(header, (name, entry, bytes) => {
      if (check.location.get(name) !== header.file) return; // an ignored buffer (rotary inv_freq)
      const values = toFloat32({ dtype: entry.dtype, shape: entry.shape, bytes });
      if (name === TIED_HEAD && config.tieWordEmbeddings) storedHead = values;
      else weights.set(name, values);
    });
    log(`tether-train: read ${header.file} (${(header.size / 2 ** 20).toFixed(1)} MiB)`);
  }
  if (storedHead) checkTiedHead(storedHead, weights.get(EMBEDDING)!);
  const source = { name: basename(resolve(dir)), dtypes: check.dtypes, files: hashes };
  return { config, weights, files, source };
}

// HF sometimes saves a tied head anyway; a copy is harmless, a different matrix means the config is wrong.
function checkTiedHead(head: Float32Array, embedding: Float32Array): void {
  let differing = 0;
  let maxDiff = 0;
  for (let i = 0; i < head.length; i++) {
    if (head[i] !== embedding[i]) {
      differing++;
      maxDiff = Math.max(maxDiff, Math.abs(head[i]! - embedding[i]!));
    }
  }
  if (differing > 0) {
    throw new Error(
      `${TIED_HEAD} differs from ${EMBEDDING} in ${differing} of ${head.length} values (max |Δ| ${maxDiff.toPrecision(3)}), ` +
        "but config.json says tie_word_embeddings: true; fix the config (false) or drop the stored head",
    );
  }
}
