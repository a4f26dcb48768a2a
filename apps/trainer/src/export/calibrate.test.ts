import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { createLayerProjections, makeSketchSpec, parseSketchJson, sketchTokens } from "@tether/shared/sketch/index";
import { calibrateSketch, pooledSketches } from "./calibrate";
import { addSketchOutputs } from "./sketch-outputs";
import { TOY, buildToyDecoder, encodeModel, toyForward, toyWeights } from "../../../../test/support/sketch-test-graphs";

const weights = toyWeights(3);
const shape = { numLayers: TOY.numLayers, numKvHeads: TOY.numKvHeads, headDim: TOY.headDim };
const spec = makeSketchSpec({ d: TOY.d, layers: [0, 2, 3], m: 6, seed: 9 });
const rng = new Pcg32(5, 1);
// 11 requests of 1..12 tokens.
const sequences = Array.from({ length: 11 }, () =>
  Array.from({ length: 1 + Math.floor(rng.nextFloat() * 12) }, () => Math.floor(rng.nextFloat() * TOY.vocab)),
);
let dir = "";
let modelPath = "";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tether-calibrate-"));
  modelPath = join(dir, "model.onnx");
  await writeFile(modelPath, encodeModel(addSketchOutputs(buildToyDecoder("fused", weights), spec)));
  await writeFile(join(dir, "plain.onnx"), encodeModel(buildToyDecoder("fused", weights)));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Independent float64 pipeline: JS forward → sketchTokens → plain token average, per request and layer.
function referencePooled(seq: number[]): Float64Array[] {
  const S = createLayerProjections(spec);
  const hidden = toyForward(weights, seq).hidden;
  return spec.layers.map((l, k) => {
    const Y = sketchTokens(S[k], hidden[l], spec.eps); // [T, m]
    const out = new Float64Array(spec.m);
    for (let t = 0; t < seq.length; t++) for (let i = 0; i < spec.m; i++) out[i] += Y[t * spec.m + i] / seq.length;
    return out;
  });
}

function maxRelativeError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(got[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return err / scale;
}

describe("calibrateSketch", () => {
  it("returns a valid sketch.json whose per-layer mean and variance match a float64 pipeline", async () => {
    const sketch = await calibrateSketch(modelPath, shape, spec, sequences, { batchSize: 4 });
    expect(() => parseSketchJson(JSON.stringify(sketch))).not.toThrow();
    expect(sketch.spec).toEqual(spec);
    const pooled = sequences.map(referencePooled); // [N][L] -> [m]
    const N = sequences.length;
    spec.layers.forEach((layer, k) => {
      const entry = sketch.layers[k];
      expect(entry.layer).toBe(layer);
      expect(entry.count).toBe(N);
      const mean = new Float64Array(spec.m);
      for (const p of pooled) for (let i = 0; i < spec.m; i++) mean[i] += p[k][i] / N;
      const variance = new Float64Array(spec.m);
      for (const p of pooled) for (let i = 0; i < spec.m; i++) variance[i] += (p[k][i] - mean[i]) ** 2 / (N - 1);
      expect(maxRelativeError(entry.mean, mean)).toBeLessThan(1e-4);
      expect(maxRelativeError(entry.variance, variance)).toBeLessThan(1e-3);
      expect(entry.score.count).toBe(N);
    });
  });

  it("is deterministic: same inputs give identical JSON", async () => {
    const a = await calibrateSketch(modelPath, shape, spec, sequences, { batchSize: 3 });
    const b = await calibrateSketch(modelPath, shape, spec, sequences, { batchSize: 3 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it("pools over real tokens only: a request padded inside a batch equals the same request alone", async () => {
    const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1 });
    try {
      const short = [3, 1, 4];
      const long = [2, 7, 1, 8, 2, 8, 1, 8, 2];
      const [alone] = await pooledSketches(session, shape, spec, [short], 1);
      const [, padded] = await pooledSketches(session, shape, spec, [long, short], 2); // short gets 6 pads
      const reference = referencePooled(short);
      spec.layers.forEach((_, k) => {
        expect(maxRelativeError(padded[k], alone[k])).toBeLessThan(1e-6);
        expect(maxRelativeError(alone[k], reference[k])).toBeLessThan(1e-4);
      });
    } finally {
      await session.release();
    }
  });

  it("rejects a model without sketch outputs, too few requests and bad token ids", async () => {
    await expect(calibrateSketch(join(dir, "plain.onnx"), shape, spec, sequences)).rejects.toThrow(
      /model must have the sketch outputs sketch\.0, sketch\.2, sketch\.3 \(run addSketchOutputs/,
    );
    await expect(calibrateSketch(modelPath, shape, spec, sequences.slice(0, 2))).rejects.toThrow(/sequences\.length must be ≥ 3/);
    await expect(calibrateSketch(modelPath, shape, spec, [[1], [], [2]])).rejects.toThrow(/sequences\[1\] must be a non-empty array/);
    await expect(calibrateSketch(modelPath, shape, spec, [[1], [2.5], [2]])).rejects.toThrow(/sequences\[1\]\[0\] must be an integer token id/);
    await expect(calibrateSketch(modelPath, { ...shape, numLayers: 2 }, spec, sequences)).rejects.toThrow(/past_key_values\.2\.key/);
  });
});
