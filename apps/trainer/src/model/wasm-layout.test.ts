// The replacement Transpose and Sum kernels against index arithmetic (transpose), a float32 sequential sum
// written here with Math.fround (Sum), and the tfjs-wasm kernels they replaced (the same bits: training results
// must not change).
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { initBackend } from "../backend";
import { collapsePermutation, replacedKernels } from "./wasm-layout";

/** Uniform in ±1, or with `spread`, magnitudes over 10^±3 too (sums whose rounding depends on the order). */
function randn(shape: number[], seed: number, spread = true): tf.Tensor {
  const rng = new Pcg32(seed, 5);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => (rng.nextFloat() * 2 - 1) * (spread ? 10 ** Math.floor(rng.nextFloat() * 6 - 3) : 1)), shape);
}

/** Row-major transpose by index arithmetic alone. */
function transposeRef(x: ArrayLike<number>, shape: number[], perm: number[]): number[] {
  const outShape = perm.map((p) => shape[p]!);
  const n = x.length;
  const out = new Array<number>(n);
  const inStrides = shape.map((_, a) => shape.slice(a + 1).reduce((s, d) => s * d, 1));
  for (let o = 0; o < n; o++) {
    let rest = o;
    let src = 0;
    for (let a = outShape.length - 1; a >= 0; a--) {
      const i = rest % outShape[a]!;
      rest = Math.floor(rest / outShape[a]!);
      src += i * inStrides[perm[a]!]!;
    }
    out[o] = x[src]!;
  }
  return out;
}

/** Run one of the replaced (tfjs-wasm) kernels directly. */
function replaced(name: "transpose" | "sum", x: tf.Tensor, attrs: object): tf.Tensor {
  const k = replacedKernels()![name];
  const info = k.kernelFunc({ inputs: { x }, backend: tf.backend(), attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
  return tf.engine().makeTensorFromTensorInfo(info);
}

const PERMS: [number[], number[]][] = [
  [[1024, 192], [1, 0]],
  [[37, 5], [1, 0]],
  [[3, 50], [1, 0]], // under 4 rows: the plain tiled loop
  [[16, 64, 4, 16], [0, 2, 1, 3]], // attention's head split
  [[16, 4, 64, 16], [0, 2, 1, 3]],
  [[2, 3, 5, 3], [0, 2, 1, 3]], // rows of 3: the plain loop
  [[3, 33, 65], [0, 2, 1]], // batched 2-D with tails past the 32-tile
  [[2, 3, 4, 5], [3, 1, 0, 2]],
  [[2, 1, 7, 1, 3], [4, 2, 0, 3, 1]], // size-1 axes
  [[1, 1], [1, 0]],
  [[6, 1, 5], [0, 2, 1]], // only size-1 moves: a copy
];

describe("wasm layout kernels", () => {
  beforeAll(async () => {
    await initBackend();
  });

  it("replaced the wasm backend's Transpose, Sum, Identity and GatherV2", () => {
    expect(tf.getBackend()).toBe("wasm");
    expect(replacedKernels()).not.toBeNull();
  });

  it("a clone shares the buffer, keeps its values after the original is disposed, and frees it with the last reference", () => {
    const before = tf.memory().numDataBuffers;
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const c = tf.clone(x);
    expect(tf.memory().numDataBuffers - before).toBe(1); // one buffer for both
    x.dispose();
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    const y = tf.add(c, 1); // a new buffer, c untouched
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    c.dispose();
    y.dispose();
    expect(tf.memory().numDataBuffers).toBe(before);
  });

  it("collapsePermutation drops size-1 axes and merges axes that stay adjacent", () => {
    expect(collapsePermutation([16, 64, 4, 16], [0, 2, 1, 3])).toEqual([[16, 64, 4, 16], [0, 2, 1, 3]]);
    expect(collapsePermutation([2, 3, 4, 5], [2, 3, 0, 1])).toEqual([[6, 20], [1, 0]]);
    expect(collapsePermutation([2, 1, 7, 1, 3], [4, 2, 0, 3, 1])).toEqual([[2, 7, 3], [2, 1, 0]]);
    expect(collapsePermutation([6, 1, 5], [0, 2, 1])).toEqual([[30], [0]]);
  });

  it("transposes float32 and int32 like index arithmetic and like the kernel it replaced", () => {
    PERMS.forEach(([shape, perm], s) => {
      tf.tidy(() => {
        const x = randn(shape, s);
        const got = tf.transpose(x, perm);
        expect(got.shape).toEqual(perm.map((p) => shape[p]!));
        expect(Array.from(got.dataSync())).toEqual(transposeRef(x.dataSync(), shape, perm));
        expect(Array.from(got.dataSync())).toEqual(Array.from(replaced("transpose", x, { perm }).dataSync()));
        const xi = tf.cast(tf.mul(x, 1000), "int32");
        const gi = tf.transpose(xi, perm);
        expect(gi.dtype).toBe("int32");
        expect(Array.from(gi.dataSync())).toEqual(transposeRef(xi.dataSync(), shape, perm));
      });
    });
  });

  const SUMS: [number[], number[], boolean][] = [
    [[1024, 64], [0], false], // RMSNorm γ's gradient
    [[16, 64, 100], [0, 1], false],
    [[16, 64, 100], [0, 1], true],
    [[7, 3, 5], [-3], false],
    [[5, 9], [0, 1], false], // all axes: the original kernel
    [[5, 9], [1], true], // innermost: the original kernel
    [[4, 6, 8], [0, 2], false], // not a leading block: the original kernel
  ];

  it("sums in float32, row after row, like a Math.fround loop and like the kernel it replaced", () => {
    SUMS.forEach(([shape, axis, keepDims], s) => {
      tf.tidy(() => {
        const x = randn(shape, 100 + s);
        const got = tf.sum(x, axis, keepDims);
        const theirs = replaced("sum", x, { axis, keepDims });
        expect(got.shape).toEqual(theirs.shape);
        expect(Array.from(got.dataSync())).toEqual(Array.from(theirs.dataSync()));
        const axes = axis.map((a) => (a < 0 ? a + shape.length : a));
        if (axes.every((a, i) => a === i) && axes.length < shape.length) {
          const R = shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
          const C = x.size / R;
          const xs = x.dataSync();
          const want = Array.from({ length: C }, (_, c) => {
            let acc = 0;
            for (let r = 0; r < R; r++) acc = Math.fround(acc + xs[r * C + c]!);
            return acc;
          });
          expect(Array.from(got.dataSync())).toEqual(want);
        }
      });
    });
  });

  it("gathers rows like index arithmetic and like the kernel it replaced, and refuses an index out of range", () => {
    const cases: [number[], number[], number, number[]][] = [
      [[128, 16], [1024], 0, Array.from({ length: 1024 }, (_, i) => (i * 37) % 128)], // RoPE's cos/sin rows
      [[5, 7, 3], [2, 4], 1, [6, 0, 3, 3, 1, 2, 5, 4]], // a middle axis, indices of rank 2
      [[4, 6], [3], -1, [5, 0, 5]],
    ];
    cases.forEach(([shape, idxShape, axis, idx], k) => {
      tf.tidy(() => {
        const x = randn(shape, 200 + k);
        const i = tf.tensor(idx, idxShape, "int32");
        const got = tf.gather(x, i, axis);
        const a = axis < 0 ? axis + shape.length : axis;
        expect(got.shape).toEqual([...shape.slice(0, a), ...idxShape, ...shape.slice(a + 1)]);
        const xs = x.dataSync();
        const [outer, dim, slice] = [shape.slice(0, a).reduce((p, d) => p * d, 1), shape[a]!, shape.slice(a + 1).reduce((p, d) => p * d, 1)];
        const want: number[] = [];
        for (let o = 0; o < outer; o++) for (const j of idx) for (let s = 0; s < slice; s++) want.push(xs[(o * dim + j) * slice + s]!);
        expect(Array.from(got.dataSync())).toEqual(want);
        const k2 = replacedKernels()!.gather;
        const theirs = k2.kernelFunc({ inputs: { x, indices: i }, backend: tf.backend(), attrs: { axis, batchDims: 0 } }) as tf.TensorInfo;
        expect(Array.from(tf.engine().makeTensorFromTensorInfo(theirs).dataSync())).toEqual(want);
      });
    });
    expect(() => tf.gather(tf.zeros([3, 2]), tf.tensor1d([0, 3], "int32"))).toThrow("GatherV2: the index value 3 is not in [0, 2]");
  });

  it("the gradients that use them are unchanged: a linear layer's and a broadcast weight's", () => {
    tf.tidy(() => {
      const x = randn([96, 40], 7, false);
      const w = randn([24, 40], 8, false);
      const g = randn([40], 9, false);
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(tf.mul(tf.matMul(tf.mul(a, c), b, false, true), 0.5)));
      const grads = tf.grads(f)([x, w, g]);
      // float64 finite differences on a few coordinates of each input
      const xs = [x, w, g].map((t) => Float64Array.from(t.dataSync()));
      const loss64 = (v: Float64Array[]) => {
        const [a, b, c] = v as [Float64Array, Float64Array, Float64Array];
        let s = 0;
        for (let i = 0; i < 96; i++) {
          for (let j = 0; j < 24; j++) {
            let d = 0;
            for (let k = 0; k < 40; k++) d += a[i * 40 + k]! * c[k]! * b[j * 40 + k]!;
            s += (0.5 * d) ** 2;
          }
        }
        return s;
      };
      [0, 1, 2].forEach((which) => {
        const gd = grads[which]!.dataSync();
        for (const idx of [0, 5, 17]) {
          const h = 1e-4 * Math.max(1, Math.abs(xs[which]![idx]!));
          const plus = xs.map((v) => Float64Array.from(v));
          const minus = xs.map((v) => Float64Array.from(v));
          plus[which]![idx]! += h;
          minus[which]![idx]! -= h;
          const fd = (loss64(plus) - loss64(minus)) / (2 * h);
          expect(Math.abs(gd[idx]! - fd)).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(fd)));
        }
      });
    });
  });
});
