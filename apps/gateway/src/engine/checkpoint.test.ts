// Loading a checkpoint for serving: a real export loads; tampering, missing files and invalid side files are
// refused with one line naming the file. Each case edits a fresh copy of one exported checkpoint.
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { policyEval } from "../../../../test/support/schema-documents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadNodeCheckpoint } from "./checkpoint-node";
import { hashDirectory, sha256File } from "@tether/checkpoint/files";
import { OrtNodeEngine } from "./ort-node";
import { makeTestCheckpoint, type TestCheckpoint } from "../../../../test/test-checkpoint";

describe("loadServingCheckpoint (a directory)", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-ckpt-"));
  let ckpt: TestCheckpoint;
  let copies = 0;
  beforeAll(async () => {
    ckpt = await makeTestCheckpoint(join(root, "original"), "fused", 5);
  });
  afterAll(() => {
    ckpt.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  /** A fresh copy of the exported checkpoint. */
  function copy(): string {
    const dir = join(root, `copy-${copies++}`);
    cpSync(ckpt.dir, dir, { recursive: true });
    return dir;
  }

  /** Edit a JSON file, then rehash the manifest as an honest writer would (so only the content is wrong). */
  function editJson(dir: string, name: string, edit: (value: Record<string, unknown>) => unknown): void {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(edit(JSON.parse(readFileSync(path, "utf8")))));
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    manifest.files = hashDirectory(dir);
    manifest.tokenizer.sha256 = manifest.files["tokenizer.json"].sha256;
    writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
  }

  it("reads an exported checkpoint: stop ids, chat template, variant, sketch, no eval.json", async () => {
    const c = await loadNodeCheckpoint(ckpt.dir);
    expect(c.manifest.kind).toBe("reference");
    expect(c.config.hidden_size).toBe(64);
    expect(c.headDim).toBe(16);
    expect(c.eosTokenIds).toEqual([0, 2]);
    expect(c.chatTemplate).toContain("<|im_start|>");
    expect([c.bosToken, c.eosToken]).toEqual([null, "<|endoftext|>"]);
    expect(c.onnx.variant).toBe("fused");
    expect(c.sketch?.spec.layers).toEqual([1, 2]);
    expect(c.evalReport).toBeNull();
  });

  it("sha256File hashes in chunks what a one-shot hash gives", async () => {
    const { createHash } = await import("node:crypto");
    const path = join(ckpt.dir, "onnx", "model.onnx");
    expect(sha256File(path)).toBe(createHash("sha256").update(readFileSync(path)).digest("hex"));
  });

  it("refuses a tampered weight file, naming it", async () => {
    const dir = copy();
    const path = join(dir, "onnx", "model.onnx");
    const bytes = readFileSync(path);
    bytes[bytes.length - 100] ^= 1; // one bit of one weight, same size
    writeFileSync(path, bytes);
    await expect(loadNodeCheckpoint(dir)).rejects.toThrow(/manifest\.json: checkpoint files do not match the manifest.*onnx\/model\.onnx: sha256 [0-9a-f]{64}, manifest says/);
    await expect(OrtNodeEngine.load(dir)).rejects.toThrow(/onnx\/model\.onnx: sha256/);
  });

  it("verified: true (a pool thread loading what its main thread checked) reads the manifest without hashing", async () => {
    const dir = copy();
    const path = join(dir, "onnx", "model.onnx");
    const bytes = readFileSync(path);
    bytes[bytes.length - 100] ^= 1; // a change the hashes would catch
    writeFileSync(path, bytes);
    const c = await loadNodeCheckpoint(dir, "fp32", { verified: true });
    expect(c.manifest).toEqual(JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")));
    await expect(loadNodeCheckpoint(join(root, "nowhere"), "fp32", { verified: true })).rejects.toThrow(/nowhere\/manifest\.json: not found/);
  });

  it("refuses a grown file and a file the manifest does not list", async () => {
    const dir = copy();
    appendFileSync(join(dir, "config.json"), " ");
    writeFileSync(join(dir, "extra.bin"), "x");
    await expect(loadNodeCheckpoint(dir)).rejects.toThrow(/config\.json: \d+ bytes, manifest says \d+; extra\.bin: not in manifest/);
  });

  it("says how to export when onnx/model.onnx is missing, and what a checkpoint is when manifest.json is", async () => {
    const dir = copy();
    rmSync(join(dir, "onnx"), { recursive: true });
    await expect(loadNodeCheckpoint(dir)).rejects.toThrow(`${join(dir, "onnx", "model.onnx")}: not found — the checkpoint has no ONNX decoder yet; run \`npm run train -- export ${dir}\``);
    rmSync(join(dir, "manifest.json"));
    await expect(loadNodeCheckpoint(dir)).rejects.toThrow(/manifest\.json: not found \(is .* a checkpoint directory\?\)/);
  });

  it("names the file and field of invalid config.json, generation_config.json, sketch.json and export.json", async () => {
    const cases: [string, (v: Record<string, unknown>) => unknown, RegExp][] = [
      ["config.json", (v) => ({ ...v, num_key_value_heads: 3 }), /config\.json: num_attention_heads: must be divisible by num_key_value_heads/],
      ["generation_config.json", (v) => ({ ...v, eos_token_id: [0, 100] }), /generation_config\.json: eos_token_id must be token ids in \[0, 99\] \(got 100\)/],
      ["sketch.json", (v) => ({ ...v, version: 2 }), /sketch\.json: version: /],
      [join("onnx", "export.json"), (v) => ({ ...v, variant: "turbo" }), /export\.json: variant must be "standard" or "fused" \(got "turbo"\)/],
      ["tokenizer_config.json", (v) => ({ ...v, chat_template: 7 }), /tokenizer_config\.json: chat_template must be a string/],
    ];
    for (const [name, edit, message] of cases) {
      const dir = copy();
      editJson(dir, name, edit);
      await expect(loadNodeCheckpoint(dir), name).rejects.toThrow(message);
      await expect(loadNodeCheckpoint(dir), name).rejects.toThrow(/^[^\n]*$/); // one line
    }
  });

  it("a single eos_token_id, a named chat-template list and a valid eval.json are read", async () => {
    const dir = copy();
    editJson(dir, "generation_config.json", (v) => ({ ...v, eos_token_id: 2 }));
    editJson(dir, "tokenizer_config.json", (v) => ({ ...v, chat_template: [{ name: "tool_use", template: "T" }, { name: "default", template: "D" }] }));
    writeFileSync(join(dir, "eval.json"), JSON.stringify(policyEval()));
    editJson(dir, "eval.json", (v) => v);
    const c = await loadNodeCheckpoint(dir);
    expect(c.eosTokenIds).toEqual([2]);
    expect(c.chatTemplate).toBe("D");
    expect(c.evalReport?.kl.per_request_kl_mean.count).toBe(200);
    editJson(dir, "eval.json", (v) => ({ ...v, kl: { mean_token_kl: -1 } }));
    await expect(loadNodeCheckpoint(dir)).rejects.toThrow(/eval\.json: kl\.mean_token_kl: /);
  });
});
