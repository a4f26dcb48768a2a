// A batched matrix product for the tfjs wasm backend, as a tfjs kernel ("TetherBatchGemm") that runs a small
// WebAssembly SIMD module sharing the backend's own memory (no copies).
//
// Why: tfjs-wasm sends every batched or transposed BatchMatMul to a generic loop (~1.6 GFLOP/s here); only
// 2-D non-transposed products reach XNNPACK. Attention's q·kᵀ and p·v and their gradients are batched over
// B·H_kv, so they took ~a quarter of a small-model step (bench/train-profile.md).
//
//   C[β] = op(A[β]) · B[β]          β < batch;  op(A) = A ([M, K]) or Aᵀ (A stored [K, M]);  B [K, N];  C [M, N]
//   kernel: 4 rows × 4 columns of C per pass, C[i..i+3, j..j+3] += splat(A[i+r, k]) · B[k, j..j+3] over k
//   (f32x4), plain scalar loops for the < 4 leftover rows and columns; k summed in tfjs-wasm's order (below).
// A product with B transposed is computed on a transposed copy of B (tf.transpose, one fast kernel).
import * as tf from "@tensorflow/tfjs";
import { F32, forLoop, I32, inc, moduleBytes, op, uleb, V128, vec, type WasmBackendInternals } from "./wasm-encode";

export const GEMM_KERNEL = "TetherBatchGemm";

// Sums over k run in blocks of KB = 48 terms, each block summed from 0 and then added to the total, the order
// of tfjs-wasm's own loop (checked bitwise in wasm-gemm.test.ts): the kernel changes speed, not results.
const KB = 48;

/** kEnd = min(kb + KB, K). */
const blockEnd = (kb: number, K: number, kEnd: number) => [
  ...op.get(K), ...op.get(kb), ...op.i32(KB), ...op.add, ...op.get(kb), ...op.i32(KB), ...op.add, ...op.get(K), ...op.gtS, ...op.select, ...op.set(kEnd),
];

// blk(pa, pb, pc, K, N, sAm, sAk, M4, N4): the 4×4 blocks of rows [0, M4) × columns [0, N4).
// Strides in bytes: A[i, k] is at pa + i·sAm + k·sAk (sAm = 4K, sAk = 4 for A; sAm = 4, sAk = 4M for Aᵀ).
function blockFunction(): number[] {
  const [pa, pb, pc, K, N, sAm, sAk, M4, N4] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [i, j, k, kb, kEnd, aBase, paK, pbK, nb, s2, s3, pcRow] = [9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
  const [acc0, tot0, bv] = [21, 25, 29]; // acc0..acc3 = 21..24, tot0..tot3 = 25..28
  const locals = [[12, I32], [9, V128]];
  const fma = (r: number, offset: number[]) => [
    ...op.get(acc0 + r), ...op.get(paK), ...offset, ...op.f32Load, ...op.splat, ...op.get(bv), ...op.vMul, ...op.vAdd, ...op.set(acc0 + r),
  ];
  const store = (r: number, offset: number[]) => [...op.get(pcRow), ...offset, ...op.get(tot0 + r), ...op.v128Store];
  const rows = [0, 1, 2, 3];
  const body = [
    ...op.get(N), ...op.i32(4), ...op.mul, ...op.set(nb),
    ...op.get(sAm), ...op.i32(2), ...op.mul, ...op.set(s2),
    ...op.get(sAm), ...op.i32(3), ...op.mul, ...op.set(s3),
    ...op.i32(0), ...op.set(i),
    ...forLoop(i, op.get(M4), 4, [
      ...op.get(pa), ...op.get(i), ...op.get(sAm), ...op.mul, ...op.add, ...op.set(aBase),
      ...op.i32(0), ...op.set(j),
      ...forLoop(j, op.get(N4), 4, [
        ...rows.flatMap((r) => [...op.v128Zero, ...op.set(tot0 + r)]),
        ...op.get(aBase), ...op.set(paK),
        ...op.get(pb), ...op.get(j), ...op.i32(4), ...op.mul, ...op.add, ...op.set(pbK),
        ...op.i32(0), ...op.set(kb),
        ...forLoop(kb, op.get(K), KB, [
          ...blockEnd(kb, K, kEnd),
          ...rows.flatMap((r) => [...op.v128Zero, ...op.set(acc0 + r)]),
          ...op.get(kb), ...op.set(k),
          ...forLoop(k, op.get(kEnd), 1, [
            ...op.get(pbK), ...op.v128Load, ...op.set(bv),
            ...fma(0, []), ...fma(1, [...op.get(sAm), ...op.add]), ...fma(2, [...op.get(s2), ...op.add]), ...fma(3, [...op.get(s3), ...op.add]),
            ...inc(paK, op.get(sAk)), ...inc(pbK, op.get(nb)),
          ]),
          ...rows.flatMap((r) => [...op.get(tot0 + r), ...op.get(acc0 + r), ...op.vAdd, ...op.set(tot0 + r)]),
        ]),
        ...op.get(pc), ...op.get(i), ...op.get(N), ...op.mul, ...op.get(j), ...op.add, ...op.i32(4), ...op.mul, ...op.add, ...op.set(pcRow),
        ...store(0, []), ...store(1, [...op.get(nb), ...op.add]),
        ...store(2, [...op.get(nb), ...op.i32(2), ...op.mul, ...op.add]), ...store(3, [...op.get(nb), ...op.i32(3), ...op.mul, ...op.add]),
      ]),
    ]),
    0x0b,
  ];
  return [...vec(locals.map(([n, t]) => [...uleb(n!), t!])), ...body];
}

// rect(pa, pb, pc, K, N, sAm, sAk, i0, i1, j0, j1): C[i, j] for i ∈ [i0, i1), j ∈ [j0, j1), one at a time.
function rectFunction(): number[] {
  const [pa, pb, pc, K, N, sAm, sAk, i0, i1, j0, j1] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [i, j, k, kb, kEnd, paK, pbK, nb, acc, tot] = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
  const locals = [[8, I32], [2, F32]];
  const body = [
    ...op.get(N), ...op.i32(4), ...op.mul, ...op.set(nb),
    ...op.get(i0), ...op.set(i),
    ...forLoop(i, op.get(i1), 1, [
      ...op.get(j0), ...op.set(j),
      ...forLoop(j, op.get(j1), 1, [
        ...op.f32Zero, ...op.set(tot),
        ...op.get(pa), ...op.get(i), ...op.get(sAm), ...op.mul, ...op.add, ...op.set(paK),
        ...op.get(pb), ...op.get(j), ...op.i32(4), ...op.mul, ...op.add, ...op.set(pbK),
        ...op.i32(0), ...op.set(kb),
        ...forLoop(kb, op.get(K), KB, [
          ...blockEnd(kb, K, kEnd),
          ...op.f32Zero, ...op.set(acc),
          ...op.get(kb), ...op.set(k),
          ...forLoop(k, op.get(kEnd), 1, [
            ...op.get(acc), ...op.get(paK), ...op.f32Load, ...op.get(pbK), ...op.f32Load, ...op.f32Mul, ...op.f32Add, ...op.set(acc),
            ...inc(paK, op.get(sAk)), ...inc(pbK, op.get(nb)),
          ]),
          ...op.get(tot), ...op.get(acc), ...op.f32Add, ...op.set(tot),
        ]),
        ...op.get(pc), ...op.get(i), ...op.get(N), ...op.mul, ...op.get(j), ...op.add, ...op.i32(4), ...op.mul, ...op.add,
        ...op.get(tot), ...op.f32Store,
      ]),
    ]),
    0x0b,
  ];
  return [...vec(locals.map(([n, t]) => [...uleb(n!), t!])), ...body];
}

/** The module's bytes: imports env.memory, exports blk and rect. */
export function gemmModuleBytes(): Uint8Array<ArrayBuffer> {
  return moduleBytes([{ name: "blk", params: 9, body: blockFunction() }, { name: "rect", params: 11, body: rectFunction() }]);
}

// ---- the tfjs kernel ------------------------------------------------------------------------------------

let registered: boolean | null = null;

/**
 * Register the kernel on the wasm backend once; false when the backend is not wasm (or its memory is not
 * reachable), and callers use tf.matMul instead.
 */
export function gemmAvailable(): boolean {
  if (registered !== null && tf.getBackend() === "wasm") return registered;
  if (tf.getBackend() !== "wasm") return false;
  const backend = tf.backend() as unknown as WasmBackendInternals;
  const memory = backend.wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return (registered = false);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(gemmModuleBytes()), { env: { memory } });
  const { blk, rect } = instance.exports as unknown as {
    blk: (...args: number[]) => void;
    rect: (...args: number[]) => void;
  };
  tf.registerKernel({
    kernelName: GEMM_KERNEL,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend: b, attrs }) => {
      const be = b as unknown as WasmBackendInternals;
      const { a, b: bb } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const transposeA = (attrs as { transposeA: boolean }).transposeA;
      const [batch, rowsA, colsA] = a.shape as [number, number, number];
      const [M, K] = transposeA ? [colsA, rowsA] : [rowsA, colsA];
      const N = bb.shape[2]!;
      if (bb.shape[0] !== batch || bb.shape[1] !== K) throw new Error(`${GEMM_KERNEL}: shapes ${a.shape} and ${bb.shape} do not multiply`);
      const out = be.makeOutput([batch, M, N], "float32");
      const [pa, pb, pc] = [a, bb, out].map((t) => be.dataIdMap.get(t.dataId).memoryOffset) as [number, number, number];
      const [sAm, sAk] = transposeA ? [4, 4 * M] : [4 * K, 4];
      const M4 = M - (M % 4);
      const N4 = N - (N % 4);
      for (let β = 0; β < batch; β++) {
        const [oa, ob, oc] = [pa + 4 * β * M * K, pb + 4 * β * K * N, pc + 4 * β * M * N];
        blk(oa, ob, oc, K, N, sAm, sAk, M4, N4);
        if (N4 < N) rect(oa, ob, oc, K, N, sAm, sAk, 0, M4, N4, N);
        if (M4 < M) rect(oa, ob, oc, K, N, sAm, sAk, M4, M, 0, N);
      }
      return out;
    },
  });
  return (registered = true);
}

/** op(A)·B for float32 [batch, ·, ·] tensors through the kernel (call only when gemmAvailable()). */
export function gemm(a: tf.Tensor3D, b: tf.Tensor3D, transposeA: boolean): tf.Tensor3D {
  return tf.engine().runKernel(GEMM_KERNEL, { a, b }, { transposeA } as unknown as tf.NamedAttrMap) as tf.Tensor3D;
}
