import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../backend";
import { disposeParams } from "../model/params";
import { buildDecoder } from "./decoder";
import { EXTERNAL_ALIGNMENT, MIN_EXTERNAL_TENSOR_BYTES, writeModel } from "./external-data";
import { decodeModel, onnx } from "./onnx-builder";
import { createSession, runStep } from "./ort-decode";
import { graphParts, outputData, randomModel, tinyConfig } from "../../../../test/support/checkpoint-fixtures";

describe("external data (models over 2 GB of initializers)", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-extdata-"));
  beforeAll(async () => {
    await initBackend();
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("a tiny model forced to external data loads in ORT from its path and gives the inline model's logits", async () => {
    const c = tinyConfig();
    const { params, weights } = randomModel(c, 2);
    const model = buildDecoder(c, weights, "standard");
    const inlinePath = join(root, "inline", "model.onnx");
    const externalPath = join(root, "external", "model.onnx");
    expect(writeModel(model, inlinePath).external).toBe(false);
    const written = writeModel(model, externalPath, { maxInlineBytes: 0 });
    expect(written.external).toBe(true);
    expect(written.files).toEqual([externalPath, `${externalPath}_data`]);
    expect(statSync(externalPath).size).toBeLessThan(statSync(inlinePath).size / 10);

    // Read the side file by hand: every moved tensor sits at a 4096-aligned offset with its original bytes.
    const data = readFileSync(`${externalPath}_data`);
    const originals = new Map(graphParts(model).initializer.map((t) => [t.name ?? "", t.rawData ?? new Uint8Array(0)]));
    const reread = decodeModel(readFileSync(externalPath));
    let moved = 0;
    for (const t of graphParts(reread).initializer) {
      const original = originals.get(t.name ?? "")!;
      if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) {
        expect(original.length, t.name ?? "").toBeLessThan(MIN_EXTERNAL_TENSOR_BYTES);
        continue;
      }
      const entry = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
      expect(entry.location).toBe("model.onnx_data");
      const offset = Number(entry.offset);
      expect(offset % EXTERNAL_ALIGNMENT).toBe(0);
      expect(Number(entry.length)).toBe(original.length);
      expect(Buffer.compare(data.subarray(offset, offset + original.length), Buffer.from(original))).toBe(0);
      expect(t.rawData?.length ?? 0).toBe(0);
      moved++;
    }
    expect(moved).toBeGreaterThan(10);
    expect(graphParts(model).initializer.every((t) => (t.rawData?.length ?? 0) > 0)).toBe(true); // the input model is untouched

    const step = { ids: [[3, 14, 15, 92, 65]], mask: [[1, 1, 1, 1, 1]], positions: [[0, 1, 2, 3, 4]] };
    const logits = async (path: string) => {
      const session = await createSession(path);
      const out = outputData(await runStep(session, c, step), "logits");
      await session.release();
      return out;
    };
    expect(await logits(externalPath)).toEqual(await logits(inlinePath));

    // Re-exporting inline removes the stale side file.
    writeModel(model, externalPath);
    expect(existsSync(`${externalPath}_data`)).toBe(false);
    disposeParams(params);
  });
});
