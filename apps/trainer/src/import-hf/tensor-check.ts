// Checks every shard header against the tensors a Qwen2ForCausalLM with this config.json has, before any
// weight is read: missing, mis-shaped, unexpected or duplicated tensors, unsupported dtypes, and an index
// that disagrees with its shards. All problems are reported at once, on one line.
import type { Dtype, TensorEntry } from "@tether/shared/io/safetensors";
import type { ModelConfig } from "../model/config";
import { parameterSpecs } from "../model/params";
import type { ShardHeader } from "./shard-reader";
import { INDEX_FILE } from "./weight-files";

/** Storage dtypes import-hf converts to float32 (all exactly representable). */
export const READABLE_DTYPES: readonly Dtype[] = ["BF16", "F16", "F32"];

/** Non-parameter buffers older transformers saved (RoPE inverse frequencies, recomputed from rope_theta). */
const IGNORED = /(^|\.)rotary_emb\.inv_freq$/;

/** Names listed in full before "(and N more)". */
const LIST = 5;

export const TIED_HEAD = "lm_head.weight";
export const EMBEDDING = "model.embed_tokens.weight";

export interface TensorCheck {
  /** Tensor name → the shard holding it (ignored buffers excluded). */
  location: Map<string, string>;
  /** Storage dtypes seen, sorted. */
  dtypes: Dtype[];
  /** A tied model that stores lm_head.weight anyway: it must equal the embedding (checked once read). */
  storedTiedHead: boolean;
}

const shape = (s: readonly number[]) => `[${s.join(", ")}]`;

function list(names: string[]): string {
  const more = names.length > LIST ? ` (and ${names.length - LIST} more)` : "";
  return names.slice(0, LIST).join(", ") + more;
}

/**
 * Every problem with the stored tensors as one Error, or where each tensor lives.
 * @example checkTensors(config, headers, weights.weightMap).dtypes // ["BF16"]
 */
export function checkTensors(config: ModelConfig, shards: ShardHeader[], weightMap: Map<string, string> | null): TensorCheck {
  const problems: string[] = [];
  const found = new Map<string, { file: string; entry: TensorEntry }>();
  // 1) where each tensor is, against the index
  for (const shard of shards) {
    for (const [name, entry] of shard.entries) {
      const seen = found.get(name);
      if (seen) problems.push(`${name} is stored twice (${seen.file} and ${shard.file})`);
      found.set(name, { file: shard.file, entry });
      const indexed = weightMap?.get(name);
      if (weightMap && indexed !== shard.file) problems.push(`${shard.file} holds ${name}, but ${INDEX_FILE} ${indexed ? `maps it to ${indexed}` : "does not list it"}`);
    }
  }
  for (const [name, file] of weightMap ?? []) {
    if (!found.has(name)) problems.push(`${INDEX_FILE} maps ${name} to ${file}, which does not contain it`);
  }
  // 2) names and shapes against the architecture
  const specs = parameterSpecs(config);
  const expected = new Map(specs.map((s) => [s.name, s.shape]));
  if (config.tieWordEmbeddings && found.has(TIED_HEAD)) expected.set(TIED_HEAD, [config.vocabSize, config.hiddenSize]);
  const missing = specs.filter((s) => !found.has(s.name));
  if (missing.length === 1 && missing[0]!.name === TIED_HEAD) {
    problems.push(`missing tensor ${TIED_HEAD} ${shape(missing[0]!.shape)} (config.json has tie_word_embeddings false, so the LM head is stored separately)`);
  } else if (missing.length) {
    problems.push(`missing tensor${missing.length > 1 ? "s" : ""} ${list(missing.map((s) => `${s.name} ${shape(s.shape)}`))}`);
  }
  const extra = [...found.keys()].filter((n) => !expected.has(n) && !IGNORED.test(n));
  if (extra.length) problems.push(`unexpected tensor${extra.length > 1 ? "s" : ""} (not in a Qwen2ForCausalLM with this config.json): ${list(extra)}`);
  for (const [name, { file, entry }] of found) {
    const want = expected.get(name);
    if (want && want.join(",") !== entry.shape.join(",")) problems.push(`${file}: ${name} has shape ${shape(entry.shape)}, config.json implies ${shape(want)}`);
    if (want && !READABLE_DTYPES.includes(entry.dtype)) problems.push(`${file}: ${name} has dtype ${entry.dtype}; import-hf reads ${READABLE_DTYPES.join(", ")}`);
  }
  // A wrong hidden_size mis-shapes every tensor: the first few problems say enough.
  if (problems.length) throw new Error(problems.slice(0, 2 * LIST).join("; ") + (problems.length > 2 * LIST ? `; (and ${problems.length - 2 * LIST} more problems)` : ""));
  // 3) where to read each parameter from
  const location = new Map([...found].filter(([n]) => expected.has(n)).map(([n, { file }]) => [n, file]));
  const dtypes = [...new Set([...location.keys()].map((n) => found.get(n)!.entry.dtype))].sort();
  return { location, dtypes, storedTiedHead: config.tieWordEmbeddings && found.has(TIED_HEAD) };
}
