import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { initBackend } from "../backend";
import { validateModelConfig } from "../model/config";
import { disposeParams, initParams } from "../model/params";
import { forward } from "../model/qwen2";
import { buildFusedDecoder } from "./graph-fused";
import { buildStandardDecoder } from "./graph-standard";
import { weightsFromParams } from "./weights";
import { createLayerProjections, makeSketchSpec, sketchTokens, type SketchSpec } from "@tether/shared/sketch/index";
import { addSketchOutputs, findResidual } from "./sketch-outputs";
import { TOY, buildToyDecoder, encodeModel, toyFeeds, toyForward, toyWeights, type ToyStyle } from "../../../../test/support/sketch-test-graphs";

const P = onnxProto.onnx;
const weights = toyWeights(7);
// Right-padded batch: row 1 is shorter, so its last 3 positions are padding.
const batch = [[1, 5, 7, 2, 12, 0, 9, 3], [4, 4, 11, 6, 8]];
const sessions: ort.InferenceSession[] = [];

async function run(model: InstanceType<typeof P.ModelProto>) {
  const session = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1 });
  sessions.push(session);
  return { session, outputs: await session.run(toyFeeds(batch).feeds) };
}

afterAll(async () => {
  for (const s of sessions) await s.release();
});

// max |got − ref| over the real tokens of every row, relative to max |ref|.
function relativeError(got: Float32Array, spec: SketchSpec, layerIndex: number, T: number): number {
  const S = createLayerProjections(spec)[layerIndex];
  let err = 0;
  let scale = 0;
  batch.forEach((seq, b) => {
    const ref = sketchTokens(S, toyForward(weights, seq).hidden[spec.layers[layerIndex]], spec.eps); // [len, m], float64
    for (let i = 0; i < ref.length; i++) {
      err = Math.max(err, Math.abs(got[b * T * spec.m + i] - ref[i]));
      scale = Math.max(scale, Math.abs(ref[i]));
    }
  });
  return err / scale;
}

describe("addSketchOutputs", () => {
  const cases: [ToyStyle, SketchSpec][] = [
    ["named", makeSketchSpec({ d: TOY.d, layers: [0, 1, 3], m: 6, seed: 3 })],
    ["optimum", makeSketchSpec({ d: TOY.d, layers: [0, 2, 3], m: 5, seed: 11 })],
    ["fused", makeSketchSpec({ d: TOY.d, layers: [0, 1, 2, 3], m: 16, seed: 0 })],
    // A large ε changes every value, so a dropped or misplaced ε cannot pass.
    ["named", makeSketchSpec({ d: TOY.d, layers: [2], m: 4, seed: 5, eps: 0.5 })],
  ];

  it.each(cases)("%s graph: original outputs bit-identical, sketch.{l} = float64 sketchTokens of the hidden states", async (style, spec) => {
    const original = buildToyDecoder(style, weights);
    const before = await run(original);
    const edited = addSketchOutputs(original, spec);
    expect(original.graph!.output!.map((o) => o.name)).toEqual(before.session.outputNames); // input not mutated
    const after = await run(edited);

    const names = before.session.outputNames;
    expect(after.session.outputNames).toEqual([...names, ...spec.layers.map((l) => `sketch.${l}`)]);
    for (const name of names) {
      const [a, b] = [before.outputs[name], after.outputs[name]];
      expect(b.dims).toEqual(a.dims);
      expect(Buffer.from((b.data as Float32Array).buffer).equals(Buffer.from((a.data as Float32Array).buffer)), name).toBe(true);
    }
    const T = batch[0].length;
    spec.layers.forEach((l, k) => {
      const out = after.outputs[`sketch.${l}`];
      expect(out.dims).toEqual([batch.length, T, spec.m]);
      expect(relativeError(out.data as Float32Array, spec, k, T)).toBeLessThan(1e-4);
    });
    const declared = edited.graph!.output!.at(-1)!.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
    expect(declared).toEqual(["batch_size", "sequence_length", spec.m]);
  });

  it("takes ReduceMean axes from the model's opset: attribute before 18, input from 18", () => {
    const spec = makeSketchSpec({ d: TOY.d, layers: [1], m: 4 });
    const reduce = (style: ToyStyle) => addSketchOutputs(buildToyDecoder(style, weights), spec).graph!.node!.find((n) => n.name === "/sketch/layers.1/ReduceMean")!;
    expect(reduce("named").input).toHaveLength(1); // opset 17
    expect(reduce("named").attribute!.map((a) => a.name)).toContain("axes");
    expect(reduce("optimum").input).toEqual(["/sketch/layers.1/Mul_output_0", "sketch.axes"]); // opset 18
  });

  it("finds the residual stream by name, by input_layernorm input, and by fused skip-norm output 3", () => {
    const find = (style: ToyStyle, layer: number) => {
      const graph = buildToyDecoder(style, weights).graph!;
      return findResidual(graph, graph.node!.map((n) => P.NodeProto.create(n)), layer);
    };
    expect(find("named", 2)).toEqual({ value: "hidden_states.2", via: "hidden_states" });
    expect(find("optimum", 0)).toEqual({ value: "/model/embed_tokens/Add_output_0", via: "layernorm-input" });
    expect(find("optimum", 3)).toEqual({ value: "/model/layers.2/Add_output_0", via: "layernorm-input" });
    expect(find("fused", 2)).toEqual({ value: "/model/layers.2/residual", via: "skip-layernorm-output-3" });
    // The final skip norm has no output 3: it is added to the node.
    expect(find("fused", 3)).toEqual({ value: "/model/norm/SkipLayerNorm_output_3", via: "skip-layernorm-output-3" });
  });

  it("throws naming what it looked for when the residual stream cannot be found", () => {
    const spec = (layers: number[]) => makeSketchSpec({ d: TOY.d, layers, m: 4 });
    // hidden_states.* renamed away and no Optimum node names: nothing to find.
    const anonymous = buildToyDecoder("named", weights);
    for (const n of anonymous.graph!.node!) {
      n.input = n.input!.map((v) => v.replace("hidden_states.", "hs."));
      n.output = n.output!.map((v) => v.replace("hidden_states.", "hs."));
    }
    expect(() => addSketchOutputs(anonymous, spec([1]))).toThrow(
      /cannot find the residual stream at layer 1: looked for a value named "hidden_states.1" and \(the graph has 0 \/model\/layers/,
    );
    expect(() => addSketchOutputs(buildToyDecoder("optimum", weights), spec([2, 4]))).toThrow(
      /layer 4: looked for a value named "hidden_states.4" and \(the graph has 3 \/model\/layers.\{i\}\/ blocks\)/,
    );
  });

  it("refuses a second application and an invalid spec", () => {
    const spec = makeSketchSpec({ d: TOY.d, layers: [1, 2], m: 4 });
    const once = addSketchOutputs(buildToyDecoder("optimum", weights), spec);
    expect(() => addSketchOutputs(once, spec)).toThrow(/already has sketch outputs or initializers \(sketch\.1, sketch\.2/);
    expect(() => addSketchOutputs(buildToyDecoder("optimum", weights), { ...spec, layers: [2, 1] })).toThrow(/spec\.layers/);
  });
});

// The exporter's real decoder graphs (standard and fused variants) of a tiny Qwen2 with large random weights,
// against the trainer's tfjs forward pass (collectHidden) pushed through the shared float64 sketchTokens.
describe("addSketchOutputs on the exporter's decoder graphs", () => {
  const cfg = validateModelConfig({
    vocabSize: 40, hiddenSize: 32, intermediateSize: 48, numLayers: 3, numHeads: 4, numKvHeads: 2, headDim: 16, // fused GQA: head_dim % 16 = 0
    maxPositions: 64, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: true, bosTokenId: 0, eosTokenId: 1,
  });
  const spec = makeSketchSpec({ d: cfg.hiddenSize, layers: [0, 1, 3], m: 12, seed: 4 });
  const ids = [[3, 9, 5, 6, 7, 8, 21, 33], [1, 2, 3, 4, 5]]; // row 1 right-padded by 3
  const T = ids[0].length;
  const mask = ids.map((row) => Array.from({ length: T }, (_, t) => (t < row.length ? 1 : 0)));
  let params: ReturnType<typeof initParams>;
  let hidden: number[][][][]; // [L + 1][B][T][d]

  beforeAll(async () => {
    await initBackend("cpu");
    params = initParams(cfg, 1);
    const rng = new Pcg32(17);
    for (const [name, v] of params) {
      const data = Float32Array.from({ length: v.size }, () => (name.includes("norm") ? 1 : 0) + (rng.nextFloat() - 0.5) * 0.8);
      v.assign(tf.tensor(data, v.shape));
    }
    const padded = ids.map((row) => [...row, ...new Array<number>(T - row.length).fill(0)]);
    hidden = tf.tidy(() =>
      forward(params, cfg, tf.tensor2d(padded, undefined, "int32"), { attentionMask: tf.tensor2d(mask), collectHidden: true })
        .hidden.map((h) => h.arraySync()),
    );
  });

  afterAll(() => disposeParams(params));

  it.each([["standard", buildStandardDecoder], ["fused", buildFusedDecoder]] as const)(
    "%s: sketch.{l} matches sketchTokens of the tfjs hidden states, other outputs bit-identical",
    async (_, build) => {
      const original = build(cfg, weightsFromParams(params));
      const i64 = (rows: number[][]) => new ort.Tensor("int64", BigInt64Array.from(rows.flat(), BigInt), [rows.length, T]);
      const feeds: Record<string, ort.Tensor> = {
        input_ids: i64(ids.map((row) => [...row, ...new Array<number>(T - row.length).fill(0)])),
        attention_mask: i64(mask),
        position_ids: i64(ids.map(() => Array.from({ length: T }, (_, t) => t))),
      };
      for (let i = 0; i < cfg.numLayers; i++) {
        for (const kind of ["key", "value"]) {
          feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor("float32", new Float32Array(0), [2, cfg.numKvHeads, 0, cfg.headDim]);
        }
      }
      const before = await ort.InferenceSession.create(encodeModel(original), { intraOpNumThreads: 1 });
      const after = await ort.InferenceSession.create(encodeModel(addSketchOutputs(original, spec)), { intraOpNumThreads: 1 });
      sessions.push(before, after);
      const [a, b] = [await before.run(feeds), await after.run(feeds)];
      for (const name of before.outputNames) {
        expect(Buffer.from((b[name].data as Float32Array).buffer).equals(Buffer.from((a[name].data as Float32Array).buffer)), name).toBe(true);
      }
      const S = createLayerProjections(spec);
      spec.layers.forEach((l, k) => {
        const got = b[`sketch.${l}`].data as Float32Array; // [B, T, m]
        let err = 0;
        let scale = 0;
        ids.forEach((row, r) => {
          const ref = sketchTokens(S[k], hidden[l][r].slice(0, row.length).flat(), spec.eps); // real tokens only
          for (let i = 0; i < ref.length; i++) {
            err = Math.max(err, Math.abs(got[r * T * spec.m + i] - ref[i]));
            scale = Math.max(scale, Math.abs(ref[i]));
          }
        });
        expect(err / scale, `layer ${l}`).toBeLessThan(1e-4);
      });
    },
  );
});
