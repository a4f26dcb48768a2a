import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../backend";
import { Adam } from "./optimizer";

// Float64 Adam from the paper's pseudo-code, for one scalar parameter sequence.
function adamReference(theta: number, grads: number[], lr: number, scale: number, clipFactor: (t: number) => number) {
  let m = 0;
  let v = 0;
  grads.forEach((g0, i) => {
    const t = i + 1;
    const g = g0 * clipFactor(i);
    m = 0.9 * m + 0.1 * g;
    v = 0.95 * v + 0.05 * g * g;
    theta -= lr * scale * (m / (1 - 0.9 ** t) / (Math.sqrt(v / (1 - 0.95 ** t)) + 1e-8));
  });
  return theta;
}

describe("Adam", () => {
  beforeAll(async () => {
    await initBackend();
  });

  it("matches a float64 reference, honours update scales, clips by global norm and skips frozen params", () => {
    const params = new Map([
      ["a", tf.variable(tf.tensor1d([1.0]))],
      ["b", tf.variable(tf.tensor1d([-2.0]))],
      ["c", tf.variable(tf.tensor1d([0.5]))],
    ]);
    const adam = new Adam(params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, clipNorm: 1 }, new Map([["b", 0.1], ["c", 0]]));
    expect(adam.trainable()).toHaveLength(2);
    const gradsA = [0.5, -3, 0.2];
    const gradsB = [2, 0.1, -0.4];
    const norms: number[] = [];
    gradsA.forEach((ga, i) => {
      const named = { [params.get("a")!.name]: tf.tensor1d([ga]), [params.get("b")!.name]: tf.tensor1d([gradsB[i]!]) };
      norms.push(adam.apply(named, 0.01).gradNorm);
    });
    const clip = (i: number) => Math.min(1, 1 / Math.hypot(gradsA[i]!, gradsB[i]!));
    norms.forEach((n, i) => expect(n).toBeCloseTo(Math.hypot(gradsA[i]!, gradsB[i]!), 5));
    expect(params.get("a")!.dataSync()[0]).toBeCloseTo(adamReference(1, gradsA, 0.01, 1, clip), 6);
    expect(params.get("b")!.dataSync()[0]).toBeCloseTo(adamReference(-2, gradsB, 0.01, 0.1, clip), 6);
    expect(params.get("c")!.dataSync()[0]).toBe(0.5);
    adam.dispose();
  });
});
