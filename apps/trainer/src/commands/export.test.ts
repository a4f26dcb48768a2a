import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseTrainerConfig } from "@tether/shared/schemas/trainer-config";
import { makeSketchSpec, parseSketchJson, ReferenceStatsBuilder } from "@tether/shared/sketch/index";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../backend";
import { verifyCheckpoint } from "@tether/checkpoint/files";
import { saveCheckpoint } from "../checkpoint/save-load";
import { pythonOnnxAvailable } from "../export/check-graph";
import { decodeModel } from "../export/onnx-builder";
import { createSession } from "../export/ort-decode";
import { graphParts, randomModel, tinyConfig, writeTinyCheckpoint } from "../../../../test/support/checkpoint-fixtures";
import { buildCharBpe } from "../tokenizer/char-bpe";
import { disposeParams, type Params } from "../model/params";
import { exportCheckpoint, type ExportRecord } from "./export";

const quiet = () => {};

describe("tether-train export", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-export-"));
  const c = tinyConfig();
  let params: Params;
  beforeAll(async () => {
    await initBackend();
    params = randomModel(c, 31).params;
  });
  afterAll(() => {
    disposeParams(params);
    rmSync(root, { recursive: true, force: true });
  });

  it("writes onnx/model.onnx with sketch outputs, sketch.json, export.json and a manifest that hashes them all", async () => {
    const dir = join(root, "ref");
    writeTinyCheckpoint(dir, c, params);
    const before = verifyCheckpoint(dir);
    const lines: string[] = [];
    const result = await exportCheckpoint(parseTrainerConfig({ command: "export", input: dir }), (l) => lines.push(l));
    expect(lines.join("\n")).toMatch(/standard max \|Δlogit\| vs float64 reference .*decode step/);
    expect(lines.join("\n")).toMatch(/sketch\.json from 256 calibration requests/);

    const m = verifyCheckpoint(dir);
    expect(m.id).toBe(before.id);
    expect(m.created_at).toBe(before.created_at);
    expect(Object.keys(m.files).sort()).toEqual([
      "config.json", "generation_config.json", "model.safetensors", "onnx/export.json", "onnx/model.onnx", "sketch.json", "tokenizer.json", "tokenizer_config.json",
    ]);
    const record = JSON.parse(readFileSync(join(dir, "onnx", "export.json"), "utf8")) as ExportRecord;
    expect(record.variant).toBe(result.variant);
    expect(record.opsets).toEqual(result.variant === "fused" ? [{ domain: "", version: 17 }, { domain: "com.microsoft", version: 1 }] : [{ domain: "", version: 17 }]);
    expect(record.variants.map((v) => [v.variant, v.parityPassed])).toEqual([["standard", true], ["fused", true]]);
    expect(record.external_data).toBe(false);
    expect(record.onnx_checker).toBe(pythonOnnxAvailable() ? "passed" : "not installed");

    const sketch = parseSketchJson(readFileSync(join(dir, "sketch.json"), "utf8"));
    expect(sketch.spec).toMatchObject({ d: 64, m: 64, layers: [1, 2], seed: 0 });
    expect(sketch.layers.map((l) => l.count)).toEqual([256, 256]);
    const session = await createSession(join(dir, "onnx", "model.onnx"));
    expect(session.outputNames).toEqual(["logits", "present.0.key", "present.0.value", "present.1.key", "present.1.value", "sketch.1", "sketch.2"]);
    await session.release();

    appendFileSync(join(dir, "onnx", "model.onnx"), "x");
    expect(() => verifyCheckpoint(dir)).toThrow(/onnx\/model\.onnx: \d+ bytes, manifest says/);
  });

  it("an interrupted export (stray or half-written onnx/ files) is repaired by exporting again; tampered weights are still refused", async () => {
    const dir = join(root, "interrupted");
    writeTinyCheckpoint(dir, c, params);
    mkdirSync(join(dir, "onnx"), { recursive: true });
    writeFileSync(join(dir, "onnx", "model.onnx"), "half-written"); // unlisted in the manifest
    expect(() => verifyCheckpoint(dir)).toThrow(/onnx\/model\.onnx: not in manifest/);
    await exportCheckpoint(parseTrainerConfig({ command: "export", input: dir, onnxVariant: "standard" }), quiet);
    const first = verifyCheckpoint(dir).files["onnx/model.onnx"]!.sha256;
    appendFileSync(join(dir, "onnx", "model.onnx"), "x"); // a re-export killed mid-write
    await exportCheckpoint(parseTrainerConfig({ command: "export", input: dir, onnxVariant: "standard" }), quiet);
    expect(verifyCheckpoint(dir).files["onnx/model.onnx"]!.sha256).toBe(first); // same graph, rehashed
    appendFileSync(join(dir, "model.safetensors"), "x");
    await expect(exportCheckpoint(parseTrainerConfig({ command: "export", input: dir }), quiet)).rejects.toThrow(/model\.safetensors/);
  });

  it("--data: sketch.json is calibrated on the given requests, and export.json names them", async () => {
    const dir = join(root, "calibrated");
    writeTinyCheckpoint(dir, c, params);
    const data = join(root, "calibration.jsonl");
    writeFileSync(data, Array.from({ length: 5 }, (_, i) => JSON.stringify({ prompt: `${i}+${i}=`, completion: String(2 * i) })).join("\n"));
    await exportCheckpoint(parseTrainerConfig({ command: "export", input: dir, onnxVariant: "standard", data }), quiet);
    const sketch = parseSketchJson(readFileSync(join(dir, "sketch.json"), "utf8"));
    expect(sketch.layers.every((l) => l.count === 5)).toBe(true);
    const record = JSON.parse(readFileSync(join(dir, "onnx", "export.json"), "utf8")) as ExportRecord;
    expect(record.sketch).toMatchObject({ calibration_requests: 5, calibration_data: data });
  });

  it("--reference with a sketch.json: the policy's sketch reuses the reference's spec (same projections)", async () => {
    const reference = join(root, "with-sketch");
    mkdirSync(reference);
    const spec = makeSketchSpec({ d: 64, layers: [2], seed: 9, m: 8 });
    const builder = new ReferenceStatsBuilder(spec);
    for (let k = 0; k < 3; k++) builder.addRequest([Array.from({ length: 8 }, (_, i) => i * k)]);
    writeFileSync(join(reference, "sketch.json"), JSON.stringify(builder.build()));
    const policy = join(root, "policy");
    const files = buildCharBpe();
    saveCheckpoint({
      dir: policy, kind: "policy", referenceId: "reference-x", config: c, params, files: { "tokenizer.json": JSON.stringify(files.tokenizerJson) },
      training: { command: "sft", config: {}, seed: 1, backend: "test", steps: 0, metrics: {} },
    });
    await exportCheckpoint(parseTrainerConfig({ command: "export", input: policy, reference, onnxVariant: "standard" }), quiet);
    expect(parseSketchJson(readFileSync(join(policy, "sketch.json"), "utf8")).spec).toEqual(spec);
    const outputs = graphParts(decodeModel(readFileSync(join(policy, "onnx", "model.onnx")))).output.map((o) => o.name ?? "");
    expect(outputs.filter((n) => n.startsWith("sketch."))).toEqual(["sketch.2"]);
    expect(JSON.parse(readFileSync(join(policy, "generation_config.json"), "utf8"))).toEqual({ bos_token_id: 0, eos_token_id: 0, pad_token_id: 0 });
    expect(verifyCheckpoint(policy).files["onnx/model.onnx"]).toBeDefined();

    writeFileSync(join(reference, "sketch.json"), JSON.stringify({ ...builder.build(), spec: { ...spec, d: 32 } }));
    await expect(exportCheckpoint(parseTrainerConfig({ command: "export", input: policy, reference }), quiet)).rejects.toThrow(/sketches width 32, this model has hidden_size 64/);
  });

  it("the CLI runs it (exit 0, progress on stderr), re-exports in place, and refuses a missing <ckpt> with exit 2", () => {
    const dir = join(root, "cli");
    writeTinyCheckpoint(dir, c, params);
    const cli = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "apps/trainer/src/cli.ts", ...args], { encoding: "utf8" });
    for (let i = 0; i < 2; i++) {
      const r = cli("export", dir, "--onnx-variant", "fused");
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/tether-train: export: fused variant\n/);
    }
    expect(existsSync(join(dir, "onnx", "model.onnx"))).toBe(true);
    expect(verifyCheckpoint(dir).files["sketch.json"]).toBeDefined();
    const missing = cli("export");
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toMatch(/^tether-train export: <input>: is required: tether-train export <ckpt>/);
  });
});
