// The committed demo pair (models/demo): every file matches its manifest hash, computed here with node:crypto
// rather than the trainer's own verifier, and `npm run train:demo`'s recipe, rerun from scratch with the same
// seed on the same backend, reproduces the committed weights byte for byte.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEMO_RECIPE, trainDemo } from "../apps/trainer/src/demo/train-demo";

const DEMO = join(import.meta.dirname, "..", "models", "demo");
const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { id: string; reference_id: string | null; files: Record<string, { sha256: string; bytes: number }> };

describe("models/demo", () => {
  const scratch = mkdtempSync(join(tmpdir(), "tether-demo-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it.each(["reference", "policy"])("%s: every file is listed in manifest.json with its sha256 and size", (name) => {
    const dir = join(DEMO, name);
    const { files } = manifestOf(dir);
    // eval.json (held-out KL to the reference, task accuracy, retention) exists for policies only
    const required = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json", "sketch.json", "onnx/model.onnx"];
    for (const file of name === "policy" ? [...required, "eval.json"] : required) {
      expect(files[file], `${name}/${file}`).toBeDefined();
    }
    for (const [path, { sha256: expected, bytes }] of Object.entries(files)) {
      const buffer = readFileSync(join(dir, path));
      expect(buffer.length, path).toBe(bytes);
      expect(sha256(join(dir, path)), path).toBe(expected);
    }
  });

  it("the policy is anchored to the committed reference", () => {
    expect(manifestOf(join(DEMO, "policy")).reference_id).toBe(manifestOf(join(DEMO, "reference")).id);
  });

  // ~3 min on one core: the whole recipe, as `npm run train:demo` runs it, into a scratch folder.
  it("retraining with the recipe's seed on the wasm backend reproduces the committed weights", async () => {
    const out = join(scratch, "demo");
    await trainDemo({ ...DEMO_RECIPE, out }, () => {});
    for (const name of ["reference", "policy"]) {
      expect(sha256(join(out, name, "model.safetensors")), `${name}/model.safetensors`).toBe(manifestOf(join(DEMO, name)).files["model.safetensors"]!.sha256);
    }
  }, 900_000);
});
