// The batched-product kernel against tf.matMul (the same bits: it must not change training results), and
// bmm's gradients against tf.matMul's autodiff (bitwise) and against the float64 closed form.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { initBackend } from "../backend";
import { bmm } from "./ops";
import { gemm, gemmAvailable, gemmModuleBytes } from "./wasm-gemm";

function randn(shape: number[], seed: number): tf.Tensor {
  const rng = new Pcg32(seed, 3);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1), shape);
}

// Shapes with row and column tails (M, N not multiples of 4), K across several 48-term blocks, and attention's.
const SHAPES: [number, number, number, number][] = [[2, 5, 3, 6], [3, 8, 16, 64], [4, 64, 64, 16], [2, 7, 100, 9], [1, 2, 49, 3], [32, 128, 32, 64]];

describe("wasm batched GEMM kernel", () => {
  beforeAll(async () => {
    await initBackend();
  });

  it("is a valid WebAssembly module, registered on the wasm backend", () => {
    expect(WebAssembly.validate(gemmModuleBytes())).toBe(true);
    expect(gemmAvailable()).toBe(tf.getBackend() === "wasm");
  });

  it("gives tf.matMul's bits for A·B and Aᵀ·B, tails and long sums included", () => {
    expect(gemmAvailable()).toBe(true); // the trainer's CPU backend here is wasm
    SHAPES.forEach(([batch, M, K, N], s) => {
      for (const transposeA of [false, true]) {
        tf.tidy(() => {
          const a = randn(transposeA ? [batch, K, M] : [batch, M, K], s) as tf.Tensor3D;
          const b = randn([batch, K, N], s + 100) as tf.Tensor3D;
          expect(Array.from(gemm(a, b, transposeA).dataSync())).toEqual(Array.from(tf.matMul(a, b, transposeA, false).dataSync()));
        });
      }
    });
  });

  for (const [ta, tb] of [[false, false], [false, true], [true, false]] as const) {
    it(`bmm(transposeA=${ta}, transposeB=${tb}): value and gradients = tf.matMul's bits, and the float64 closed form`, () => {
      tf.tidy(() => {
        const [L, M, K, N] = [[2, 3], 9, 50, 6]; // rank 4, like attention's [B, H_kv, ·, ·]
        const a = randn(ta ? [...L, K, M] : [...L, M, K], 1);
        const b = randn(tb ? [...L, N, K] : [...L, K, N], 2);
        const w = randn([...L, M, N], 3); // L = Σ w ⊙ C
        const ours = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(bmm(x, y, ta, tb), w)))([a, b]);
        const theirs = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), w)))([a, b]);
        expect(Array.from(bmm(a, b, ta, tb).dataSync())).toEqual(Array.from(tf.matMul(a, b, ta, tb).dataSync()));
        expect(Array.from(ours[0]!.dataSync())).toEqual(Array.from(theirs[0]!.dataSync()));
        expect(Array.from(ours[1]!.dataSync())).toEqual(Array.from(theirs[1]!.dataSync()));
        // float64: ∂L/∂A[i,k] = Σ_j W[i,j]·B[k,j] (B as stored: op(B)[k, j]), ∂L/∂B[k,j] = Σ_i op(A)[i,k]·W[i,j]
        const [A, Bm, W] = [a, b, w].map((t) => Float64Array.from(t.dataSync()));
        const opA = (x: number, i: number, k: number) => A![x * M * K + (ta ? k * M + i : i * K + k)]!;
        const opB = (x: number, k: number, j: number) => Bm![x * K * N + (tb ? j * K + k : k * N + j)]!;
        const [gA, gB] = [ours[0]!.dataSync(), ours[1]!.dataSync()];
        let worst = 0;
        for (let x = 0; x < 6; x++) {
          for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) {
            let s = 0;
            for (let j = 0; j < N; j++) s += W![x * M * N + i * N + j]! * opB(x, k, j);
            worst = Math.max(worst, Math.abs(s - gA[x * M * K + (ta ? k * M + i : i * K + k)]!));
          }
          for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) {
            let s = 0;
            for (let i = 0; i < M; i++) s += opA(x, i, k) * W![x * M * N + i * N + j]!;
            worst = Math.max(worst, Math.abs(s - gB[x * K * N + (tb ? j * K + k : k * N + j)]!));
          }
        }
        expect(worst).toBeLessThan(1e-5);
      });
    });
  }
});
