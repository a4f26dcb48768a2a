// Faster Transpose, Sum, Identity and GatherV2 kernels for the tfjs wasm backend, with exactly the bits of the ones they
// replace.
//
// Why: tfjs-wasm 4.22's Transpose runs a generic index loop at ~70 M floats/s (2.8 ms for a [1024, 192]
// gradient, more than the product that uses it), its Sum over a leading axis (a weight's gradient through a
// broadcast: RMSNorm's γ, biases) first transposes the input with that same loop, and its Identity copies the
// buffer. Together they were ~30% of a `tiny` training step (bench/train-profile.md). On the backend's memory:
//   Transpose  float32 / int32: size-1 axes dropped and axes that stay adjacent merged, then 4×4 SIMD blocks
//              of 2-D transposes per batch entry, SIMD row copies when the last axis stays last (attention's
//              head split), else a strided loop. A copy: exact.
//   Sum        float32 over a leading block of axes ([R, C] after merging, axes 0..k−1): column sums,
//              acc[c] = ((0 + x[0, c]) + x[1, c]) + …, in row order: the order of tfjs-wasm's loop over its
//              transposed copy, so the same float32 bits (float32 adds done in float64 and rounded back
//              are exact: 53 ≥ 2·24 + 2). Sums over innermost axes keep tfjs-wasm's kernel (already fast).
//   Identity   shares the input's buffer with one more reference, as Reshape does (tensors are immutable).
//   GatherV2   (batchDims 0, float32 / int32) copies whole rows: RoPE's cos/sin by position took ~1 ms a forward.
// Anything else (other dtypes, other reductions) goes to the kernel that was registered before.
import * as tf from "@tensorflow/tfjs";
import { body, forLoop, I32, inc, moduleBytes, op, V128, type WasmBackendInternals } from "./wasm-encode";

// ---- the WebAssembly part: 4×4 blocks of a 2-D transpose, and column sums four columns at a time ----------

// tr(px, po, R, C, R4, C4): out[c, r] = x[r, c] for r < R4, c < C4 (multiples of 4), a 4×4 block per pass:
// four rows loaded as f32x4, transposed with eight shuffles, stored as four rows of the output.
function transposeFunction(): number[] {
  const [px, po, R, C, R4, C4] = [0, 1, 2, 3, 4, 5];
  const [r, c, pr, pw, sC, sR] = [6, 7, 8, 9, 10, 11];
  const [a, b, cc, d, t0, t1, t2, t3] = [12, 13, 14, 15, 16, 17, 18, 19];
  const load = (local: number, times: number) => [...op.get(pr), ...(times ? [...op.get(sC), ...op.i32(times), ...op.mul, ...op.add] : []), ...op.v128Load, ...op.set(local)];
  const pair = (x: number, y: number, lanes: [number, number, number, number], into: number) => [...op.get(x), ...op.get(y), ...op.shuffle32(lanes), ...op.set(into)];
  const store = (times: number, x: number, y: number, lanes: [number, number, number, number]) => [
    ...op.get(pw), ...(times ? [...op.get(sR), ...op.i32(times), ...op.mul, ...op.add] : []), ...op.get(x), ...op.get(y), ...op.shuffle32(lanes), ...op.v128Store,
  ];
  return body([[6, I32], [8, V128]], [
    ...op.get(C), ...op.i32(4), ...op.mul, ...op.set(sC),
    ...op.get(R), ...op.i32(4), ...op.mul, ...op.set(sR),
    ...op.i32(0), ...op.set(r),
    ...forLoop(r, op.get(R4), 4, [
      ...op.i32(0), ...op.set(c),
      ...forLoop(c, op.get(C4), 4, [
        ...op.get(px), ...op.get(r), ...op.get(C), ...op.mul, ...op.get(c), ...op.add, ...op.i32(4), ...op.mul, ...op.add, ...op.set(pr),
        ...load(a, 0), ...load(b, 1), ...load(cc, 2), ...load(d, 3),
        ...pair(a, b, [0, 4, 1, 5], t0), ...pair(a, b, [2, 6, 3, 7], t1), ...pair(cc, d, [0, 4, 1, 5], t2), ...pair(cc, d, [2, 6, 3, 7], t3),
        ...op.get(po), ...op.get(c), ...op.get(R), ...op.mul, ...op.get(r), ...op.add, ...op.i32(4), ...op.mul, ...op.add, ...op.set(pw),
        ...store(0, t0, t2, [0, 1, 4, 5]), ...store(1, t0, t2, [2, 3, 6, 7]), ...store(2, t1, t3, [0, 1, 4, 5]), ...store(3, t1, t3, [2, 3, 6, 7]),
      ]),
    ]),
  ]);
}

// cs(px, po, R, C, C4): out[c] = 0, then out[c] += x[r, c] for each row r in order, c < C4, four lanes at once
// (each lane one column's float32 running sum, so the order per column is the scalar loop's).
function columnSumFunction(): number[] {
  const [px, po, R, C, C4] = [0, 1, 2, 3, 4];
  const [r, c, pr, q] = [5, 6, 7, 8];
  return body([[4, I32]], [
    ...op.i32(0), ...op.set(c),
    ...forLoop(c, op.get(C4), 4, [...op.get(po), ...op.get(c), ...op.i32(4), ...op.mul, ...op.add, ...op.v128Zero, ...op.v128Store]),
    ...op.get(px), ...op.set(pr),
    ...op.i32(0), ...op.set(r),
    ...forLoop(r, op.get(R), 1, [
      ...op.i32(0), ...op.set(c),
      ...forLoop(c, op.get(C4), 4, [
        ...op.get(po), ...op.get(c), ...op.i32(4), ...op.mul, ...op.add, ...op.set(q),
        ...op.get(q), ...op.get(q), ...op.v128Load, ...op.get(pr), ...op.get(c), ...op.i32(4), ...op.mul, ...op.add, ...op.v128Load, ...op.vAdd, ...op.v128Store,
      ]),
      ...inc(pr, [...op.get(C), ...op.i32(4), ...op.mul]),
    ]),
  ]);
}

// trl(px, po, R, C, L): out[c, r, :] = x[r, c, :] for rows of L floats (L a multiple of 4), f32x4 at a time:
// attention's head split [B, T, H, D] → [B, H, T, D] and back, per batch entry.
function transposeRowsFunction(): number[] {
  const [px, po, R, C, L] = [0, 1, 2, 3, 4];
  const [r, c, k, pr, pw, sL, sOut] = [5, 6, 7, 8, 9, 10, 11];
  return body([[7, I32]], [
    ...op.get(L), ...op.i32(4), ...op.mul, ...op.set(sL),
    ...op.get(sL), ...op.get(R), ...op.mul, ...op.set(sOut),
    ...op.i32(0), ...op.set(r),
    ...forLoop(r, op.get(R), 1, [
      ...op.get(px), ...op.get(r), ...op.get(C), ...op.mul, ...op.get(sL), ...op.mul, ...op.add, ...op.set(pr),
      ...op.get(po), ...op.get(r), ...op.get(sL), ...op.mul, ...op.add, ...op.set(pw),
      ...op.i32(0), ...op.set(c),
      ...forLoop(c, op.get(C), 1, [
        ...op.i32(0), ...op.set(k),
        ...forLoop(k, op.get(sL), 16, [
          ...op.get(pw), ...op.get(k), ...op.add, ...op.get(pr), ...op.get(k), ...op.add, ...op.v128Load, ...op.v128Store,
        ]),
        ...inc(pr, op.get(sL)), ...inc(pw, op.get(sOut)),
      ]),
    ]),
  ]);
}

/** The module's bytes: imports env.memory, exports tr, trl and cs. */
export function layoutModuleBytes(): Uint8Array<ArrayBuffer> {
  return moduleBytes([
    { name: "tr", params: 6, body: transposeFunction() },
    { name: "trl", params: 5, body: transposeRowsFunction() },
    { name: "cs", params: 5, body: columnSumFunction() },
  ]);
}

interface LayoutModule {
  tr(px: number, po: number, R: number, C: number, R4: number, C4: number): void;
  trl(px: number, po: number, R: number, C: number, L: number): void;
  cs(px: number, po: number, R: number, C: number, C4: number): void;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** Drop size-1 axes and merge runs of axes that stay adjacent and in order: [shape, perm] of a smaller transpose. */
export function collapsePermutation(shape: readonly number[], perm: readonly number[]): [number[], number[]] {
  // input axes renumbered among those of size > 1, so a size-1 axis between two others does not keep them apart
  const rank = new Map<number, number>();
  shape.forEach((d, a) => d !== 1 && rank.set(a, rank.size));
  const kept = perm.filter((p) => shape[p] !== 1).map((p) => rank.get(p)!);
  const size = shape.filter((d) => d !== 1);
  // runs: maximal sequences in output order whose input axes are consecutive
  const runs: number[][] = [];
  for (const p of kept) {
    const last = runs[runs.length - 1];
    if (last && p === last[last.length - 1]! + 1) last.push(p);
    else runs.push([p]);
  }
  // each run becomes one axis; its input position is the run's first axis
  const order = runs.map((r, i) => [r[0]!, i] as const).sort((a, b) => a[0] - b[0]);
  const newShape = order.map(([, i]) => runs[i]!.reduce((s, p) => s * size[p]!, 1));
  const inputAxisOfRun = new Array<number>(runs.length);
  order.forEach(([, i], inputAxis) => (inputAxisOfRun[i] = inputAxis));
  return [newShape, inputAxisOfRun];
}

const CHUNK = 8; // columns per band: 8 measured fastest (16: 2.5×, 64: 6× slower at [1024, 192], 4 KB-aliased output rows)

/**
 * out = x transposed by perm (x of shape `shape`). With `wasm`, x and out are views on the memory it imports and
 * their 4×4 blocks go through it; the rest is plain loops.
 */
export function transposeInto(x: Float32Array | Int32Array, out: Float32Array | Int32Array, shape: readonly number[], perm: readonly number[], wasm: LayoutModule | null): void {
  const [s, p] = collapsePermutation(shape, perm);
  const n = s.length;
  if (n <= 1) {
    out.set(x);
    return;
  }
  if (p[n - 1] === n - 2 && p[n - 2] === n - 1 && p.slice(0, n - 2).every((a, i) => a === i)) {
    // [..., R, C] → [..., C, R]: batches of tiled 2-D transposes
    const [R, C] = [s[n - 2]!, s[n - 1]!];
    const batch = s.slice(0, n - 2).reduce((a, b) => a * b, 1);
    const TILE = 32;
    const [R4, C4] = wasm ? [R - (R % 4), C - (C % 4)] : [0, 0];
    for (let b = 0, base = 0; b < batch; b++, base += R * C) {
      if (wasm && R4 > 0 && C4 > 0) {
        // a band of CHUNK columns at a time: the output rows it writes stay in cache while the rows fill
        for (let c0 = 0; c0 < C4; c0 += CHUNK) wasm.tr(x.byteOffset + 4 * (base + c0), out.byteOffset + 4 * (base + c0 * R), R, C, R4, Math.min(CHUNK, C4 - c0));
        for (let r = 0; r < R; r++) {
          for (let c = r < R4 ? C4 : 0; c < C; c++) out[base + c * R + r] = x[base + r * C + c]!;
        }
        continue;
      }
      for (let r0 = 0; r0 < R; r0 += TILE) {
        const r1 = Math.min(r0 + TILE, R);
        for (let c0 = 0; c0 < C; c0 += TILE) {
          const c1 = Math.min(c0 + TILE, C);
          for (let r = r0; r < r1; r++) {
            const src = base + r * C;
            for (let c = c0; c < c1; c++) out[base + c * R + r] = x[src + c]!;
          }
        }
      }
    }
    return;
  }
  if (wasm && n >= 3 && p[n - 1] === n - 1 && p[n - 2] === n - 3 && p[n - 3] === n - 2 && p.slice(0, n - 3).every((a, i) => a === i) && s[n - 1]! % 4 === 0) {
    // [..., R, C, L] → [..., C, R, L]: a 2-D transpose of rows of L floats
    const [R, C, L] = [s[n - 3]!, s[n - 2]!, s[n - 1]!];
    const batch = s.slice(0, n - 3).reduce((a, b) => a * b, 1);
    for (let b = 0, base = 0; b < batch; b++, base += R * C * L) wasm.trl(x.byteOffset + 4 * base, out.byteOffset + 4 * base, R, C, L);
    return;
  }
  // general: walk the output in order; the innermost output axis reads x with stride `inner`
  const strides = new Array<number>(n);
  for (let a = n - 1, st = 1; a >= 0; a--) {
    strides[a] = st;
    st *= s[a]!;
  }
  const outShape = p.map((a) => s[a]!);
  const outStrides = p.map((a) => strides[a]!);
  const last = outShape[n - 1]!;
  const inner = outStrides[n - 1]!;
  const idx = new Array<number>(n - 1).fill(0);
  let o = 0;
  let src = 0;
  const total = out.length;
  while (o < total) {
    if (inner === 1) {
      for (let k = 0; k < last; k++) out[o + k] = x[src + k]!;
    } else {
      for (let k = 0, q = src; k < last; k++, q += inner) out[o + k] = x[q]!;
    }
    o += last;
    // odometer over output axes 0..n−2
    for (let a = n - 2; a >= 0; a--) {
      src += outStrides[a]!;
      if (++idx[a]! < outShape[a]!) break;
      src -= outStrides[a]! * outShape[a]!;
      idx[a] = 0;
    }
  }
}

/** out[o, i, :] = x[o, idx[i], :] for x [outer, dim, slice] (a gather along the middle axis). */
export function gatherRowsInto(x: Float32Array | Int32Array, out: Float32Array | Int32Array, idx: Int32Array, outer: number, dim: number, slice: number): void {
  for (let o = 0, d = 0; o < outer; o++) {
    const base = o * dim * slice;
    for (let i = 0; i < idx.length; i++, d += slice) {
      const src = base + idx[i]! * slice;
      for (let k = 0; k < slice; k++) out[d + k] = x[src + k]!;
    }
  }
}

/** out[c] = Σ_r x[r·C + c], summed over r in order from 0, in float32 (with `wasm`: views on its memory). */
export function columnSumsInto(x: Float32Array, out: Float32Array, R: number, C: number, wasm: LayoutModule | null): void {
  const C4 = wasm ? C - (C % 4) : 0;
  if (wasm && C4 > 0) wasm.cs(x.byteOffset, out.byteOffset, R, C, C4);
  out.fill(0, C4);
  for (let r = 0, base = 0; r < R; r++, base += C) {
    for (let c = C4; c < C; c++) out[c] += x[base + c]!;
  }
}

let replaced: { transpose: tf.KernelConfig; sum: tf.KernelConfig; identity: tf.KernelConfig; gather: tf.KernelConfig } | null = null;

/** The kernels installLayoutKernels replaced (tests compare against them), or null before it ran. */
export const replacedKernels = () => replaced;

/**
 * Replace the wasm backend's Transpose, Sum, Identity and GatherV2 kernels with these (once; the previous kernels stay as the
 * fallback). No-op on other backends.
 */
export function installLayoutKernels(): void {
  if (replaced || tf.getBackend() !== "wasm") return;
  const backend = tf.backend() as unknown as WasmBackendInternals;
  if (!(backend.wasm?.asm?.memory instanceof WebAssembly.Memory)) return;
  const memory = backend.wasm.asm.memory;
  const wasm = new WebAssembly.Instance(new WebAssembly.Module(layoutModuleBytes()), { env: { memory } }).exports as unknown as LayoutModule;
  /** Re-register `name` on wasm with `kernelFunc`, which may hand a case back to the kernel it replaces. */
  const replace = (name: string, kernelFunc: (args: KernelArgs, original: tf.KernelFunc) => tf.TensorInfo | tf.TensorInfo[]): tf.KernelConfig => {
    const original = tf.getKernel(name, "wasm")!;
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ ...original, kernelFunc: (args: KernelArgs) => kernelFunc(args, original.kernelFunc) });
    return original;
  };
  const view = (t: tf.TensorInfo, be: WasmBackendInternals, n: number) => {
    const offset = be.dataIdMap.get(t.dataId).memoryOffset;
    return t.dtype === "int32" ? new Int32Array(memory.buffer, offset, n) : new Float32Array(memory.buffer, offset, n);
  };

  const originalTranspose = replace("Transpose", (args, original) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const perm = (args.attrs as unknown as { perm: number[] }).perm;
    if ((x.dtype !== "float32" && x.dtype !== "int32") || perm.every((p, i) => p === i)) return original(args);
    const be = args.backend as unknown as WasmBackendInternals;
    const out = be.makeOutput(perm.map((p) => x.shape[p]!), x.dtype);
    const n = x.shape.reduce((a, b) => a * b, 1);
    if (n > 0) transposeInto(view(x, be, n), view(out, be, n), x.shape, perm, wasm); // views after makeOutput: it may grow memory
    return out;
  });

  // Identity (tf.clone: every tensor a tf.customGrad saves for its backward pass goes through it) copied the
  // data; tensors are immutable, so like Reshape it now shares the buffer and counts one more reference.
  const originalIdentity = replace("Identity", (args, original) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === "string") return original(args);
    (args.backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });

  // GatherV2 (RoPE's cos/sin rows by position): tfjs-wasm's generic strided loop took ~1 ms for 1,024 rows of 16;
  // rows are copied here. Indices are checked as tfjs-wasm checks them, with its message.
  const originalGather = replace("GatherV2", (args, original) => {
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
    if ((x.dtype !== "float32" && x.dtype !== "int32") || indices.dtype !== "int32" || batchDims !== 0) return original(args);
    const be = args.backend as unknown as WasmBackendInternals;
    const a = axis < 0 ? axis + x.shape.length : axis;
    const [outer, dim, slice] = [x.shape.slice(0, a).reduce((p, d) => p * d, 1), x.shape[a]!, x.shape.slice(a + 1).reduce((p, d) => p * d, 1)];
    const n = indices.shape.reduce((p, d) => p * d, 1);
    const idx = new Int32Array(memory.buffer, be.dataIdMap.get(indices.dataId).memoryOffset, n).slice();
    for (const i of idx) {
      if (!(i >= 0 && i <= dim - 1)) throw new Error(`GatherV2: the index value ${i} is not in [0, ${dim - 1}]`);
    }
    const out = be.makeOutput([...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)], x.dtype);
    if (outer * n * slice === 0) return out;
    gatherRowsInto(view(x, be, outer * dim * slice), view(out, be, outer * n * slice), idx, outer, dim, slice);
    return out;
  });

  const originalSum = replace("Sum", (args, original) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    if (x.dtype !== "float32" || !leading) return original(args);
    const be = args.backend as unknown as WasmBackendInternals;
    const kept = x.shape.slice(axes.length);
    const R = x.shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
    const C = kept.reduce((a, b) => a * b, 1);
    const out = be.makeOutput(keepDims ? [...axes.map(() => 1), ...kept] : kept, "float32");
    if (C > 0) columnSumsInto(view(x, be, R * C) as Float32Array, view(out, be, C) as Float32Array, R, C, wasm);
    return out;
  });
  replaced = { transpose: originalTranspose, sum: originalSum, identity: originalIdentity, gather: originalGather };
}
