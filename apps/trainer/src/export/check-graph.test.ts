import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeSketchSpec } from "@tether/shared/sketch/index";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../backend";
import { disposeParams } from "../model/params";
import { checkGraph, pythonOnnxAvailable, runOnnxChecker } from "./check-graph";
import { buildDecoder } from "./decoder";
import { writeModel } from "./external-data";
import { GraphBuilder, DataType, type onnx } from "./onnx-builder";
import { addSketchOutputs } from "./sketch-outputs";
import { graphParts, randomModel, tinyConfig, UNTIED_GQA } from "../../../../test/support/checkpoint-fixtures";

const VARIANTS = ["standard", "fused"] as const;

describe("structural graph check", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-check-"));
  const models: [string, onnx.ModelProto][] = [];
  beforeAll(async () => {
    await initBackend();
    for (const c of [tinyConfig(), UNTIED_GQA]) {
      const { params, weights } = randomModel(c, 1);
      for (const v of VARIANTS) {
        const model = buildDecoder(c, weights, v);
        models.push([`${v} L=${c.numLayers}`, model]);
        const spec = makeSketchSpec({ d: c.hiddenSize, layers: [1, c.numLayers], m: 16 });
        models.push([`${v} L=${c.numLayers} + sketch`, addSketchOutputs(model, spec)]);
      }
      disposeParams(params);
    }
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("every exported graph (both variants, tied and untied, with and without sketch outputs) is well formed", () => {
    for (const [label, model] of models) expect(checkGraph(model), label).toEqual([]);
  });

  it("each graph carries the I/O contract and one initializer per weight (a tied head is not stored twice)", () => {
    for (const [label, model] of models) {
      const g = graphParts(model);
      const L = label.includes("L=2") ? 2 : 3;
      const inputs = ["input_ids", "attention_mask", "position_ids", ...Array.from({ length: L }, (_, i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`]).flat()];
      expect(g.input.map((i) => i.name), label).toEqual(inputs);
      const outputs = ["logits", ...Array.from({ length: L }, (_, i) => [`present.${i}.key`, `present.${i}.value`]).flat()];
      expect(g.output.map((o) => o.name).slice(0, outputs.length), label).toEqual(outputs);
      const produced = new Set(g.node.flatMap((n) => n.output ?? []));
      for (let l = 0; l <= L; l++) expect(produced.has(`hidden_states.${l}`), `${label} hidden_states.${l}`).toBe(true);
      const names = g.initializer.map((t) => t.name);
      expect(names.filter((n) => n === "model.embed_tokens.weight")).toHaveLength(1);
      expect(names.includes("lm_head.weight"), label).toBe(L === 3); // UNTIED_GQA has 3 blocks
      const domains = new Set(g.node.map((n) => n.domain || ""));
      expect([...domains].sort(), label).toEqual(label.startsWith("fused") ? ["", "com.microsoft"] : [""]);
    }
  });

  it("finds undefined inputs, out-of-order nodes, duplicate values, undeclared domains and missing outputs", () => {
    const g = new GraphBuilder("broken");
    const x = g.input("x", DataType.FLOAT, ["n"]);
    g.node("Relu", ["later"], { name: "/a/Relu", outputs: ["y"] }); // reads a value defined after it
    g.node("Neg", [x], { name: "/b/Neg", outputs: ["later"] });
    g.node("Neg", [x], { name: "/b/Neg", outputs: ["later"] }); // same node name, same output name
    g.node("Gelu", ["ghost"], { name: "/c/Gelu", outputs: ["z"], domain: "com.microsoft" });
    g.output("missing", DataType.FLOAT, ["n"]);
    const problems = checkGraph(g.model([{ domain: "", version: 17 }]));
    expect(problems).toEqual([
      'node #0 Relu "/a/Relu": input "later" is not a graph input, initializer or earlier output',
      'node #2 Neg "/b/Neg": name is used by an earlier node',
      'node #2 Neg "/b/Neg" output "later" is defined more than once',
      'node #3 Gelu "/c/Gelu": domain "com.microsoft" is not in opset_import',
      'node #3 Gelu "/c/Gelu": input "ghost" is not a graph input, initializer or earlier output',
      'graph output "missing" is not produced',
    ]);
  });

  // Skipped exactly when `python3 -c "import onnx"` fails (onnx is not installed on every machine).
  it.skipIf(!pythonOnnxAvailable())("onnx.checker.check_model accepts every exported graph", () => {
    models.forEach(([label, model], i) => {
      const path = join(root, `m${i}`, "model.onnx");
      writeModel(model, path, { maxInlineBytes: i % 2 ? 0 : undefined }); // external data on half of them
      expect(runOnnxChecker(path), label).toBeNull();
    });
  });
});
