// A checkpoint read for serving (SPEC "Checkpoint directory"): manifest hashes verified, then every file the
// engine and the gateway need parsed with the shared schemas. Each error is one line naming the file and the
// problem, e.g. "models/x/onnx/model.onnx: not found — run `npm run train -- export models/x`". Runtime-free:
// the files come through a CheckpointReader (a directory in Node, bundled files or R2 objects in the Worker).
//
// 1) manifest.json present; onnx/model.onnx present (the checkpoint was exported)
// 2) every file's size and sha256 against manifest.json (the reader, through @tether/checkpoint's checks)
// 3) config.json (hf-config), generation_config.json (stop ids), tokenizer.json + tokenizer_config.json
// 4) optional side files: eval.json (drift-guard defaults), sketch.json (drift scores), onnx/export.json (variant)
import type { z } from "zod";
import { issueLines } from "@tether/shared/schemas/common";
import { evalReport as evalReportSchema, type EvalReport } from "@tether/shared/schemas/eval";
import { hfQwen2Config, qwen2HeadDim, type HfQwen2Config } from "@tether/shared/schemas/hf-config";
import type { Manifest } from "@tether/shared/schemas/manifest";
import { SketchJsonError } from "@tether/shared/schemas/sketch";
import { SketchReference } from "@tether/shared/sketch/reference";
import type { CheckpointReader } from "./checkpoint-reader";
import type { ModelInfo } from "./engine";

/** Which graph onnx/export.json says was written (trainer export/decoder.ts). */
export type OnnxVariant = "standard" | "fused";

/** Which weights to serve: onnx/model.onnx (fp32) or onnx/model_int8.onnx / model_int4.onnx (`export --quantize int8|int4`). */
export type OnnxWeights = "fp32" | "int8" | "int4";
const ONNX_FILES: Record<OnnxWeights, string> = { fp32: "model.onnx", int8: "model_int8.onnx", int4: "model_int4.onnx" };

/** Everything the serving side reads from a checkpoint directory. */
export interface ServingCheckpoint {
  dir: string; // CheckpointReader.location: a directory, or where the Worker found the files
  manifest: Manifest;
  config: HfQwen2Config;
  /** Per-head width (config head_dim, else hidden_size / heads). */
  headDim: number;
  /** Ids that end a sequence: generation_config.json eos_token_id (one or a list), else config.json's. */
  eosTokenIds: number[];
  /** tokenizer.json and tokenizer_config.json as parsed JSON ({} when tokenizer_config.json is absent). */
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  chatTemplate: string | null;
  bosToken: string | null;
  eosToken: string | null;
  /** eval.json, null when absent (a reference, or a policy not yet evaluated). */
  evalReport: EvalReport | null;
  /** sketch.json, null when absent. */
  sketch: SketchReference | null;
  /** onnx/model.onnx (or model_int8.onnx) and the variant from onnx/export.json ("standard" when export.json is absent). */
  onnx: { path: string; variant: OnnxVariant; weights: OnnxWeights };
}

/**
 * Verify and read a checkpoint; throws an Error with one line naming the file and the problem.
 * @example const ckpt = await loadServingCheckpoint(new NodeCheckpointReader("models/demo/policy")); ckpt.onnx.variant // "fused"
 */
export async function loadServingCheckpoint(reader: CheckpointReader, weights: OnnxWeights = "fp32"): Promise<ServingCheckpoint> {
  const dir = reader.location;
  // 1) the two files without which nothing else is worth checking
  if (!(await reader.exists("manifest.json"))) throw new Error(`${reader.where("manifest.json")}: not found (is ${dir} a checkpoint directory?)`);
  const file = ONNX_FILES[weights];
  if (file === undefined) throw new RangeError(`onnx weights must be "fp32", "int8" or "int4" (got ${JSON.stringify(weights)})`);
  const onnxPath = reader.where(`onnx/${file}`);
  const exportCommand = `npm run train -- export ${dir}${weights === "fp32" ? "" : ` --quantize ${weights}`}`;
  if (!(await reader.exists(`onnx/${file}`))) throw new Error(`${onnxPath}: not found — the checkpoint has no ${weights === "fp32" ? "" : `${weights} `}ONNX decoder yet; run \`${exportCommand}\``);
  // 2) integrity
  const manifest = await reader.verify();
  if (!(`onnx/${file}` in manifest.files)) throw new Error(`${reader.where("manifest.json")}: does not list onnx/${file}; re-run \`${exportCommand}\``);
  // 3) model, stop ids, tokenizer
  const config = parseWith(reader, "config.json", hfQwen2Config, await readJson(reader, "config.json", true));
  const generation = (await readJson(reader, "generation_config.json", false)) as { eos_token_id?: unknown } | null;
  const eosTokenIds = stopIds(reader, generation?.eos_token_id ?? config.eos_token_id, config.vocab_size);
  const tokenizerJson = (await readJson(reader, "tokenizer.json", true)) as Record<string, unknown>;
  const tokenizerConfig = ((await readJson(reader, "tokenizer_config.json", false)) ?? {}) as Record<string, unknown>;
  // 4) side files
  const evalJson = await readJson(reader, "eval.json", false);
  const sketchJson = await readJson(reader, "sketch.json", false);
  const exportJson = (await readJson(reader, "onnx/export.json", false)) as { variant?: unknown } | null;
  const variant = exportJson?.variant ?? "standard";
  if (variant !== "standard" && variant !== "fused") throw new Error(`${reader.where("onnx/export.json")}: variant must be "standard" or "fused" (got ${JSON.stringify(variant)})`);
  return {
    dir,
    manifest,
    config,
    headDim: qwen2HeadDim(config),
    eosTokenIds,
    tokenizerJson,
    tokenizerConfig,
    chatTemplate: chatTemplate(reader, tokenizerConfig.chat_template),
    bosToken: tokenText(tokenizerConfig.bos_token),
    eosToken: tokenText(tokenizerConfig.eos_token),
    evalReport: evalJson === null ? null : parseWith(reader, "eval.json", evalReportSchema, evalJson),
    sketch: sketchJson === null ? null : sketchReference(reader, sketchJson),
    onnx: { path: onnxPath, variant, weights },
  };
}

/**
 * The gateway's view of a loaded checkpoint, with the sketch layers the graph emits.
 * @example modelInfo(ckpt, [1, 2]).contextWindow // config.json max_position_embeddings
 */
export function modelInfo(ckpt: ServingCheckpoint, sketchLayers: readonly number[]): ModelInfo {
  return {
    id: ckpt.manifest.id,
    contextWindow: ckpt.config.max_position_embeddings,
    vocabSize: ckpt.config.vocab_size,
    eosTokenIds: ckpt.eosTokenIds,
    chatTemplate: ckpt.chatTemplate,
    bosToken: ckpt.bosToken,
    eosToken: ckpt.eosToken,
    sketchLayers,
  };
}

async function readJson(reader: CheckpointReader, name: string, required: boolean): Promise<unknown> {
  const path = reader.where(name);
  let bytes: Uint8Array | null;
  try {
    bytes = await reader.read(name);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  if (bytes === null) {
    if (!required) return null;
    throw new Error(`${path}: not found`);
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

function parseWith<S extends z.ZodType>(reader: CheckpointReader, name: string, schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`${reader.where(name)}: ${issueLines(parsed.error).join("; ")}`);
  return parsed.data;
}

function stopIds(reader: CheckpointReader, value: unknown, vocabSize: number): number[] {
  const ids = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
  const bad = ids.find((id) => !(Number.isInteger(id) && id >= 0 && id < vocabSize));
  if (bad !== undefined) throw new Error(`${reader.where("generation_config.json")}: eos_token_id must be token ids in [0, ${vocabSize - 1}] (got ${JSON.stringify(bad)})`);
  if (ids.length === 0) throw new Error(`${reader.where("generation_config.json")}: eos_token_id is required (here or in config.json): the gateway must know where a sequence ends`);
  return [...new Set(ids as number[])];
}

// tokenizer_config.json chat_template: one template, or a list of named ones (transformers picks "default").
function chatTemplate(reader: CheckpointReader, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const named = value as { name?: unknown; template?: unknown }[];
    const pick = named.find((t) => t.name === "default") ?? named[0];
    if (typeof pick?.template === "string") return pick.template;
  }
  throw new Error(`${reader.where("tokenizer_config.json")}: chat_template must be a string or a list of { name, template } (got ${typeof value})`);
}

// A special token as tokenizer_config.json writes it: "text", { content: "text", … } or null.
function tokenText(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object" && typeof (value as { content?: unknown }).content === "string") return (value as { content: string }).content;
  return null;
}

function sketchReference(reader: CheckpointReader, value: unknown): SketchReference {
  try {
    return SketchReference.fromJson(value);
  } catch (e) {
    const problems = e instanceof SketchJsonError ? e.issues.join("; ") : (e as Error).message.replace(/\s*\n\s*/g, " ");
    throw new Error(`${reader.where("sketch.json")}: ${problems}`);
  }
}
