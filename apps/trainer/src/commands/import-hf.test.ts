import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, describe, expect, it } from "vitest";
import { parseTrainerConfig } from "@tether/shared/schemas/trainer-config";
import { loadCheckpoint } from "../checkpoint/save-load";
import { QWEN_CHAT_TEMPLATE, writeHfFolder, type FixtureDtype, type FixtureTensor } from "../../../../test/support/hf-fixture";
import type { ModelConfig } from "../model/config";
import { disposeParams } from "../model/params";
import { forward } from "../model/qwen2";
import { referenceLogits } from "../model/reference-forward";
import { importHf } from "./import-hf";
import { sft } from "./sft";

// An independent minimal safetensors reader: u64 header length, JSON header, little-endian float32 data.
function readF32Safetensors(path: string): Map<string, { dtype: string; shape: number[]; values: number[] }> {
  const raw = readFileSync(path);
  const n = Number(raw.readBigUInt64LE(0));
  const header = JSON.parse(raw.toString("utf8", 8, 8 + n)) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, { dtype: string; shape: number[]; values: number[] }>();
  for (const [name, t] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const values: number[] = [];
    for (let at = 8 + n + t.data_offsets[0]; at < 8 + n + t.data_offsets[1]; at += 4) values.push(raw.readFloatLE(at));
    out.set(name, { dtype: t.dtype, shape: t.shape, values });
  }
  return out;
}

// The fixture's config.json, restated by hand for the float64 reference.
const modelConfig = (tied: boolean): ModelConfig => ({
  vocabSize: 128, hiddenSize: 32, intermediateSize: 64, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 8,
  maxPositions: 64, rmsNormEps: 1e-6, ropeTheta: 1e6, tieWordEmbeddings: tied, bosTokenId: 0, eosTokenId: 0,
});

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const quiet = () => {};

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "apps/trainer/src/cli.ts", ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.trim() };
}

describe("tether-train import-hf", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-import-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const cases: { label: string; dtype: FixtureDtype; shards: number; tied: boolean; storeTiedHead?: boolean }[] = [
    { label: "bf16, 2 shards + index, tied", dtype: "BF16", shards: 2, tied: true },
    { label: "fp16, one file, tied head stored anyway", dtype: "F16", shards: 1, tied: true, storeTiedHead: true },
    { label: "fp32, one file, untied", dtype: "F32", shards: 1, tied: false },
  ];
  for (const [i, c] of cases.entries()) {
    it(`round trip ${c.label}: same names, shapes and values; logits match the float64 reference`, async () => {
      const fx = writeHfFolder(join(root, `Qwen2-tiny-${i}`), { dtype: c.dtype, shards: c.shards, seed: 10 + i, storeTiedHead: c.storeTiedHead, config: { tie_word_embeddings: c.tied } });
      const out = join(root, `ckpt-${i}`);
      const { manifest } = await importHf(parseTrainerConfig({ command: "import-hf", input: fx.dir, out }), quiet);

      // 1) weights: every stored tensor back as float32, exactly (bf16/fp16 values are all f32-representable)
      const expected = fx.tensors.filter((t) => !(c.tied && t.name === "lm_head.weight"));
      const read = readF32Safetensors(join(out, "model.safetensors"));
      expect([...read.keys()].sort()).toEqual(expected.map((t) => t.name).sort());
      for (const t of expected) {
        const got = read.get(t.name)!;
        expect([got.dtype, got.shape], t.name).toEqual(["F32", t.shape]);
        const mismatches = got.values.filter((v, k) => v !== t.values[k]).length;
        expect(mismatches, t.name).toBe(0);
      }

      // 2) lineage: an imported reference, with the source folder, dtype and weight files' sha256
      expect(manifest).toMatchObject({ kind: "reference", parent_id: null, reference_id: null, tokenizer: { chat_template: true, vocab_size: 100 } });
      expect(manifest.id).toMatch(/^reference-import-hf-[0-9a-f]{10}$/);
      expect(manifest.training).toMatchObject({ command: "import-hf", source: basename(fx.dir), steps: 0, backend: "none" });
      const imported = manifest.training.config.import as { dtype: string; sha256: Record<string, string> };
      expect(imported.dtype).toBe(c.dtype);
      expect(imported.sha256).toEqual(Object.fromEntries(fx.weightFiles.map((f) => [f, sha256(join(fx.dir, f))])));
      expect(readFileSync(join(out, "tokenizer.json"))).toEqual(readFileSync(join(fx.dir, "tokenizer.json")));
      expect(JSON.parse(readFileSync(join(out, "tokenizer_config.json"), "utf8")).chat_template).toBe(QWEN_CHAT_TEMPLATE);
      expect(JSON.parse(readFileSync(join(out, "config.json"), "utf8"))).toMatchObject({ model_type: "qwen2", vocab_size: 128, hidden_size: 32, head_dim: 8, rope_theta: 1e6, tie_word_embeddings: c.tied });

      // 3) the checkpoint loads, and its tfjs logits match the float64 reference on the fixture's values
      const loaded = loadCheckpoint(out);
      const ids = [1, 5, 21, 34, 70, 99, 2, 4];
      const logits = tf.tidy(() => forward(loaded.params, loaded.config, tf.tensor2d([ids], undefined, "int32")).logits.dataSync());
      const values = new Map(fx.tensors.map((t: FixtureTensor) => [t.name, t.values]));
      const want = referenceLogits(values, modelConfig(c.tied), ids);
      let maxDiff = 0;
      want.forEach((row, t) => row.forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - logits[t * 128 + k]!)))));
      expect(maxDiff).toBeLessThan(1e-4);
      expect(Math.max(...want[0]!.map(Math.abs))).toBeGreaterThan(0.5); // not a vacuous comparison
      disposeParams(loaded.params);
    });
  }

  it("an imported checkpoint is a reference sft can fine-tune against", async () => {
    // vocab_size = the tokenizer's 100: with Qwen-style padding a random model's greedy evaluation emits
    // ids ≥ 100 that the tokenizer cannot decode (generate samples over all config.vocabSize rows).
    const fx = writeHfFolder(join(root, "Qwen2-sft"), { dtype: "BF16", shards: 2, config: { vocab_size: 100 } });
    const reference = join(root, "ckpt-sft-ref");
    await importHf(parseTrainerConfig({ command: "import-hf", input: fx.dir, out: reference }), quiet);
    const result = await sft(parseTrainerConfig({ command: "sft", reference, steps: "2", batch: "2", evalSamples: "2", evalEvery: "0", out: join(root, "sft") }), quiet);
    expect(result.manifest.reference_id).toMatch(/^reference-import-hf-/);
  });

  it("CLI: imports (exit 0); refuses a llama folder, a missing <dir> and a non-empty --out with one line (exit 2)", () => {
    const fx = writeHfFolder(join(root, "cli-qwen"), { dtype: "BF16" });
    const ok = cli("import-hf", fx.dir, "--out", join(root, "cli-ckpt"));
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/saved reference-import-hf-[0-9a-f]{10} to /);
    expect(JSON.parse(readFileSync(join(root, "cli-ckpt", "manifest.json"), "utf8")).training.command).toBe("import-hf");

    const llama = writeHfFolder(join(root, "cli-llama"), { dtype: "BF16", config: { model_type: "llama" } });
    const busy = join(root, "busy");
    mkdirSync(busy);
    writeFileSync(join(busy, "x"), "");
    const cases: [string[], string][] = [
      [["import-hf", llama.dir, "--out", join(root, "never")], `tether-train import-hf: ${join(llama.dir, "config.json")}: model_type llama is not supported: import-hf supports qwen2 (Qwen2ForCausalLM)`],
      [["import-hf", "--out", join(root, "never")], "tether-train import-hf: <input>: is required: tether-train import-hf <dir>"],
      [["import-hf", fx.dir, "--out", busy], `tether-train import-hf: --out: ${busy} already exists and is not empty`],
    ];
    for (const [args, line] of cases) {
      const r = cli(...args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toBe(line);
    }
  });
});
