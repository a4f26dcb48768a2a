// AdamW's element-wise update as one tfjs kernel on the wasm backend ("TetherAdamW"): a SIMD loop over the
// parameter instead of ~15 tfjs kernels per parameter tensor (a quarter of all kernel launches in a `tiny` step,
// all of them on the main thread while data-parallel replicas wait).
//
// It performs train/optimizer.ts's float32 operations in the same order, each rounded to float32 as the tfjs
// kernels round them, with the same float32 scalars (tfjs turns each JS number into a float32 tensor):
//   g = g·clip ;  m' = m·β₁ + g·(1−β₁) ;  v' = v·β₂ + (g·g)·(1−β₂)
//   a = (m'/b₁) / (√(v'/b₂) + ε) ;  a ← a + θ·λ (when λ > 0) ;  θ' = θ − a·(lr·α)
// so the weights come out bit for bit the same (wasm-adamw.test.ts). f32x4 lanes are IEEE float32 operations;
// the < 4 leftover elements use Math.fround on float64 results, which rounds +, −, ×, ÷ and √ of float32
// inputs exactly as float32 arithmetic does (53 ≥ 2·24 + 2 bits).
import * as tf from "@tensorflow/tfjs";
import { body, F32, forLoop, I32, moduleBytes, op, V128, type WasmBackendInternals } from "../model/wasm-encode";

export const ADAMW_KERNEL = "TetherAdamW";

/** The float32 scalars of one update, as tfjs would make them from the optimiser's numbers. */
export interface AdamWScalars {
  clip: number;
  beta1: number;
  beta2: number;
  bias1: number;
  bias2: number;
  eps: number;
  weightDecay: number;
  /** lr · α */
  lrScale: number;
}

const F32_PARAMS = ["clip", "beta1", "oneMinusBeta1", "beta2", "oneMinusBeta2", "bias1", "bias2", "eps", "weightDecay", "lrScale"] as const;

// adamw(pg, pm, pv, pt, om, ov, ot, n4, hasWd, …the ten f32 scalars above): elements [0, n4), four at a time.
function adamwFunction(): number[] {
  const [pg, pm, pv, pt, om, ov, ot, n4, hasWd] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const scalar = 9; // 9..18
  const [i, end] = [19, 20];
  const splat = 21; // 21..30: the scalars splatted
  const [g, m, v, a, th] = [31, 32, 33, 34, 35];
  const S = (name: (typeof F32_PARAMS)[number]) => op.get(splat + F32_PARAMS.indexOf(name));
  const at = (base: number) => [...op.get(base), ...op.get(i), ...op.add];
  return body([[2, I32], [15, V128]], [
    ...F32_PARAMS.flatMap((_, k) => [...op.get(scalar + k), ...op.splat, ...op.set(splat + k)]),
    ...op.get(n4), ...op.i32(4), ...op.mul, ...op.set(end),
    ...op.i32(0), ...op.set(i),
    ...forLoop(i, op.get(end), 16, [
      ...at(pg), ...op.v128Load, ...S("clip"), ...op.vMul, ...op.set(g),
      ...at(pm), ...op.v128Load, ...S("beta1"), ...op.vMul, ...op.get(g), ...S("oneMinusBeta1"), ...op.vMul, ...op.vAdd, ...op.set(m),
      ...at(pv), ...op.v128Load, ...S("beta2"), ...op.vMul, ...op.get(g), ...op.get(g), ...op.vMul, ...S("oneMinusBeta2"), ...op.vMul, ...op.vAdd, ...op.set(v),
      ...at(om), ...op.get(m), ...op.v128Store,
      ...at(ov), ...op.get(v), ...op.v128Store,
      ...op.get(m), ...S("bias1"), ...op.vDiv, ...op.get(v), ...S("bias2"), ...op.vDiv, ...op.vSqrt, ...S("eps"), ...op.vAdd, ...op.vDiv, ...op.set(a),
      ...at(pt), ...op.v128Load, ...op.set(th),
      ...op.get(hasWd), 0x04, 0x40, ...op.get(a), ...op.get(th), ...S("weightDecay"), ...op.vMul, ...op.vAdd, ...op.set(a), 0x0b,
      ...at(ot), ...op.get(th), ...op.get(a), ...S("lrScale"), ...op.vMul, ...op.vSub, ...op.v128Store,
    ]),
  ]);
}

// sumsq(px, n) → Σ x², one float32 running sum in element order: tf.sum(tf.square(g))'s operations and order
// (tfjs-wasm's Square, then its Sum over every axis, a sequential loop from 0).
function sumOfSquaresFunction(): number[] {
  const [px, n] = [0, 1];
  const [i, end, acc, x] = [2, 3, 4, 5];
  return body([[2, I32], [2, F32]], [
    ...op.get(n), ...op.i32(4), ...op.mul, ...op.set(end),
    ...op.i32(0), ...op.set(i),
    ...forLoop(i, op.get(end), 4, [
      ...op.get(px), ...op.get(i), ...op.add, ...op.f32Load, ...op.set(x),
      ...op.get(acc), ...op.get(x), ...op.get(x), ...op.f32Mul, ...op.f32Add, ...op.set(acc),
    ]),
    ...op.get(acc),
  ]);
}

/** The module's bytes: imports env.memory, exports adamw and sumsq. */
export function adamwModuleBytes(): Uint8Array<ArrayBuffer> {
  return moduleBytes([
    { name: "adamw", params: [...new Array<number>(9).fill(I32), ...F32_PARAMS.map(() => F32)], body: adamwFunction() },
    { name: "sumsq", params: 2, result: F32, body: sumOfSquaresFunction() },
  ]);
}

/** The same update on plain arrays, element by element (the tail the SIMD loop leaves, and tests). */
export function adamwScalar(
  s: AdamWScalars,
  [g, m, v, t]: [Float32Array, Float32Array, Float32Array, Float32Array],
  [mo, vo, to]: [Float32Array, Float32Array, Float32Array],
  from = 0,
): void {
  const f = Math.fround;
  const [clip, b1, omb1, b2, omb2, bias1, bias2, eps, wd, lrs] = scalarValues(s);
  for (let k = from; k < g.length; k++) {
    const gk = f(g[k]! * clip);
    const mk = f(f(m[k]! * b1) + f(gk * omb1));
    const vk = f(f(v[k]! * b2) + f(f(gk * gk) * omb2));
    let a = f(f(mk / bias1) / f(f(Math.sqrt(f(vk / bias2))) + eps));
    if (s.weightDecay > 0) a = f(a + f(t[k]! * wd));
    mo[k] = mk;
    vo[k] = vk;
    to[k] = f(t[k]! - f(a * lrs));
  }
}

/** The ten scalars in F32_PARAMS order, rounded to float32 the way tf.mul(x, number) rounds its number. */
function scalarValues(s: AdamWScalars): number[] {
  return [s.clip, s.beta1, 1 - s.beta1, s.beta2, 1 - s.beta2, s.bias1, s.bias2, s.eps, s.weightDecay, s.lrScale].map(Math.fround);
}


let registered: boolean | null = null;
let sumsq: ((px: number, n: number) => number) | null = null;

/** Register the kernel on the wasm backend once; false on other backends (the optimiser then uses tfjs ops). */
export function fusedAdamWAvailable(): boolean {
  if (tf.getBackend() !== "wasm") return false;
  if (registered !== null) return registered;
  const memory = (tf.backend() as unknown as WasmBackendInternals).wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return (registered = false);
  const exports = new WebAssembly.Instance(new WebAssembly.Module(adamwModuleBytes()), { env: { memory } }).exports as unknown as {
    adamw: (...args: number[]) => void;
    sumsq: (px: number, n: number) => number;
  };
  const adamw = exports.adamw;
  sumsq = exports.sumsq;
  tf.registerKernel({
    kernelName: ADAMW_KERNEL,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const be = backend as unknown as WasmBackendInternals;
      const { g, m, v, theta } = inputs as Record<"g" | "m" | "v" | "theta", tf.TensorInfo>;
      const s = attrs as unknown as AdamWScalars;
      const outs = [m, v, theta].map((t) => be.makeOutput(t.shape, "float32"));
      const n = g.shape.reduce((a, b) => a * b, 1);
      const [pg, pm, pv, pt, om, ov, ot] = [g, m, v, theta, ...outs].map((t) => be.dataIdMap.get(t!.dataId).memoryOffset) as number[];
      const n4 = n - (n % 4);
      adamw(pg!, pm!, pv!, pt!, om!, ov!, ot!, n4, s.weightDecay > 0 ? 1 : 0, ...scalarValues(s));
      if (n4 < n) {
        const view = (offset: number) => new Float32Array(memory.buffer, offset, n); // after makeOutput: it may grow memory
        adamwScalar(s, [view(pg!), view(pm!), view(pv!), view(pt!)], [view(om!), view(ov!), view(ot!)], n4);
      }
      return outs;
    },
  });
  return (registered = true);
}

/** [m', v', θ'] for float32 tensors of one shape (call only when fusedAdamWAvailable()). */
export function fusedAdamW(g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, theta: tf.Tensor, s: AdamWScalars): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(ADAMW_KERNEL, { g, m, v, theta }, s as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
}

/**
 * ‖g‖₂ over all the tensors, with the float32 operations and order of
 * √(tf.addN(gs.map((g) => tf.sum(tf.square(g))))) (tfjs-wasm's AddN adds its inputs in order, from 0);
 * float32 tensors on wasm only (call only when fusedAdamWAvailable()).
 */
export function fusedGlobalNorm(gs: tf.Tensor[]): number {
  const be = tf.backend() as unknown as WasmBackendInternals;
  let total = 0;
  for (const g of gs) total = Math.fround(total + sumsq!(be.dataIdMap.get(g.dataId).memoryOffset, g.size));
  return Math.sqrt(total);
}
