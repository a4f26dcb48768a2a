import { describe, expect, it } from "vitest";
import { z } from "zod";
import { issueLines } from "./common";
import { manifest, manifestFileProblems } from "./manifest";
import { policyManifest } from "../../../../test/support/schema-documents";

const problems = (value: unknown) =>
  issueLines(manifest.safeParse(value).error ?? new z.ZodError([]));

function referenceManifest(): Record<string, unknown> {
  const m = policyManifest();
  return {
    ...m,
    id: "ref-small-s42-3f9a1c",
    kind: "reference",
    parent_id: null,
    reference_id: null,
    training: { ...(m.training as object), command: "pretrain", config: { command: "pretrain" } },
  };
}

describe("manifest", () => {
  it("parses a policy and a reference checkpoint", () => {
    const p = manifest.parse(policyManifest());
    expect(p.kind).toBe("policy");
    expect(p.files["onnx/model.onnx"]!.bytes).toBe(13_500_000);
    const r = manifest.parse(referenceManifest());
    expect(r.reference_id).toBeNull();
  });

  it("defaults lineage to null and the tokenizer file to tokenizer.json", () => {
    const { parent_id: _p, reference_id: _r, ...m } = referenceManifest();
    const tokenizer = { ...(m.tokenizer as object), file: undefined };
    const parsed = manifest.parse({ ...m, tokenizer });
    expect(parsed.parent_id).toBeNull();
    expect(parsed.tokenizer.file).toBe("tokenizer.json");
  });

  it("requires a policy to name its reference, and a reference to name none", () => {
    expect(problems({ ...policyManifest(), reference_id: null })).toEqual(["reference_id: is required for a policy checkpoint"]);
    expect(problems({ ...referenceManifest(), reference_id: "ref-other" })).toEqual(["reference_id: must be null for a reference checkpoint"]);
    expect(problems({ ...policyManifest(), reference_id: "policy-sft-b0.1-77e0d2" })).toEqual(["reference_id: must differ from id"]);
  });

  it("rejects malformed hashes, ids, timestamps and paths escaping the folder", () => {
    const m = policyManifest();
    const files = m.files as Record<string, unknown>;
    expect(problems({ ...m, files: { ...files, "config.json": { sha256: "ABC", bytes: 1 } } })).toEqual([
      'files.config.json.sha256: must be 64 lower-case hex digits (sha256) (got "ABC")',
    ]);
    expect(problems({ ...m, files: { ...files, "../etc/passwd": { sha256: "f".repeat(64), bytes: 1 } } })[0]).toMatch(
      /^files\.\.\.\/etc\/passwd: must be a relative "\/"-separated path inside the checkpoint/,
    );
    expect(problems({ ...m, files: { ...files, "/abs": { sha256: "f".repeat(64), bytes: 1 } } })).toHaveLength(1);
    expect(problems({ ...m, id: "has/slash" })[0]).toMatch(/^id: must be 1–128 characters/);
    expect(problems({ ...m, created_at: "yesterday" })).toEqual(['created_at: must be an ISO 8601 timestamp (got "yesterday")']);
    expect(problems({ ...m, files: { ...files, "eval.json": { sha256: "e".repeat(64), bytes: -1 } } })).toEqual([
      "files.eval.json.bytes: must be an integer ≥ 0 (got -1)",
    ]);
  });

  it("checks the file list: weights and config present, manifest absent, tokenizer hash consistent", () => {
    const m = policyManifest();
    const { "model.safetensors": _w, ...noWeights } = m.files as Record<string, unknown>;
    expect(problems({ ...m, files: noWeights })).toEqual(["files: must list model.safetensors"]);
    const files = m.files as Record<string, { sha256: string; bytes: number }>;
    expect(problems({ ...m, files: { ...files, "manifest.json": { sha256: "0".repeat(64), bytes: 2 } } })).toEqual([
      "files.manifest.json: must not be listed (a manifest cannot hash itself)",
    ]);
    expect(problems({ ...m, files: { ...files, "tokenizer.json": { sha256: "9".repeat(64), bytes: 2 } } })).toEqual([
      'tokenizer.sha256: must equal files["tokenizer.json"].sha256',
    ]);
  });

  it("checks architecture arithmetic and tokenizer/embedding sizes", () => {
    const m = policyManifest();
    const arch = m.architecture as Record<string, unknown>;
    expect(problems({ ...m, architecture: { ...arch, num_key_value_heads: 3 } })).toEqual([
      "architecture.num_attention_heads: must be divisible by num_key_value_heads (4 % 3 = 1)",
    ]);
    expect(problems({ ...m, tokenizer: { ...(m.tokenizer as object), vocab_size: 600 } })).toEqual([
      "tokenizer.vocab_size: must be ≤ architecture.vocab_size (600 > 512)",
    ]);
    expect(problems({ ...m, architecture: { ...arch, model_type: "llama" } })).toEqual(['architecture.model_type: must be "qwen2"']);
  });

  it("rejects unknown top-level fields (a misspelt field would otherwise vanish)", () => {
    expect(problems({ ...policyManifest(), referance_id: "x" })).toHaveLength(1);
  });
});

describe("manifestFileProblems", () => {
  it("reports missing, resized, altered and unlisted files", () => {
    const m = manifest.parse(policyManifest());
    const found = structuredClone(m.files);
    expect(manifestFileProblems(m, found)).toEqual([]);
    delete found["eval.json"];
    found["config.json"] = { ...found["config.json"]!, bytes: 1 };
    found["model.safetensors"] = { ...found["model.safetensors"]!, sha256: "0".repeat(64) };
    found["stray.bin"] = { sha256: "1".repeat(64), bytes: 3 };
    found["manifest.json"] = { sha256: "2".repeat(64), bytes: 3 };
    expect(manifestFileProblems(m, found)).toEqual([
      "config.json: 1 bytes, manifest says 712",
      `model.safetensors: sha256 ${"0".repeat(64)}, manifest says ${"c".repeat(64)}`,
      "eval.json: missing",
      "stray.bin: not in manifest",
    ]);
  });
});
