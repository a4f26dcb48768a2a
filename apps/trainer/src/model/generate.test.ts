import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { initBackend } from "../backend";
import { validateModelConfig } from "./config";
import { generate } from "./generate";
import { initParams } from "./params";
import { referenceLogits, type ParamValues } from "./reference-forward";

// vocab 24 of which only ids < 6 are "tokenizer" ids: the padded rows 6…23 must never be sampled.
const cfg = validateModelConfig({
  vocabSize: 24, hiddenSize: 16, intermediateSize: 24, numLayers: 1, numHeads: 2, numKvHeads: 1, headDim: 8,
  maxPositions: 32, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: true, bosTokenId: 0, eosTokenId: 1,
});

describe("generate", () => {
  beforeAll(async () => {
    await initBackend();
  });

  it("greedy decoding with vocabLimit is the argmax over the first vocabLimit ids of the float64 logits", () => {
    const params = initParams(cfg, 3);
    const rng = new Pcg32(5);
    const values: ParamValues = new Map();
    for (const [name, v] of params) {
      const data = Float32Array.from({ length: v.size }, () => (name.includes("norm") ? 1 : 0) + (rng.nextFloat() - 0.5));
      v.assign(tf.tensor(data, v.shape));
      values.set(name, data);
    }
    const prompt = [2, 3, 4];
    const limited = generate(params, cfg, [prompt], { temperature: 0, maxNewTokens: 6, seed: 0, stopIds: [], padId: 0, vocabLimit: 6 });
    const free = generate(params, cfg, [prompt], { temperature: 0, maxNewTokens: 6, seed: 0, stopIds: [], padId: 0 });
    // independent greedy loop on the float64 reference forward
    const ids = [...prompt];
    const expected: number[] = [];
    for (let t = 0; t < 6; t++) {
      const last = referenceLogits(values, cfg, ids).at(-1)!;
      let best = 0;
      for (let v = 1; v < 6; v++) if (last[v]! > last[best]!) best = v;
      expected.push(best);
      ids.push(best);
    }
    expect(limited.completions[0]).toEqual(expected);
    // the limit matters with these weights: unrestricted greedy picks a padded id somewhere
    expect(free.completions[0]!.some((id) => id >= 6)).toBe(true);
  });
});
