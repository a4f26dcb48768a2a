// A minimal WebAssembly encoder: just what the trainer's hand-assembled kernels need (wasm-gemm.ts,
// wasm-layout.ts, train/wasm-adamw.ts), and the parts of tfjs-wasm's backend those kernels reach into.
// Functions are written as arrays of opcode bytes; locals and parameters by index.
import type * as tf from "@tensorflow/tfjs";

/** What the kernels use of tfjs-wasm's BackendWasm (not in its typings): its memory and where tensors live. */
export interface WasmBackendInternals {
  wasm: { asm: { memory: WebAssembly.Memory } };
  dataIdMap: { get(id: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

export const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
export const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
};
export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const str = (s: string): number[] => vec([...Buffer.from(s, "utf8")].map((b) => [b]));
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  i32: (n: number) => [0x41, ...sleb(n)],
  add: [0x6a],
  mul: [0x6c],
  geS: [0x4e],
  gtS: [0x4a],
  select: [0x1b],
  f32Load: [0x2a, 2, 0],
  f32Store: [0x38, 2, 0],
  f32Add: [0x92],
  f32Mul: [0x94],
  f32Zero: [0x43, 0, 0, 0, 0],
  v128Load: [0xfd, 0x00, 2, 0],
  v128Store: [0xfd, 0x0b, 2, 0],
  v128Zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  splat: [0xfd, 0x13],
  vAdd: [0xfd, 0xe4, 0x01],
  vMul: [0xfd, 0xe6, 0x01],
  vSub: [0xfd, 0xe5, 0x01],
  vDiv: [0xfd, 0xe7, 0x01],
  vSqrt: [0xfd, 0xe3, 0x01],
  eqz: [0x45],
  /** i8x16.shuffle of two f32x4 by 32-bit lanes (0–3 the first operand's, 4–7 the second's). */
  shuffle32: (lanes: [number, number, number, number]) => [0xfd, 0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])],
};
/** for (; i < end; i += step) body — as block/loop with the exit test first. */
export const forLoop = (i: number, end: number[], step: number, body: number[]): number[] => [
  0x02, 0x40, 0x03, 0x40,
  ...op.get(i), ...end, ...op.geS, 0x0d, 1,
  ...body,
  ...op.get(i), ...op.i32(step), ...op.add, ...op.set(i),
  0x0c, 0, 0x0b, 0x0b,
];
export const inc = (local: number, by: number[]) => [...op.get(local), ...by, ...op.add, ...op.set(local)];

/**
 * A module importing env.memory and exporting `functions`: name, parameters (a count of i32s, or their types),
 * result type if any, body with locals.
 */
export function moduleBytes(functions: { name: string; params: number | number[]; result?: number; body: number[] }[]): Uint8Array<ArrayBuffer> {
  const fnType = (p: number | number[], result?: number) => [
    0x60, ...vec((typeof p === "number" ? new Array<number>(p).fill(I32) : p).map((t) => [t])), ...(result === undefined ? [0] : [1, result]),
  ];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(functions.map((f) => fnType(f.params, f.result)))),
    ...section(2, vec([[...str("env"), ...str("memory"), 0x02, 0x00, 0x00]])),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(7, vec(functions.map((f, i) => [...str(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(functions.map((f) => [...uleb(f.body.length), ...f.body]))),
  ]);
}

/** A function body: its locals ([count, type] runs), then the code, then `end`. */
export const body = (locals: [number, number][], code: number[]): number[] => [...vec(locals.map(([n, t]) => [...uleb(n), t])), ...code, 0x0b];
