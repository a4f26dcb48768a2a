// Serving int8 weights: the committed demo policy exported again with `--quantize int8` into a temp copy, loaded
// with weights "int8", decodes with logits within the export's stated tolerance of the fp32 graph (and not equal
// to them), reads model_int8.onnx only when asked, and names the export command when the file is missing.
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseTrainerConfig } from "@tether/shared/schemas/trainer-config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportCheckpoint } from "../../../trainer/src/commands/export";
import { QUANTIZATION_TOLERANCE } from "../../../trainer/src/export/quantize-eval";
import { OrtNodeEngine } from "./ort-node";

const DEMO = join(import.meta.dirname, "../../../../models/demo");

describe("OrtNodeEngine with int8 weights", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-int8-serve-"));
  const dir = join(root, "policy");
  beforeAll(async () => {
    cpSync(join(DEMO, "policy"), dir, { recursive: true });
    await exportCheckpoint(parseTrainerConfig({ command: "export", input: dir, onnxVariant: "standard", quantize: "int8", reference: join(DEMO, "reference") }), () => {});
  }, 120_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("decodes from onnx/model_int8.onnx with logits within the stated tolerance of fp32", async () => {
    const [fp32, int8] = await Promise.all([OrtNodeEngine.load(dir, { intraOpNumThreads: 1 }), OrtNodeEngine.load(dir, { intraOpNumThreads: 1, weights: "int8" })]);
    expect(int8.checkpoint.onnx.path).toMatch(/onnx\/model_int8\.onnx$/);
    expect(fp32.checkpoint.onnx.path).toMatch(/onnx\/model\.onnx$/);
    // The raw prompt form the demo was trained on, like the held-out base-corpus sequences export.json's tolerance
    // was measured on (quantized.heldout): wrapped in ChatML tokens it never trained on, the 0.6M demo policy's
    // int8 moved the logits further than that (2.7 against a bound of 0.73).
    const prompt = fp32.tokenizer.encode("12+7=");
    const tokens = [...fp32.tokenizer.encode("19"), fp32.info.eosTokenIds[0]!];
    const decode = async (engine: OrtNodeEngine) => {
      const session = await engine.startDecode(prompt, 2);
      const outs = [(await session.prefill()).logits];
      for (const t of tokens) outs.push((await session.step(Int32Array.of(t, t))).logits);
      session.close();
      return outs;
    };
    const [a, b] = [await decode(fp32), await decode(int8)];
    let diff = 0;
    let scale = 0;
    a.forEach((row, k) => row.forEach((v, i) => {
      diff = Math.max(diff, Math.abs(v - b[k]![i]!));
      scale = Math.max(scale, Math.abs(v));
    }));
    await Promise.all([fp32.dispose(), int8.dispose()]);
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThanOrEqual(QUANTIZATION_TOLERANCE.logits_rel * Math.max(1, scale));
  });

  it("names the export command when the checkpoint has no int8 (or int4) graph", async () => {
    await expect(OrtNodeEngine.load(join(DEMO, "reference"), { weights: "int8" })).rejects.toThrow(/model_int8\.onnx: not found .*--quantize int8/);
    await expect(OrtNodeEngine.load(join(DEMO, "reference"), { weights: "int4" })).rejects.toThrow(/model_int4\.onnx: not found — the checkpoint has no int4 ONNX decoder yet; run `npm run train -- export \S+ --quantize int4`/);
  });
});
