// A checkpoint directory read for serving (SPEC "Checkpoint directory"): manifest hashes verified, then every
// file the engine and the gateway need parsed with the shared schemas. Each error is one line naming the file
// and the problem, e.g. "models/x/onnx/model.onnx: not found — run `npm run train -- export models/x`".
//
// 1) manifest.json present; onnx/model.onnx present (the checkpoint was exported)
// 2) every file's size and sha256 against manifest.json (@tether/checkpoint/files, shared with the trainer)
// 3) config.json (hf-config), generation_config.json (stop ids), tokenizer.json + tokenizer_config.json
// 4) optional side files: eval.json (drift-guard defaults), sketch.json (drift scores), onnx/export.json (variant)
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { z } from "zod";
import { issueLines } from "@tether/shared/schemas/common";
import { evalReport as evalReportSchema, type EvalReport } from "@tether/shared/schemas/eval";
import { hfQwen2Config, qwen2HeadDim, type HfQwen2Config } from "@tether/shared/schemas/hf-config";
import type { Manifest } from "@tether/shared/schemas/manifest";
import { SketchJsonError } from "@tether/shared/schemas/sketch";
import { SketchReference } from "@tether/shared/sketch/reference";
import type { ModelInfo } from "./engine";
import { verifyCheckpoint } from "@tether/checkpoint/files";

/** Which graph onnx/export.json says was written (trainer export/decoder.ts). */
export type OnnxVariant = "standard" | "fused";

/** Which weights to serve: onnx/model.onnx (fp32) or onnx/model_int8.onnx (`export --quantize int8`). */
export type OnnxWeights = "fp32" | "int8";
const ONNX_FILES: Record<OnnxWeights, string> = { fp32: "model.onnx", int8: "model_int8.onnx" };

/** Everything the serving side reads from a checkpoint directory. */
export interface ServingCheckpoint {
  dir: string;
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
 * Verify and read a checkpoint directory; throws an Error with one line naming the file and the problem.
 * @example const ckpt = loadServingCheckpoint("models/demo/policy"); ckpt.onnx.variant // "fused"
 */
export function loadServingCheckpoint(dir: string, weights: OnnxWeights = "fp32"): ServingCheckpoint {
  // 1) the two files without which nothing else is worth checking
  if (!existsSync(join(dir, "manifest.json"))) throw new Error(`${join(dir, "manifest.json")}: not found (is ${dir} a checkpoint directory?)`);
  const file = ONNX_FILES[weights];
  if (file === undefined) throw new RangeError(`onnx weights must be "fp32" or "int8" (got ${JSON.stringify(weights)})`);
  const onnxPath = join(dir, "onnx", file);
  const exportCommand = `npm run train -- export ${dir}${weights === "int8" ? " --quantize int8" : ""}`;
  if (!existsSync(onnxPath)) throw new Error(`${onnxPath}: not found — the checkpoint has no ${weights === "int8" ? "int8 " : ""}ONNX decoder yet; run \`${exportCommand}\``);
  // 2) integrity
  const manifest = verifyCheckpoint(dir);
  if (!(`onnx/${file}` in manifest.files)) throw new Error(`${join(dir, "manifest.json")}: does not list onnx/${file}; re-run \`${exportCommand}\``);
  // 3) model, stop ids, tokenizer
  const config = parseWith(dir, "config.json", hfQwen2Config);
  const generation = readJson(dir, "generation_config.json", false) as { eos_token_id?: unknown } | null;
  const eosTokenIds = stopIds(dir, generation?.eos_token_id ?? config.eos_token_id, config.vocab_size);
  const tokenizerJson = readJson(dir, "tokenizer.json", true) as Record<string, unknown>;
  const tokenizerConfig = (readJson(dir, "tokenizer_config.json", false) ?? {}) as Record<string, unknown>;
  // 4) side files
  const evalJson = readJson(dir, "eval.json", false);
  const sketchJson = readJson(dir, "sketch.json", false);
  const exportJson = readJson(dir, join("onnx", "export.json"), false) as { variant?: unknown } | null;
  const variant = exportJson?.variant ?? "standard";
  if (variant !== "standard" && variant !== "fused") throw new Error(`${join(dir, "onnx", "export.json")}: variant must be "standard" or "fused" (got ${JSON.stringify(variant)})`);
  return {
    dir,
    manifest,
    config,
    headDim: qwen2HeadDim(config),
    eosTokenIds,
    tokenizerJson,
    tokenizerConfig,
    chatTemplate: chatTemplate(dir, tokenizerConfig.chat_template),
    bosToken: tokenText(tokenizerConfig.bos_token),
    eosToken: tokenText(tokenizerConfig.eos_token),
    evalReport: evalJson === null ? null : parseWith(dir, "eval.json", evalReportSchema, evalJson),
    sketch: sketchJson === null ? null : sketchReference(dir, sketchJson),
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

function readJson(dir: string, name: string, required: boolean): unknown {
  const path = join(dir, name);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" && !required) return null;
    throw new Error(`${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

function parseWith<S extends z.ZodType>(dir: string, name: string, schema: S, value: unknown = readJson(dir, name, true)): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`${join(dir, name)}: ${issueLines(parsed.error).join("; ")}`);
  return parsed.data;
}

function stopIds(dir: string, value: unknown, vocabSize: number): number[] {
  const ids = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
  const bad = ids.find((id) => !(Number.isInteger(id) && id >= 0 && id < vocabSize));
  if (bad !== undefined) throw new Error(`${join(dir, "generation_config.json")}: eos_token_id must be token ids in [0, ${vocabSize - 1}] (got ${JSON.stringify(bad)})`);
  if (ids.length === 0) throw new Error(`${join(dir, "generation_config.json")}: eos_token_id is required (here or in config.json): the gateway must know where a sequence ends`);
  return [...new Set(ids as number[])];
}

// tokenizer_config.json chat_template: one template, or a list of named ones (transformers picks "default").
function chatTemplate(dir: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const named = value as { name?: unknown; template?: unknown }[];
    const pick = named.find((t) => t.name === "default") ?? named[0];
    if (typeof pick?.template === "string") return pick.template;
  }
  throw new Error(`${join(dir, "tokenizer_config.json")}: chat_template must be a string or a list of { name, template } (got ${typeof value})`);
}

// A special token as tokenizer_config.json writes it: "text", { content: "text", … } or null.
function tokenText(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object" && typeof (value as { content?: unknown }).content === "string") return (value as { content: string }).content;
  return null;
}

function sketchReference(dir: string, value: unknown): SketchReference {
  try {
    return SketchReference.fromJson(value);
  } catch (e) {
    const problems = e instanceof SketchJsonError ? e.issues.join("; ") : (e as Error).message.replace(/\s*\n\s*/g, " ");
    throw new Error(`${join(dir, "sketch.json")}: ${problems}`);
  }
}
