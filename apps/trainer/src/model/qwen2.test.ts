import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { initBackend } from "../backend";
import { validateModelConfig, type ModelConfig } from "./config";
import { forward } from "./qwen2";
import { countParams, disposeParams, initParams, parameterSpecs } from "./params";
import { referenceLogits, type ParamValues } from "./reference-forward";

const cfg: ModelConfig = validateModelConfig({
  vocabSize: 13, hiddenSize: 16, intermediateSize: 24, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 4,
  maxPositions: 32, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: true, bosTokenId: 0, eosTokenId: 1,
});

// Large random weights (std 0.5, random norm gains and biases) so every term matters in the comparison.
function randomise(params: Map<string, tf.Variable>, seed: number): ParamValues {
  const rng = new Pcg32(seed);
  const values: ParamValues = new Map();
  for (const [name, v] of params) {
    const data = Float32Array.from({ length: v.size }, () => (name.includes("norm") ? 1 : 0) + (rng.nextFloat() - 0.5) * 1.2);
    v.assign(tf.tensor(data, v.shape));
    values.set(name, data);
  }
  return values;
}

describe("Qwen2 forward (tfjs) vs float64 reference", () => {
  beforeAll(async () => {
    await initBackend();
  });

  for (const tied of [true, false]) {
    it(`matches on a batch with left padding (${tied ? "tied" : "untied"} head)`, () => {
      const c = { ...cfg, tieWordEmbeddings: tied };
      const params = initParams(c, 1);
      const values = randomise(params, tied ? 2 : 3);
      const ids = [[0, 0, 5, 7, 2, 11], [3, 4, 5, 6, 7, 8]];
      const masks = [[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]];
      const logits = tf.tidy(() =>
        forward(params, c, tf.tensor2d(ids, undefined, "int32"), { attentionMask: tf.tensor2d(masks) }).logits.arraySync(),
      );
      let worst = 0;
      ids.forEach((row, b) => {
        const ref = referenceLogits(values, c, row, masks[b]);
        ref.forEach((r, t) => {
          if (!masks[b]![t]) return; // padded positions are never read
          r.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - logits[b]![t]![i]!))));
        });
      });
      expect(worst).toBeLessThan(1e-4);
      disposeParams(params);
    });
  }

  it("left padding does not change the logits of the real tokens", () => {
    const params = initParams(cfg, 4);
    randomise(params, 5);
    const out = tf.tidy(() => {
      const a = forward(params, cfg, tf.tensor2d([[5, 7, 2]], undefined, "int32")).logits;
      const b = forward(params, cfg, tf.tensor2d([[0, 0, 5, 7, 2]], undefined, "int32"), { attentionMask: tf.tensor2d([[0, 0, 1, 1, 1]]) }).logits;
      return tf.max(tf.abs(tf.sub(a, tf.slice(b, [0, 2, 0], [1, 3, cfg.vocabSize])))).arraySync() as number;
    });
    expect(out).toBeLessThan(1e-5);
    disposeParams(params);
  });

  it("parameter names and shapes follow Hugging Face Qwen2; tiny preset is ~100k parameters", () => {
    const names = parameterSpecs(cfg).map((s) => s.name);
    expect(names).toContain("model.layers.1.self_attn.k_proj.bias");
    expect(parameterSpecs(cfg).find((s) => s.name === "model.layers.0.self_attn.k_proj.weight")!.shape).toEqual([8, 16]);
    expect(names).not.toContain("lm_head.weight");
    const tiny = validateModelConfig({ ...cfg, hiddenSize: 64, intermediateSize: 192, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16, vocabSize: 48 });
    expect(countParams(tiny)).toBeGreaterThan(80_000);
    expect(countParams(tiny)).toBeLessThan(130_000);
  });

  it("the same seed gives the same initial weights", () => {
    const a = initParams(cfg, 9);
    const b = initParams(cfg, 9);
    for (const [name, v] of a) expect(v.dataSync()).toEqual(b.get(name)!.dataSync());
    disposeParams(a);
    disposeParams(b);
  });
});
