// What the ONNX engine needs from an ONNX Runtime build (onnxruntime-node and onnxruntime-web expose the same
// onnxruntime-common API; each entry adapts it in a few lines), and the KV-cache row operations on its tensors.
//
// Cache tensors are [B, H_kv, T, D] row-major, so sequence b's cache is one contiguous block of H_kv·T·D floats:
// tiling a batch-1 prefill to B rows and dropping finished rows are block copies.

/** The part of an ONNX Runtime tensor the engine touches (onnxruntime-common's Tensor satisfies it). */
export interface OrtTensor {
  readonly dims: readonly number[];
  readonly data: unknown;
  dispose(): void;
}

/** An inference session reduced to what the engine calls. */
export interface OrtRunner {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs the graph and returns only the `fetches` outputs. */
  run(feeds: Record<string, OrtTensor>, fetches: readonly string[]): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

/** Tensor constructors of the runtime. */
export interface OrtTensorFactory {
  float32(data: Float32Array, dims: readonly number[]): OrtTensor;
  int64(data: BigInt64Array, dims: readonly number[]): OrtTensor;
}

/** Cache geometry: num_hidden_layers, num_key_value_heads, head_dim. */
export interface KvShape {
  layers: number;
  kvHeads: number;
  headDim: number;
}

export const PAST = (i: number, kind: "key" | "value") => `past_key_values.${i}.${kind}`;
export const PRESENT = (i: number, kind: "key" | "value") => `present.${i}.${kind}`;

/** present.{i}.key|value for every layer. */
export function presentNames(kv: KvShape): string[] {
  return Array.from({ length: kv.layers }, (_, i) => [PRESENT(i, "key"), PRESENT(i, "value")]).flat();
}

/** Zero-length past_key_values.* for a first run at batch B. */
export function emptyPast(kv: KvShape, B: number, tensors: OrtTensorFactory): Record<string, OrtTensor> {
  const past: Record<string, OrtTensor> = {};
  for (let i = 0; i < kv.layers; i++) {
    for (const kind of ["key", "value"] as const) past[PAST(i, kind)] = tensors.float32(new Float32Array(0), [B, kv.kvHeads, 0, kv.headDim]);
  }
  return past;
}

/** The present.* outputs of a run renamed as the next run's past_key_values.* feeds. */
export function carryPast(kv: KvShape, out: Record<string, OrtTensor>): Record<string, OrtTensor> {
  const past: Record<string, OrtTensor> = {};
  for (let i = 0; i < kv.layers; i++) {
    for (const kind of ["key", "value"] as const) {
      const t = out[PRESENT(i, kind)];
      if (!t) throw new Error(`the decoder returned no ${PRESENT(i, kind)}`);
      past[PAST(i, kind)] = t;
    }
  }
  return past;
}

/**
 * A cache whose row r is row `from[r]` of `past` (tiling: from = [0, 0, 0, 0]; dropping rows: the kept
 * indices). The input tensors are disposed unless `disposeInput` is false.
 * @example past = selectRows(past, [0, 0, 0, 0], factory); // [1, H, T, D] -> [4, H, T, D]
 */
export function selectRows(past: Record<string, OrtTensor>, from: readonly number[], tensors: OrtTensorFactory, disposeInput = true): Record<string, OrtTensor> {
  const out: Record<string, OrtTensor> = {};
  for (const [name, t] of Object.entries(past)) {
    const [B, H, T, D] = t.dims as [number, number, number, number];
    const src = t.data as Float32Array;
    const rowSize = H * T * D;
    if (src.length !== B * rowSize) throw new Error(`${name}: ${src.length} values for dims [${t.dims}]`);
    const dst = new Float32Array(from.length * rowSize);
    from.forEach((b, r) => dst.set(src.subarray(b * rowSize, (b + 1) * rowSize), r * rowSize));
    out[name] = tensors.float32(dst, [from.length, H, T, D]); // [B, H, T, D] -> [B', H, T, D]
    if (disposeInput) t.dispose();
  }
  return out;
}

/** Disposes every tensor of a feed/fetch map (a replaced cache). */
export function disposeAll(tensors: Record<string, OrtTensor>): void {
  for (const t of Object.values(tensors)) t.dispose();
}
