// The R2 checkpoint reader inside workerd, on miniflare's local R2: the demo policy's files uploaded under a
// prefix verify against their manifest (streamed sha256) and load on onnxruntime-web with the same logits as
// the bundled copy; a flipped bit, an unlisted object, a missing manifest and an object replaced after the
// check are each refused with one line naming the file.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BundledCheckpointReader } from "../../apps/gateway/src/engine/checkpoint-bundled";
import { R2CheckpointReader } from "../../apps/gateway/src/engine/checkpoint-r2";
import { OrtWebEngine } from "../../apps/gateway/src/engine/ort-web";
import { BUNDLED_CHECKPOINTS, NOT_BUNDLED } from "../../apps/gateway/src/worker/demo-models";
import { readerFor } from "../../apps/gateway/src/worker/gateway";
import type { WorkerEnv } from "../../apps/gateway/src/worker/env";
import metrics from "../../models/demo/policy/metrics.jsonl";
import weights from "../../models/demo/policy/model.safetensors";

// An R2 checkpoint is whole: the bundled files plus the two the Worker leaves out of its bundle (NOT_BUNDLED),
// which this test imports itself (the Data rule gives their bytes).
const BUNDLED_POLICY = BUNDLED_CHECKPOINTS["models/demo/policy"]!;
const POLICY: Record<string, ArrayBuffer> = { ...BUNDLED_POLICY, "metrics.jsonl": metrics, "model.safetensors": weights };
const bucket = env.TEST_BUCKET;
let prefixes = 0;

/** Uploads the demo policy under a fresh prefix; returns the prefix. */
async function upload(files: Record<string, ArrayBuffer> = POLICY): Promise<string> {
  const prefix = `ckpt-${prefixes++}/policy`;
  for (const [name, data] of Object.entries(files)) await bucket.put(`${prefix}/${name}`, data);
  return prefix;
}

describe("R2CheckpointReader", () => {

  it("verifies the uploaded demo policy and serves the same logits as the bundled copy", async () => {
    const reader = new R2CheckpointReader(bucket, await upload(), "test-bucket");
    const manifest = await reader.verify();
    expect(Object.keys(manifest.files).sort()).toEqual(Object.keys(POLICY).filter((f) => f !== "manifest.json").sort());
    const [fromR2, bundled] = [await OrtWebEngine.load(reader), await OrtWebEngine.load(new BundledCheckpointReader("models/demo/policy", BUNDLED_POLICY, NOT_BUNDLED))];
    try {
      expect(fromR2.checkpoint.dir).toMatch(/^r2:\/\/test-bucket\/ckpt-\d+\/policy$/);
      expect(fromR2.info).toEqual(bundled.info);
      const prompt = fromR2.tokenizer.encode("12+7=");
      const [a, b] = [await fromR2.score(prompt, [[5, 6, 7]]), await bundled.score(prompt, [[5, 6, 7]])];
      expect(Array.from(a.logits[0]!)).toEqual(Array.from(b.logits[0]!)); // same bytes, same runtime: identical
    } finally {
      await Promise.all([fromR2.dispose(), bundled.dispose()]);
    }
  });

  it("refuses a flipped bit in onnx/model.onnx and an object the manifest does not list", async () => {
    const onnx = new Uint8Array(POLICY["onnx/model.onnx"]!.slice(0));
    onnx[onnx.length - 100]! ^= 1;
    const tampered = await upload({ ...POLICY, "onnx/model.onnx": onnx.buffer });
    await expect(new R2CheckpointReader(bucket, tampered).verify()).rejects.toThrow(/manifest\.json: checkpoint files do not match the manifest: onnx\/model\.onnx: sha256 [0-9a-f]{64}, manifest says [0-9a-f]{64}$/);
    const extra = await upload({ ...POLICY, "extra.bin": new TextEncoder().encode("x").buffer as ArrayBuffer });
    await expect(new R2CheckpointReader(bucket, extra).verify()).rejects.toThrow(/extra\.bin: not in manifest/);
  });

  it("says what is missing: manifest.json, or the ONNX export", async () => {
    const { "manifest.json": _, ...noManifest } = POLICY;
    const prefix = await upload(noManifest);
    await expect(OrtWebEngine.load(new R2CheckpointReader(bucket, prefix, "b"))).rejects.toThrow(`r2://b/${prefix}/manifest.json: not found (is r2://b/${prefix} a checkpoint directory?)`);
    const { "onnx/model.onnx": __, ...noOnnx } = POLICY;
    const other = await upload(noOnnx);
    await expect(OrtWebEngine.load(new R2CheckpointReader(bucket, other, "b"))).rejects.toThrow(`r2://b/${other}/onnx/model.onnx: not found — the checkpoint has no ONNX decoder yet`);
  });

  it("refuses a file replaced after its hash was verified", async () => {
    const prefix = await upload();
    const reader = new R2CheckpointReader(bucket, prefix);
    await reader.verify();
    expect(await reader.read("config.json")).toEqual(new Uint8Array(POLICY["config.json"]!));
    await bucket.put(`${prefix}/config.json`, "{}");
    await expect(reader.read("config.json")).rejects.toThrow(/config\.json: changed in R2 after its hash was verified/);
  });
});

describe("readerFor (where a Worker reads a checkpoint location from)", () => {
  it("maps bundled paths and r2://<bucket>/<prefix>, and names what is wrong otherwise", () => {
    const workerEnv = { MODELS: env.MODELS, MODELS_BUCKET_NAME: "tether-models" } as WorkerEnv;
    expect(readerFor("./models/demo/policy/", workerEnv)).toBeInstanceOf(BundledCheckpointReader);
    expect(readerFor("r2://tether-models/big/policy", workerEnv).location).toBe("r2://tether-models/big/policy");
    expect(() => readerFor("r2://other/big/policy", workerEnv)).toThrow(/the MODELS binding is bucket "tether-models"/);
    expect(() => readerFor("r2://tether-models/x", {} as WorkerEnv)).toThrow(/no R2 bucket is bound as MODELS/);
    expect(() => readerFor("/srv/models/x", workerEnv)).toThrow(/not bundled with this Worker \(bundled: models\/demo\/policy, models\/demo\/reference\)/);
  });
});
