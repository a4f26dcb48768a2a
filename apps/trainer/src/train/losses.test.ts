import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { tokenKl, type KlDirection } from "@tether/shared/math/kl";
import { logSoftmax } from "@tether/shared/math/softmax";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { initBackend } from "../backend";
import { crossEntropy, klLoss } from "./losses";

const B = 2;
const T = 3;
const V = 7;

function randomArray(n: number, seed: number, scale = 1): Float64Array {
  const rng = new Pcg32(seed);
  // float32-representable values, so tfjs (float32) and the float64 reference see the same inputs
  return Float64Array.from(Float32Array.from({ length: n }, () => (rng.nextFloat() * 2 - 1) * scale));
}

const mask = [1, 0, 1, 1, 1, 0];

// Float64 value of each loss from the shared definitions (independent of tfjs).
function referenceKl(policy: Float64Array, ref: Float64Array, direction: KlDirection, mix: number): number {
  let sum = 0;
  let n = 0;
  for (let p = 0; p < B * T; p++) {
    if (!mask[p]) continue;
    sum += tokenKl(policy.subarray(p * V, (p + 1) * V), ref.subarray(p * V, (p + 1) * V), direction, mix);
    n++;
  }
  return sum / n;
}

function referenceCe(policy: Float64Array, targets: number[]): number {
  let sum = 0;
  let n = 0;
  for (let p = 0; p < B * T; p++) {
    if (!mask[p]) continue;
    sum -= logSoftmax(policy.subarray(p * V, (p + 1) * V))[targets[p]!]!;
    n++;
  }
  return sum / n;
}

describe("training losses", () => {
  beforeAll(async () => {
    await initBackend();
  });
  const policy = randomArray(B * T * V, 1, 2);
  const ref = randomArray(B * T * V, 2, 2);
  const targets = [3, 0, 6, 1, 2, 5];
  const maskT = () => tf.tensor2d(mask, [B, T]);
  const cases: [KlDirection, number][] = [["reverse", 0], ["forward", 0], ["mixed", 0.3]];

  for (const [direction, mix] of cases) {
    it(`${direction} KL: value matches the float64 definition; gradient matches finite differences`, () => {
      const loss = (x: tf.Tensor) => klLoss(x as tf.Tensor3D, tf.tensor3d(Float32Array.from(ref), [B, T, V]), maskT(), direction, mix);
      const value = tf.tidy(() => loss(tf.tensor3d(Float32Array.from(policy), [B, T, V])).arraySync());
      expect(value).toBeCloseTo(referenceKl(policy, ref, direction, mix), 5);
      const grad = tf.tidy(() => tf.grad(loss)(tf.tensor3d(Float32Array.from(policy), [B, T, V])).dataSync());
      // central differences of the float64 reference, h = 1e-5
      const h = 1e-5;
      let worst = 0;
      for (let i = 0; i < policy.length; i++) {
        const plus = Float64Array.from(policy);
        const minus = Float64Array.from(policy);
        plus[i]! += h;
        minus[i]! -= h;
        const fd = (referenceKl(plus, ref, direction, mix) - referenceKl(minus, ref, direction, mix)) / (2 * h);
        worst = Math.max(worst, Math.abs(fd - grad[i]!));
      }
      expect(worst).toBeLessThan(2e-5);
      // masked positions get no gradient
      expect(Math.max(...Array.from(grad.subarray(1 * V, 2 * V), Math.abs))).toBe(0);
    });
  }

  it("cross-entropy: value and gradient (softmax − onehot)/n", () => {
    const loss = (x: tf.Tensor) => crossEntropy(x as tf.Tensor3D, tf.tensor2d(targets, [B, T], "int32"), maskT());
    const value = tf.tidy(() => loss(tf.tensor3d(Float32Array.from(policy), [B, T, V])).arraySync());
    expect(value).toBeCloseTo(referenceCe(policy, targets), 5);
    const grad = tf.tidy(() => tf.grad(loss)(tf.tensor3d(Float32Array.from(policy), [B, T, V])).dataSync());
    const n = mask.reduce((a, b) => a + b, 0);
    for (let p = 0; p < B * T; p++) {
      const probs = logSoftmax(policy.subarray(p * V, (p + 1) * V)).map(Math.exp);
      for (let v = 0; v < V; v++) {
        const expected = mask[p] ? (probs[v]! - (v === targets[p] ? 1 : 0)) / n : 0;
        expect(grad[p * V + v]).toBeCloseTo(expected, 6);
      }
    }
  });

  it("KL of a distribution with itself is 0 with zero gradient", () => {
    const [value, gmax] = tf.tidy(() => {
      const x = tf.tensor3d(Float32Array.from(policy), [B, T, V]);
      const f = (y: tf.Tensor) => klLoss(y as tf.Tensor3D, x, maskT(), "reverse");
      return [f(x).arraySync(), tf.max(tf.abs(tf.grad(f)(x))).arraySync()] as number[];
    });
    expect(Math.abs(value!)).toBeLessThan(1e-6);
    expect(gmax).toBeLessThan(1e-6);
  });
});
