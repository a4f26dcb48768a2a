// <ckpt>/manifest.json: identity, lineage, architecture, tokenizer, how it was trained, and the sha256 of
// every file in the checkpoint directory, so a gateway can refuse a torn or tampered checkpoint.

import { z } from "zod";
import { bool, int, isoTimestamp, oneOf, real, sha256Hex, text } from "./common";
import { checkQwen2Dims } from "./hf-config";

/**
 * Checkpoint id: URL-safe (it appears in /admin/checkpoints/:id), 1–128 characters,
 * e.g. "ref-small-s42-3f9a1c" or "policy-sft-b0.1-77e0d2".
 */
export const checkpointId = z
  .string({ error: (iss) => (iss.input === undefined ? "is required" : "must be a string") })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, {
    error: (iss) => `must be 1–128 characters of A–Z a–z 0–9 . _ : - starting with a letter or digit (got ${JSON.stringify(iss.input)})`,
  });
export type CheckpointId = z.infer<typeof checkpointId>;

/**
 * A path relative to the checkpoint directory, "/"-separated, e.g. "onnx/model.onnx".
 * No absolute paths, "..", "." segments or backslashes: a manifest must not point outside its folder.
 */
export const relativePath = z.string().refine(
  (p) => p.length > 0 && !p.startsWith("/") && !p.includes("\\") && p.split("/").every((s) => s !== "" && s !== "." && s !== ".."),
  { error: (iss) => `must be a relative "/"-separated path inside the checkpoint (got ${JSON.stringify(iss.input)})` },
);

/** One file's fingerprint. */
export const manifestFile = z.strictObject({
  sha256: sha256Hex, // hex digest of the file's bytes
  bytes: int(0), // size in bytes; checked first because it is free
});
export type ManifestFile = z.infer<typeof manifestFile>;

/** The key dimensions of the network (a subset of config.json, which stays the authority). */
export const manifestArchitecture = z
  .strictObject({
    model_type: z.literal("qwen2", { error: 'must be "qwen2"' }),
    vocab_size: int(1, 1 << 24), // embedding rows
    hidden_size: int(1), // d_model
    intermediate_size: int(1), // SwiGLU width
    num_hidden_layers: int(1, 1024), // decoder blocks
    num_attention_heads: int(1), // query heads
    num_key_value_heads: int(1), // KV heads (GQA)
    head_dim: int(1), // per-head width, stated so readers need not derive it
    max_position_embeddings: int(1), // context window in tokens
    tie_word_embeddings: bool(), // lm_head = embed_tokensᵀ
    parameter_count: int(1), // unique parameters (a tied head counted once); for humans and sanity checks
  })
  .superRefine(checkQwen2Dims);
export type ManifestArchitecture = z.infer<typeof manifestArchitecture>;

/** The tokenizer; a policy must use its reference's tokenizer byte for byte (same sha256). */
export const manifestTokenizer = z.strictObject({
  file: relativePath.default("tokenizer.json"), // Hugging Face tokenizers format
  sha256: sha256Hex, // must equal files[file].sha256
  vocab_size: int(1), // tokens the tokenizer can emit (≤ architecture.vocab_size)
  chat_template: bool().default(false), // tokenizer_config.json carries a chat template
});
export type ManifestTokenizer = z.infer<typeof manifestTokenizer>;

/** Trainer commands that can produce a checkpoint. */
export const producingCommand = oneOf(["pretrain", "sft", "grpo", "import-hf"]);

/** How the weights came to be. */
export const manifestTraining = z.strictObject({
  command: producingCommand, // "import-hf" for weights brought from Hugging Face
  config: z.record(z.string(), z.unknown()), // the full parsed trainer config (TrainerConfig), as JSON
  seed: int(), // PRNG seed of the run (data order, init, sampling)
  backend: text(), // tfjs backend that trained it ("tensorflow", "wasm", "cpu"), or "none" for import-hf
  steps: int(0), // optimiser steps taken (0 for import-hf)
  tokens: int(0).optional(), // training tokens seen
  duration_s: real(0).optional(), // wall-clock seconds
  source: text().optional(), // import-hf: the folder or hub name the weights came from
  // Final values of the run's scalar metrics (e.g. loss, kl, beta, reward), as in the last metrics.jsonl line.
  metrics: z.record(z.string(), z.number()),
});
export type ManifestTraining = z.infer<typeof manifestTraining>;

/**
 * manifest.json.
 * @example manifest.parse(JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")))
 */
export const manifest = z
  .strictObject({
    schema_version: z.literal(1).default(1), // bumped on incompatible changes
    id: checkpointId,
    kind: oneOf(["reference", "policy"]), // reference = frozen anchor; policy = fine-tuned and served
    name: text().optional(), // human label, e.g. "demo policy (β = 0.1)"
    created_at: isoTimestamp,
    // The checkpoint whose weights initialised this one (--init); null when trained from scratch or imported.
    parent_id: checkpointId.nullable().default(null),
    // The frozen reference the KL anchor was measured against; null exactly for references.
    reference_id: checkpointId.nullable().default(null),
    architecture: manifestArchitecture,
    tokenizer: manifestTokenizer,
    training: manifestTraining,
    // Every file in the directory except manifest.json itself, keyed by relative path.
    files: z.record(relativePath, manifestFile),
  })
  .superRefine((m, ctx) => {
    // 1) lineage: a policy is anchored to a reference, a reference to nothing
    if (m.kind === "policy" && m.reference_id === null) {
      ctx.addIssue({ code: "custom", path: ["reference_id"], message: "is required for a policy checkpoint" });
    }
    if (m.kind === "reference" && m.reference_id !== null) {
      ctx.addIssue({ code: "custom", path: ["reference_id"], message: "must be null for a reference checkpoint" });
    }
    for (const key of ["parent_id", "reference_id"] as const) {
      if (m[key] === m.id) ctx.addIssue({ code: "custom", path: [key], message: "must differ from id" });
    }
    // 2) the files a checkpoint cannot do without, and no self-reference
    for (const required of ["config.json", "model.safetensors"]) {
      if (!(required in m.files)) ctx.addIssue({ code: "custom", path: ["files"], message: `must list ${required}` });
    }
    if ("manifest.json" in m.files) {
      ctx.addIssue({ code: "custom", path: ["files", "manifest.json"], message: "must not be listed (a manifest cannot hash itself)" });
    }
    // 3) the tokenizer entry agrees with the file list and fits the embedding
    const tok = m.files[m.tokenizer.file];
    if (!tok) {
      ctx.addIssue({ code: "custom", path: ["tokenizer", "file"], message: `must be listed in files (${m.tokenizer.file})` });
    } else if (tok.sha256 !== m.tokenizer.sha256) {
      ctx.addIssue({ code: "custom", path: ["tokenizer", "sha256"], message: `must equal files["${m.tokenizer.file}"].sha256` });
    }
    if (m.tokenizer.vocab_size > m.architecture.vocab_size) {
      ctx.addIssue({
        code: "custom",
        path: ["tokenizer", "vocab_size"],
        message: `must be ≤ architecture.vocab_size (${m.tokenizer.vocab_size} > ${m.architecture.vocab_size})`,
      });
    }
  });
export type Manifest = z.infer<typeof manifest>;
/** What a writer passes to manifest.parse (defaults not yet applied). */
export type ManifestInput = z.input<typeof manifest>;

/**
 * Compares a manifest's file list with the files found on disk (hashes computed by the caller, which
 * owns the file system). Returns one line per mismatch; empty when the checkpoint is intact.
 * @example manifestFileProblems(m, { "config.json": { sha256, bytes } }) // ["model.safetensors: missing"]
 */
export function manifestFileProblems(m: Pick<Manifest, "files">, found: Record<string, ManifestFile>): string[] {
  const problems: string[] = [];
  for (const [path, want] of Object.entries(m.files)) {
    const have = found[path];
    if (!have) problems.push(`${path}: missing`);
    else if (have.bytes !== want.bytes) problems.push(`${path}: ${have.bytes} bytes, manifest says ${want.bytes}`);
    else if (have.sha256 !== want.sha256) problems.push(`${path}: sha256 ${have.sha256}, manifest says ${want.sha256}`);
  }
  for (const path of Object.keys(found)) {
    if (path !== "manifest.json" && !(path in m.files)) problems.push(`${path}: not in manifest`);
  }
  return problems;
}
