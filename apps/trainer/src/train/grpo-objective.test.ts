import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { klEstimate } from "@tether/shared/math/estimators";
import { initBackend } from "../backend";
import { groupAdvantages, grpoLoss, klEstimatorTensor } from "./grpo-objective";

describe("GRPO objective", () => {
  beforeAll(async () => {
    await initBackend();
  });

  it("group-normalised advantages on hand-checked cases", () => {
    // group (1, 0): mean 0.5, sample std √0.5 → ±0.5/(0.70711 + 1e-4)
    const a = groupAdvantages([1, 0, 3, 3], 2);
    expect(a[0]).toBeCloseTo(0.5 / (Math.SQRT1_2 + 1e-4), 12);
    expect(a[1]).toBeCloseTo(-0.5 / (Math.SQRT1_2 + 1e-4), 12);
    // equal rewards: no signal
    expect(a[2]).toBe(0);
    expect(a[3]).toBe(0);
    // group of 4 rewards (0, 0, 0, 1): mean 0.25, std √(0.75/3) = 0.5
    const b = groupAdvantages([0, 0, 0, 1], 4);
    expect(b[3]).toBeCloseTo(0.75 / (0.5 + 1e-4), 12);
    expect(b[0]).toBeCloseTo(-0.25 / (0.5 + 1e-4), 12);
    expect(() => groupAdvantages([1, 2, 3], 2)).toThrow(/multiple of group_size/);
    expect(() => groupAdvantages([1, 2], 1)).toThrow(/group_size must be an integer ≥ 2/);
  });

  it("clipping: hand-checked surrogate values and zero gradient where clipped", () => {
    // four one-token sequences: (ratio, advantage) = (1.5, +1) clipped at 1.2; (1.5, −1) unclipped −1.5;
    // (0.5, −1) clipped at −0.8; (0.5, +1) unclipped 0.5. Surrogate mean = (1.2 − 1.5 − 0.8 + 0.5)/4 = −0.15
    const ratios = [1.5, 1.5, 0.5, 0.5];
    const oldLogp = tf.tensor2d([[-1], [-1], [-1], [-1]]);
    const advantages = tf.tensor1d([1, -1, -1, 1]);
    const mask = tf.ones([4, 1]) as tf.Tensor2D;
    const logp0 = tf.tensor2d(ratios.map((r) => [Math.log(r) - 1]));
    const f = (logp: tf.Tensor) =>
      grpoLoss({ logp: logp as tf.Tensor2D, oldLogp, refLogp: oldLogp, advantages, mask, clipEps: 0.2, beta: 0, estimator: "k3" }).loss;
    const parts = grpoLoss({ logp: logp0, oldLogp, refLogp: oldLogp, advantages, mask, clipEps: 0.2, beta: 0, estimator: "k3" });
    expect(parts.surrogate.arraySync()).toBeCloseTo(-0.15, 6);
    expect(parts.clipFraction.arraySync()).toBeCloseTo(0.5, 6);
    const grad = tf.grad(f)(logp0).arraySync() as number[][];
    // ∂(−mean J)/∂logp = −ρ·A/4 where unclipped, 0 where clipped
    expect(grad[0]![0]).toBeCloseTo(0, 6);
    expect(grad[1]![0]).toBeCloseTo((1.5 * 1) / 4, 6);
    expect(grad[2]![0]).toBeCloseTo(0, 6);
    expect(grad[3]![0]).toBeCloseTo((-0.5 * 1) / 4, 6);
  });

  it("estimator tensors equal the shared float64 estimators; sequence means respect the mask", () => {
    const lp = [[-0.5, -2, -1]];
    const lr = [[-1.5, -0.1, -1]];
    for (const kind of ["k1", "k2", "k3"] as const) {
      const got = klEstimatorTensor(kind, tf.tensor2d(lp), tf.tensor2d(lr)).arraySync() as number[][];
      got[0]!.forEach((v, t) => expect(v).toBeCloseTo(klEstimate(kind, lp[0]![t]!, lr[0]![t]!), 5));
    }
    // β·KL term: mask keeps tokens 0 and 1 only → mean of k3 over two tokens
    const mask = tf.tensor2d([[1, 1, 0]]);
    const { kl } = grpoLoss({
      logp: tf.tensor2d(lp), oldLogp: tf.tensor2d(lp), refLogp: tf.tensor2d(lr), advantages: tf.tensor1d([0]), mask, clipEps: 0.2, beta: 1, estimator: "k3",
    });
    expect(kl.arraySync()).toBeCloseTo((klEstimate("k3", -0.5, -1.5) + klEstimate("k3", -2, -0.1)) / 2, 5);
  });
});
