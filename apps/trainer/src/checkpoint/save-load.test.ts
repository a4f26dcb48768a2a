import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../backend";
import { validateModelConfig, type ModelConfig } from "../model/config";
import { disposeParams, initParams } from "../model/params";
import { forward } from "../model/qwen2";
import { loadCheckpoint, saveCheckpoint, weightsSha256 } from "./save-load";

const cfg: ModelConfig = validateModelConfig({
  vocabSize: 11, hiddenSize: 16, intermediateSize: 24, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 4,
  maxPositions: 32, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: true, bosTokenId: 0, eosTokenId: 0,
});
const tokenizerJson = JSON.stringify({ version: "1.0", model: { type: "BPE", vocab: Object.fromEntries("abcdefghijk".split("").map((c, i) => [c, i])), merges: [] } });
const training = { command: "pretrain" as const, config: { steps: 0 }, seed: 1, backend: "wasm", steps: 0, metrics: {} };

describe("checkpoint directory", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-ckpt-"));
  beforeAll(async () => {
    await initBackend();
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  for (const tied of [true, false]) {
    it(`save → load gives identical logits (${tied ? "tied" : "untied"} head) and stores a tied head once`, () => {
      const c = { ...cfg, tieWordEmbeddings: tied };
      const dir = join(root, `ckpt-${tied}`);
      const params = initParams(c, 3);
      const m = saveCheckpoint({ dir, kind: "reference", config: c, params, files: { "tokenizer.json": tokenizerJson }, training });
      expect(m.id).toMatch(/^reference-pretrain-[0-9a-f]{10}$/);
      // --fingerprint-at's hash is the saved file's (node:crypto over the bytes on disk), and the id's prefix
      const onDisk = createHash("sha256").update(readFileSync(join(dir, "model.safetensors"))).digest("hex");
      expect(weightsSha256(c, params)).toBe(onDisk);
      expect(m.id.endsWith(onDisk.slice(0, 10))).toBe(true);
      const header = readFileSync(join(dir, "model.safetensors"));
      expect(header.toString("utf8", 8, 8 + Number(header.readBigUInt64LE(0))).includes("lm_head.weight")).toBe(!tied);
      const loaded = loadCheckpoint(dir);
      const ids = tf.tensor2d([[1, 2, 3, 4]], undefined, "int32");
      const [a, b] = tf.tidy(() => [forward(params, c, ids).logits.dataSync(), forward(loaded.params, loaded.config, ids).logits.dataSync()]);
      expect(b).toEqual(a);
      const hf = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
      expect(hf).toMatchObject({ model_type: "qwen2", hidden_size: 16, num_key_value_heads: 2, tie_word_embeddings: tied });
      disposeParams(params);
      disposeParams(loaded.params);
    });
  }

  it("manifest hashes are the files' sha256 (independently recomputed) and tampering is refused", () => {
    const dir = join(root, "tamper");
    const params = initParams(cfg, 4);
    const m = saveCheckpoint({ dir, kind: "reference", config: cfg, params, files: { "tokenizer.json": tokenizerJson }, training });
    for (const [path, { sha256, bytes }] of Object.entries(m.files)) {
      const data = readFileSync(join(dir, path));
      expect(createHash("sha256").update(data).digest("hex")).toBe(sha256);
      expect(data.length).toBe(bytes);
    }
    expect(Object.keys(m.files).sort()).toEqual(["config.json", "model.safetensors", "tokenizer.json"]);
    const weights = readFileSync(join(dir, "model.safetensors"));
    weights[weights.length - 1] ^= 1;
    writeFileSync(join(dir, "model.safetensors"), weights);
    expect(() => loadCheckpoint(dir)).toThrow(/model\.safetensors: sha256 [0-9a-f]+, manifest says/);
    writeFileSync(join(dir, "extra.txt"), "x");
    expect(() => loadCheckpoint(dir)).toThrow(/extra\.txt: not in manifest/);
    disposeParams(params);
  });

  it("model.safetensors read by Python's stdlib has exactly the Hugging Face Qwen2 names and shapes", () => {
    const dir = join(root, "names");
    const params = initParams(cfg, 6);
    saveCheckpoint({ dir, kind: "reference", config: cfg, params, files: { "tokenizer.json": tokenizerJson }, training });
    const py = spawnSync("python3", ["-c", [
      "import json, struct, sys",
      "raw = open(sys.argv[1], 'rb').read()",
      "(n,) = struct.unpack('<Q', raw[:8])",
      "h = json.loads(raw[8:8 + n])",
      "print(json.dumps({'meta': h.pop('__metadata__', {}), 't': {k: [v['dtype'], v['shape']] for k, v in h.items()}}))",
    ].join("\n"), join(dir, "model.safetensors")], { encoding: "utf8" });
    expect(py.status, py.stderr).toBe(0);
    const { meta, t } = JSON.parse(py.stdout);
    expect(meta).toEqual({ format: "pt" }); // transformers refuses safetensors without it
    // d = 16, 4 heads × 4, 2 kv heads × 4, intermediate 24, vocab 11, 2 layers, tied head
    const expected: Record<string, number[]> = { "model.embed_tokens.weight": [11, 16], "model.norm.weight": [16] };
    for (const l of [0, 1]) {
      Object.assign(expected, {
        [`model.layers.${l}.input_layernorm.weight`]: [16],
        [`model.layers.${l}.post_attention_layernorm.weight`]: [16],
        [`model.layers.${l}.self_attn.q_proj.weight`]: [16, 16],
        [`model.layers.${l}.self_attn.q_proj.bias`]: [16],
        [`model.layers.${l}.self_attn.k_proj.weight`]: [8, 16],
        [`model.layers.${l}.self_attn.k_proj.bias`]: [8],
        [`model.layers.${l}.self_attn.v_proj.weight`]: [8, 16],
        [`model.layers.${l}.self_attn.v_proj.bias`]: [8],
        [`model.layers.${l}.self_attn.o_proj.weight`]: [16, 16],
        [`model.layers.${l}.mlp.gate_proj.weight`]: [24, 16],
        [`model.layers.${l}.mlp.up_proj.weight`]: [24, 16],
        [`model.layers.${l}.mlp.down_proj.weight`]: [16, 24],
      });
    }
    expect(t).toEqual(Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, ["F32", v]])));
    disposeParams(params);
  });

  it("a policy without a reference id is refused by the manifest schema", () => {
    const params = initParams(cfg, 5);
    expect(() =>
      saveCheckpoint({ dir: join(root, "policy"), kind: "policy", config: cfg, params, files: { "tokenizer.json": tokenizerJson }, training: { ...training, command: "sft" } }),
    ).toThrow(/reference_id.*required for a policy/);
    disposeParams(params);
  });
});
