// The fused custom-gradient ops (linear, RMSNorm, SwiGLU) against the unfused tfjs compositions they replace
// (values and gradients) and against central finite differences of a float64 re-implementation.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { initBackend } from "../backend";
import { linear, rmsNorm, swiglu } from "./ops";

const N = 3;
const D = 5;
const EPS = 1e-6;

function randomArray(n: number, seed: number): Float64Array {
  const rng = new Pcg32(seed);
  return Float64Array.from(Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1));
}

// The compositions the fused ops replaced (autodiff differentiates these).
const unfused = {
  rmsNorm: (x: tf.Tensor2D, w: tf.Tensor1D) => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), EPS))), w) as tf.Tensor2D,
  swiglu: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.mul(tf.mul(a, tf.sigmoid(a)), b) as tf.Tensor2D,
  linear: (x: tf.Tensor2D, w: tf.Tensor2D) => tf.matMul(x, w, false, true),
};

// Float64 twins for finite differences: f(x, w) → Σ y ⊙ c with fixed weights c, a scalar to differentiate.
const f64 = {
  rmsNorm: (x: Float64Array, w: Float64Array, rows: number, d: number) => {
    const y = new Float64Array(rows * d);
    for (let i = 0; i < rows; i++) {
      let ms = 0;
      for (let j = 0; j < d; j++) ms += x[i * d + j]! ** 2 / d;
      for (let j = 0; j < d; j++) y[i * d + j] = (x[i * d + j]! / Math.sqrt(ms + EPS)) * w[j]!;
    }
    return y;
  },
  swiglu: (a: Float64Array, b: Float64Array) => a.map((ai, i) => (ai / (1 + Math.exp(-ai))) * b[i]!),
  linear: (x: Float64Array, w: Float64Array, rows: number, inDim: number, outDim: number) => {
    const y = new Float64Array(rows * outDim);
    for (let i = 0; i < rows; i++) for (let o = 0; o < outDim; o++) for (let k = 0; k < inDim; k++) y[i * outDim + o] += x[i * inDim + k]! * w[o * inDim + k]!;
    return y;
  },
};

function dot(a: Float64Array, c: Float64Array): number {
  return a.reduce((s, x, i) => s + x * c[i]!, 0);
}

/** Central differences of g at every coordinate of the chosen argument. */
function numericGrad(g: (args: Float64Array[]) => number, args: Float64Array[], which: number, h = 1e-5): Float64Array {
  const out = new Float64Array(args[which]!.length);
  for (let i = 0; i < out.length; i++) {
    const plus = args.map((a) => Float64Array.from(a));
    const minus = args.map((a) => Float64Array.from(a));
    plus[which]![i] += h;
    minus[which]![i] -= h;
    out[i] = (g(plus) - g(minus)) / (2 * h);
  }
  return out;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThan(tol * (1 + Math.abs(expected[i]!)));
}

type Op2 = (a: tf.Tensor2D, b: tf.Tensor) => tf.Tensor2D;

/** Value and both gradients of Σ op(a, b) ⊙ c, as float arrays. */
function valueAndGrads(op: Op2, a: Float64Array, aShape: number[], b: Float64Array, bShape: number[], c: Float64Array) {
  let out = { value: 0, ga: new Float64Array(), gb: new Float64Array() };
  tf.tidy(() => {
    const ta = tf.tensor2d(Float32Array.from(a), aShape as [number, number]);
    const tb = tf.tensor(Float32Array.from(b), bShape);
    const tc = tf.tensor(Float32Array.from(c));
    const loss = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.reshape(op(x as tf.Tensor2D, y), [-1]), tc));
    const [ga, gb] = tf.grads(loss)([ta, tb]);
    out = { value: loss(ta, tb).dataSync()[0]!, ga: Float64Array.from(ga!.dataSync()), gb: Float64Array.from(gb!.dataSync()) };
  });
  return out;
}

describe("fused custom-gradient ops", () => {
  beforeAll(async () => {
    await initBackend();
  });

  const cases: { name: string; fused: Op2; plain: Op2; a: [number, number]; b: number[]; ref: (args: Float64Array[]) => Float64Array }[] = [
    { name: "rmsNorm", fused: (x, w) => rmsNorm(x, w, EPS), plain: (x, w) => unfused.rmsNorm(x, w as tf.Tensor1D), a: [N, D], b: [D], ref: ([x, w]) => f64.rmsNorm(x!, w!, N, D) },
    { name: "swiglu", fused: (a, b) => swiglu(a, b as tf.Tensor2D), plain: (a, b) => unfused.swiglu(a, b as tf.Tensor2D), a: [N, D], b: [N, D], ref: ([a, b]) => f64.swiglu(a!, b!) },
    { name: "linear", fused: (x, w) => linear(x, w), plain: (x, w) => unfused.linear(x, w as tf.Tensor2D) as tf.Tensor2D, a: [N, D], b: [4, D], ref: ([x, w]) => f64.linear(x!, w!, N, D, 4) },
  ];

  for (const k of cases) {
    it(`${k.name}: value and gradients equal the unfused ops and finite differences of a float64 twin`, () => {
      const a = randomArray(k.a[0] * k.a[1], 1);
      const b = Float64Array.from(randomArray(k.b.reduce((s, x) => s * x, 1), 2), (x) => x + (k.name === "rmsNorm" ? 1 : 0));
      const c = randomArray(k.ref([a, b]).length, 3);
      const fused = valueAndGrads(k.fused, a, k.a, b, k.b, c);
      const plain = valueAndGrads(k.plain, a, k.a, b, k.b, c);
      expect(Math.abs(fused.value - plain.value)).toBeLessThan(1e-5);
      expectClose(fused.ga, plain.ga, 1e-5);
      expectClose(fused.gb, plain.gb, 1e-5);
      const g = (args: Float64Array[]) => dot(k.ref(args), c);
      expect(Math.abs(fused.value - g([a, b]))).toBeLessThan(1e-5);
      expectClose(fused.ga, numericGrad(g, [a, b], 0), 1e-4);
      expectClose(fused.gb, numericGrad(g, [a, b], 1), 1e-4);
    });
  }
});
