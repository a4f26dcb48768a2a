// Checkpoint directories (SPEC "Checkpoint directory"): config.json, model.safetensors under Hugging Face
// Qwen2 names, tokenizer files, optional eval.json / metrics.jsonl, and manifest.json written last with the
// sha256 of every other file. A tied LM head is stored once (as model.embed_tokens.weight).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { decodeSafetensors, encodeSafetensors, toFloat32 } from "@tether/shared/io/safetensors";
import { manifest as manifestSchema, type Manifest, type ManifestInput } from "@tether/shared/schemas/manifest";
import { issueLines } from "@tether/shared/schemas/common";
import { countParams, parameterSpecs, type Params } from "../model/params";
import { fromHfConfig, toHfConfig, type ModelConfig } from "../model/config";
import { hashDirectory, sha256File, verifyCheckpoint } from "@tether/checkpoint/files";

export interface SaveCheckpointOptions {
  dir: string;
  kind: "reference" | "policy";
  config: ModelConfig;
  params: Params;
  /** tokenizer.json, tokenizer_config.json, generation_config.json, eval.json, … : file name → contents. */
  files: Record<string, string | Uint8Array>;
  training: ManifestInput["training"];
  parentId?: string | null;
  referenceId?: string | null;
  name?: string;
  /** Id override; default `<kind>-<command>-<first 10 hex of the weights' sha256>` (content-addressed). */
  id?: string;
  /** Files that must name the checkpoint id (eval.json): written once the id is known, before hashing. */
  filesNamingId?: (id: string) => Record<string, string>;
}

/**
 * Write a checkpoint directory and return its validated manifest.
 * @example saveCheckpoint({ dir: "out/ref", kind: "reference", config, params, files, training })
 */
export function saveCheckpoint(o: SaveCheckpointOptions): Manifest {
  mkdirSync(o.dir, { recursive: true });
  writeFileSync(join(o.dir, "model.safetensors"), weightsSafetensors(o.config, o.params));
  writeFileSync(join(o.dir, "config.json"), `${JSON.stringify(toHfConfig(o.config), null, 2)}\n`);
  for (const [name, contents] of Object.entries(o.files)) writeFileSync(join(o.dir, name), contents);
  const id = o.id ?? `${o.kind}-${o.training.command}-${sha256File(join(o.dir, "model.safetensors")).slice(0, 10)}`;
  for (const [name, contents] of Object.entries(o.filesNamingId?.(id) ?? {})) writeFileSync(join(o.dir, name), contents);

  const files = hashDirectory(o.dir);
  const tokenizer = files["tokenizer.json"];
  if (!tokenizer) throw new Error("saveCheckpoint: files must include tokenizer.json");
  const tokenizerJson = JSON.parse(readFileSync(join(o.dir, "tokenizer.json"), "utf8")) as { model?: { vocab?: object }; added_tokens?: unknown[] };
  const tokenizerConfig = o.files["tokenizer_config.json"];
  const input: ManifestInput = {
    id,
    kind: o.kind,
    name: o.name,
    created_at: new Date().toISOString(),
    parent_id: o.parentId ?? null,
    reference_id: o.referenceId ?? null,
    architecture: {
      model_type: "qwen2",
      vocab_size: o.config.vocabSize,
      hidden_size: o.config.hiddenSize,
      intermediate_size: o.config.intermediateSize,
      num_hidden_layers: o.config.numLayers,
      num_attention_heads: o.config.numHeads,
      num_key_value_heads: o.config.numKvHeads,
      head_dim: o.config.headDim,
      max_position_embeddings: o.config.maxPositions,
      tie_word_embeddings: o.config.tieWordEmbeddings,
      parameter_count: countParams(o.config),
    },
    tokenizer: {
      file: "tokenizer.json",
      sha256: tokenizer.sha256,
      vocab_size: Math.max(Object.keys(tokenizerJson.model?.vocab ?? {}).length, tokenizerJson.added_tokens?.length ?? 0),
      chat_template: typeof tokenizerConfig === "string" && tokenizerConfig.includes("chat_template"),
    },
    training: o.training,
    files,
  };
  const parsed = manifestSchema.safeParse(input);
  if (!parsed.success) throw new Error(`saveCheckpoint: invalid manifest: ${issueLines(parsed.error).join("; ")}`);
  writeFileSync(join(o.dir, "manifest.json"), `${JSON.stringify(parsed.data, null, 2)}\n`);
  return parsed.data;
}

/**
 * The bytes of model.safetensors for these weights (Hugging Face names, a tied head stored once).
 * @example writeFileSync("model.safetensors", weightsSafetensors(config, params))
 */
export function weightsSafetensors(config: ModelConfig, params: Params): Uint8Array {
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const spec of parameterSpecs(config)) {
    const variable = params.get(spec.name);
    if (!variable) throw new Error(`saveCheckpoint: parameter ${spec.name} is missing`);
    tensors[spec.name] = { shape: spec.shape, data: variable.dataSync() as Float32Array };
  }
  return encodeSafetensors(tensors, { format: "pt" });
}

/**
 * sha256 (hex) of weightsSafetensors: equal to the model.safetensors hash in the manifest of a checkpoint
 * saved with these weights. `--fingerprint-at` logs it mid-run, so a rerun of a prefix can be checked.
 * @example weightsSha256(config, params) // "3f1c…"
 */
export function weightsSha256(config: ModelConfig, params: Params): string {
  return createHash("sha256").update(weightsSafetensors(config, params)).digest("hex");
}

export interface LoadedCheckpoint {
  dir: string;
  manifest: Manifest;
  config: ModelConfig;
  params: Params;
}

/**
 * Verify the manifest hashes, then load config.json and the weights as trainable variables.
 * @example const ref = loadCheckpoint("models/demo/reference", { trainable: false });
 */
export function loadCheckpoint(dir: string, { trainable = true } = {}): LoadedCheckpoint {
  const manifest = verifyCheckpoint(dir);
  const config = fromHfConfig(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")));
  const file = decodeSafetensors(new Uint8Array(readFileSync(join(dir, "model.safetensors"))));
  const params: Params = new Map();
  for (const spec of parameterSpecs(config)) {
    const raw = file.tensors.get(spec.name);
    if (!raw) throw new Error(`${dir}/model.safetensors: missing tensor ${spec.name}`);
    if (raw.shape.join(",") !== spec.shape.join(",")) {
      throw new Error(`${dir}/model.safetensors: ${spec.name} has shape [${raw.shape}], config.json implies [${spec.shape}]`);
    }
    params.set(spec.name, tf.variable(tf.tensor(toFloat32(raw), spec.shape), trainable));
  }
  return { dir, manifest, config, params };
}
