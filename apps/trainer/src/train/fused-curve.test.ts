// A short training run with the fused losses (closed-form gradients) follows the same loss curve as the same
// run differentiated by autodiff through the unfused compositions (tokenLogprobs / tokenKlTensor + maskedMean):
// CE + β·KL on a small model, 8 AdamW steps from the same seed, within 1e-4 relative per step.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../backend";
import { validateModelConfig } from "../model/config";
import { disposeParams, initParams } from "../model/params";
import { forward } from "../model/qwen2";
import { crossEntropy, klLoss, maskedMean, tokenKlTensor, tokenLogprobs } from "./losses";
import { Adam, DEFAULT_ADAM } from "./optimizer";

const CONFIG = validateModelConfig({
  vocabSize: 20, hiddenSize: 16, intermediateSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 4,
  maxPositions: 16, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: true, bosTokenId: 0, eosTokenId: 1,
});
const [B, T, STEPS, BETA] = [4, 8, 8, 0.3];

type Loss = (logits: tf.Tensor3D, ref: tf.Tensor3D, targets: tf.Tensor2D, mask: tf.Tensor2D) => tf.Scalar;

const fusedLoss: Loss = (l, r, y, m) => tf.add(crossEntropy(l, y, m), tf.mul(klLoss(l, r, m, "mixed", 0.3), BETA)) as tf.Scalar;
const unfusedLoss: Loss = (l, r, y, m) =>
  tf.add(tf.neg(maskedMean(tokenLogprobs(l, y), m)), tf.mul(maskedMean(tokenKlTensor(l, r, "mixed", 0.3), m), BETA)) as tf.Scalar;

function lossCurve(loss: Loss): number[] {
  const policy = initParams(CONFIG, 7);
  const reference = initParams(CONFIG, 8);
  const adam = new Adam(policy, DEFAULT_ADAM);
  const ids = tf.tensor2d(Int32Array.from({ length: B * T }, (_, i) => (i * 5 + 3) % 20), [B, T], "int32");
  const targets = tf.tensor2d(Int32Array.from({ length: B * T }, (_, i) => (i * 3 + 1) % 20), [B, T], "int32");
  const mask = tf.tensor2d(Float32Array.from({ length: B * T }, (_, i) => (i % T >= 2 ? 1 : 0)), [B, T]);
  // A reference far from the freshly initialised policy, so the KL term (and its gradient) weighs as much as CE.
  const ref = tf.tidy(() => tf.mul(forward(reference, CONFIG, ids).logits, 300) as tf.Tensor3D);
  const curve: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const { value, grads } = tf.variableGrads(() => loss(forward(policy, CONFIG, ids).logits, ref, targets, mask), adam.trainable());
    adam.apply(grads, 1e-2);
    curve.push(value.dataSync()[0]!);
    tf.dispose([value, ...Object.values(grads)]);
  }
  tf.dispose([ids, targets, mask, ref]);
  adam.dispose();
  disposeParams(policy);
  disposeParams(reference);
  return curve;
}

describe("fused losses in a short run", () => {
  beforeAll(async () => {
    await initBackend();
  });

  it("give the loss curve of autodiff through the unfused ops", () => {
    const fused = lossCurve(fusedLoss);
    const unfused = lossCurve(unfusedLoss);
    expect(fused[STEPS - 1]!).toBeLessThan(fused[0]! - 0.1); // it trains: the curve has a shape to compare
    for (let s = 0; s < STEPS; s++) expect(Math.abs(fused[s]! - unfused[s]!), `step ${s}`).toBeLessThanOrEqual(1e-4 * Math.abs(unfused[s]!));
  });
});
