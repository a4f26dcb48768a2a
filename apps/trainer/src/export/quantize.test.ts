// Weight-only int8 export against independent computations: hand-checked per-channel quantisation, the float64
// reference forward pass (logits of the int8 graph within the stated tolerance), a float64 KL recomputed from
// separate ONNX Runtime runs (the export's recorded KL(int8 ‖ fp32)), the structural and onnx.checker checks,
// and the manifest that must verify with the new file.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyCheckpoint } from "@tether/checkpoint/files";
import { parseTrainerConfig } from "@tether/shared/schemas/trainer-config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kl64 } from "../../../../test/float64-math";
import { initBackend } from "../backend";
import { exportCheckpoint, type ExportRecord } from "../commands/export";
import { referenceLogits } from "../model/reference-forward";
import { disposeParams, type Params } from "../model/params";
import { readTokenizerDir } from "../tokenizer/tokenizer";
import { checkGraph, pythonOnnxAvailable, runOnnxChecker } from "./check-graph";
import type { DecoderWeights } from "./decoder-io";
import { decodeModel } from "./onnx-builder";
import { createSession, runStep } from "./ort-decode";
import { QUANTIZATION_TOLERANCE } from "./quantize-eval";
import { quantizeColumns } from "./quantize";
import { calibrationSequences } from "./sketch-plan";
import { randomModel, tinyConfig, writeTinyCheckpoint } from "../../../../test/support/checkpoint-fixtures";

describe("quantizeColumns", () => {
  it("scales each output column by its max |w| / 127 and rounds to the nearest step", () => {
    // [K = 2, N = 3]: columns (1, −0.3), (0, 0), (0.01, 0.254); an all-zero column gets scale 1
    const { q, scale } = quantizeColumns(Float32Array.of(1, 0, 0.01, -0.3, 0, 0.254), 2, 3);
    expect(Array.from(scale)).toEqual([Math.fround(1 / 127), 1, Math.fround(Math.fround(0.254) / 127)]);
    expect(Array.from(q)).toEqual([127, 0, 5, -38, 0, 127]); // −0.3·127 = −38.1, 0.01·127/0.254 = 5
  });
});

describe.each(["standard", "fused"] as const)("export --quantize int8 (%s)", (variant) => {
  const root = mkdtempSync(join(tmpdir(), `tether-int8-${variant}-`));
  const c = tinyConfig();
  let params: Params;
  let weights: DecoderWeights;
  const dir = join(root, "ckpt");
  let record: ExportRecord;
  beforeAll(async () => {
    await initBackend();
    ({ params, weights } = randomModel(c, 41));
    writeTinyCheckpoint(dir, c, params);
    await exportCheckpoint(parseTrainerConfig({ command: "export", input: dir, onnxVariant: variant, quantize: "int8" }), () => {});
    record = JSON.parse(readFileSync(join(dir, "onnx", "export.json"), "utf8")) as ExportRecord;
  }, 120_000);
  afterAll(() => {
    disposeParams(params);
    rmSync(root, { recursive: true, force: true });
  });

  it("writes onnx/model_int8.onnx beside model.onnx, well formed, listed in a manifest that verifies", () => {
    const m = verifyCheckpoint(dir);
    expect(Object.keys(m.files)).toEqual(expect.arrayContaining(["onnx/model.onnx", "onnx/model_int8.onnx"]));
    const path = join(dir, "onnx", "model_int8.onnx");
    const model = decodeModel(readFileSync(path));
    expect(checkGraph(model)).toEqual([]);
    const ops = model.graph!.node!.map((n) => n.opType);
    expect(ops.filter((o) => o === "DequantizeLinear").length).toBe(record.quantized!.matrices);
    expect(record.quantized!.matrices).toBe(variant === "fused" ? c.numLayers * 5 + 1 : c.numLayers * 7 + 1); // + LM head
    expect(record.quantized!.weight_bytes.quantized).toBeLessThan(0.6 * record.quantized!.weight_bytes.fp32);
    expect(record.quantized!.onnx_checker).toBe(pythonOnnxAvailable() ? "passed" : "not installed");
    if (pythonOnnxAvailable()) expect(runOnnxChecker(path)).toBeNull();
  });

  it("its logits stay within the stated tolerance of the float64 reference forward pass", async () => {
    const ids = [1, 7, 33, 2, 90, 45, 12, 5];
    const ref = referenceLogits(weights, c, ids);
    const session = await createSession(join(dir, "onnx", "model_int8.onnx"));
    const out = await runStep(session, c, { ids: [ids], mask: [ids.map(() => 1)], positions: [ids.map((_, t) => t)] });
    await session.release();
    const got = out.logits!.data as Float32Array;
    let diff = 0;
    let scale = 0;
    ref.forEach((row, t) => row.forEach((v, j) => {
      diff = Math.max(diff, Math.abs(got[t * c.vocabSize + j]! - v));
      scale = Math.max(scale, Math.abs(v));
    }));
    console.log(`[${variant}] int8 vs float64 reference: max |Δlogit| ${diff.toExponential(2)} (max |logit| ${scale.toFixed(2)})`);
    expect(diff).toBeGreaterThan(0); // the weights really are quantised
    expect(diff).toBeLessThanOrEqual(QUANTIZATION_TOLERANCE.logits_rel * Math.max(1, scale));
  });

  it("export.json records KL(int8 ‖ fp32) per token on the held-out prompts, as a float64 recomputation gives", async () => {
    const q = record.quantized!;
    expect(q.passed).toBe(true);
    const sequences = calibrationSequences(readTokenizerDir(dir), c, 42).slice(0, q.heldout.sequences);
    const [fp32, int8] = await Promise.all(["model.onnx", "model_int8.onnx"].map((f) => createSession(join(dir, "onnx", f))));
    let sum = 0;
    let tokens = 0;
    for (const ids of sequences) {
      const [a, b] = await Promise.all([fp32!, int8!].map(async (s) => (await runStep(s, c, { ids: [ids], mask: [ids.map(() => 1)], positions: [ids.map((_, t) => t)] })).logits!.data as Float32Array));
      for (let t = 0; t < ids.length; t++) sum += kl64(b!.subarray(t * c.vocabSize, (t + 1) * c.vocabSize), a!.subarray(t * c.vocabSize, (t + 1) * c.vocabSize));
      tokens += ids.length;
    }
    await Promise.all([fp32!.release(), int8!.release()]);
    expect(q.heldout.tokens).toBe(tokens);
    expect(sum / tokens).toBeGreaterThan(0);
    expect(q.kl_quantized_fp32.mean).toBeCloseTo(sum / tokens, 9);
    expect(q.kl_quantized_fp32.mean).toBeLessThanOrEqual(QUANTIZATION_TOLERANCE.kl_mean);
  });

  it("a later export without --quantize removes the stale int8 graph", async () => {
    const again = join(root, "again");
    writeTinyCheckpoint(again, c, params);
    await exportCheckpoint(parseTrainerConfig({ command: "export", input: again, onnxVariant: variant, quantize: "int8" }), () => {});
    expect(existsSync(join(again, "onnx", "model_int8.onnx"))).toBe(true);
    await exportCheckpoint(parseTrainerConfig({ command: "export", input: again, onnxVariant: variant }), () => {});
    expect(existsSync(join(again, "onnx", "model_int8.onnx"))).toBe(false);
    expect(Object.keys(verifyCheckpoint(again).files)).not.toContain("onnx/model_int8.onnx");
  }, 120_000);
});

describe("export --quantize int4", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-int4-"));
  const c = tinyConfig();
  let params: Params;
  beforeAll(async () => {
    await initBackend();
    ({ params } = randomModel(c, 41));
  });
  afterAll(() => {
    disposeParams(params);
    rmSync(root, { recursive: true, force: true });
  });

  it("measures the int4 graph like the int8 one and keeps it only within the same tolerances", async () => {
    const dir = join(root, "ckpt");
    writeTinyCheckpoint(dir, c, params);
    await exportCheckpoint(parseTrainerConfig({ command: "export", input: dir, onnxVariant: "standard", quantize: "int8" }), () => {});
    const lines: string[] = [];
    const outcome = await exportCheckpoint(parseTrainerConfig({ command: "export", input: dir, onnxVariant: "standard", quantize: "int4" }), (l) => void lines.push(l)).then(
      () => null,
      (e: Error) => e.message,
    );
    const measured = lines.find((l) => l.includes("wrote onnx/model_int4.onnx"));
    const kl = Number(/KL\(int4 ‖ fp32\) (\S+) nats\/token/.exec(measured ?? "")?.[1]);
    console.log(`int4 on the random tiny model: ${measured}; ${outcome ?? "kept"}`);
    expect(kl).toBeGreaterThan(0);
    expect(existsSync(join(dir, "onnx", "model_int8.onnx"))).toBe(outcome !== null); // untouched by a failed export, replaced by a kept int4 graph
    if (outcome === null) {
      const record = JSON.parse(readFileSync(join(dir, "onnx", "export.json"), "utf8")) as ExportRecord;
      expect(record.quantized).toMatchObject({ dtype: "int4", file: "onnx/model_int4.onnx", passed: true });
      expect(record.quantized!.kl_quantized_fp32.mean).toBeCloseTo(kl, 2);
      expect(Object.keys(verifyCheckpoint(dir).files)).toContain("onnx/model_int4.onnx");
      const ops = decodeModel(readFileSync(join(dir, "onnx", "model_int4.onnx"))).graph!.node!.map((n) => n.opType);
      expect(ops.filter((o) => o === "MatMulNBits").length).toBe(record.quantized!.matrices);
    } else {
      expect(outcome).toMatch(/the int4 graph is outside its tolerance .*onnx\/model_int4\.onnx not kept/);
      expect(existsSync(join(dir, "onnx", "model_int4.onnx"))).toBe(false);
      expect(kl > QUANTIZATION_TOLERANCE.kl_mean || /Δlogit|moved/.test(outcome)).toBe(true);
    }
  }, 120_000);
});

