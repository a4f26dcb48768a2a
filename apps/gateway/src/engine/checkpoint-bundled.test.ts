// BundledCheckpointReader (the Worker's demo pair, held in memory), fed the committed demo policy's bytes from
// disk: the files it holds are verified against manifest.json like a directory, and only names declared
// not bundled may be absent. (Which files the Worker really bundles: test/workerd/bundled.test.ts.)
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BundledCheckpointReader } from "./checkpoint-bundled";
import { loadServingCheckpoint } from "./checkpoint";

const DIR = join(import.meta.dirname, "..", "..", "..", "..", "models", "demo", "policy");
const manifest = JSON.parse(readFileSync(join(DIR, "manifest.json"), "utf8")) as { files: Record<string, unknown> };
/** Every file of the checkpoint, manifest.json included, as the Worker's Data imports would give them. */
const ALL: Record<string, Uint8Array> = Object.fromEntries(["manifest.json", ...Object.keys(manifest.files)].map((f) => [f, new Uint8Array(readFileSync(join(DIR, f)))]));
const LEFT_OUT = ["model.safetensors", "metrics.jsonl"];
const without = (names: readonly string[]) => Object.fromEntries(Object.entries(ALL).filter(([f]) => !names.includes(f)));

describe("BundledCheckpointReader", () => {
  it("verifies a bundle that leaves out the declared files, and loads it for serving", async () => {
    const reader = new BundledCheckpointReader("models/demo/policy", without(LEFT_OUT), LEFT_OUT);
    expect((await reader.verify()).files).toEqual(manifest.files);
    expect(await reader.read("model.safetensors")).toBeNull();
    const ckpt = await loadServingCheckpoint(reader);
    expect(ckpt.onnx.path).toBe("models/demo/policy/onnx/model.onnx");
  });

  it("refuses an absent file that was not declared, and an altered bundled file even under a declared name", async () => {
    await expect(new BundledCheckpointReader("p", without(LEFT_OUT), ["metrics.jsonl"]).verify()).rejects.toThrow(/p\/manifest\.json: checkpoint files do not match the manifest: model\.safetensors: missing/);
    await expect(new BundledCheckpointReader("p", without(LEFT_OUT)).verify()).rejects.toThrow(/metrics\.jsonl: missing.*model\.safetensors: missing|model\.safetensors: missing.*metrics\.jsonl: missing/);
    const weights = ALL["model.safetensors"]!.slice();
    weights[weights.length - 1]! ^= 1;
    await expect(new BundledCheckpointReader("p", { ...ALL, "model.safetensors": weights }, LEFT_OUT).verify()).rejects.toThrow(/model\.safetensors: sha256 [0-9a-f]{64}, manifest says [0-9a-f]{64}$/);
    const onnx = ALL["onnx/model.onnx"]!.slice();
    onnx[onnx.length - 100]! ^= 1;
    await expect(new BundledCheckpointReader("p", { ...without(LEFT_OUT), "onnx/model.onnx": onnx }, LEFT_OUT).verify()).rejects.toThrow(/onnx\/model\.onnx: sha256/);
  });

  it("still refuses a bundle without its ONNX graph or its manifest", async () => {
    await expect(loadServingCheckpoint(new BundledCheckpointReader("p", without([...LEFT_OUT, "onnx/model.onnx"]), [...LEFT_OUT, "onnx/model.onnx"]))).rejects.toThrow(/p\/onnx\/model\.onnx: not found/);
    await expect(new BundledCheckpointReader("p", without(["manifest.json"]), ["manifest.json"]).verify()).rejects.toThrow(/p\/manifest\.json: not found/);
  });
});
