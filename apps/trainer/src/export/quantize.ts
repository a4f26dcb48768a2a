// Weight-only quantisation of an exported decoder graph (`export --quantize int8|int4` → onnx/model_int8.onnx or
// onnx/model_int4.onnx), written with the same ONNX builder types as the fp32 graph. Every linear layer of the decoder — the MatMuls
// under /model/layers.* whose weight is a float initializer [K, N], and the LM head (the tied head's
// Transpose(E) becomes an int8 copy of Eᵀ; E itself stays fp32 for the embedding Gather) — reads
//   q_kn = round(W_kn / s_n) ∈ [−127, 127],   s_n = max_k |W_kn| / 127      (one scale per output channel n)
//   W ≈ DequantizeLinear(q, s, 0, axis = 1)  → MatMul                          (ai.onnx, opset ≥ 13)
// Activations, the KV cache, norms and the sketch projections stay fp32 (the sketch statistics in sketch.json
// were calibrated on fp32 activations and stay valid up to the quantisation error the eval measures).
// ONNX Runtime 1.30 fuses each DequantizeLinear → MatMul pair into one int8 MatMulNBits kernel at load time,
// so the weights are read as int8 (4× fewer bytes; measured in docs/performance.md against MatMulInteger-style
// DynamicQuantizeMatMul and explicit MatMulNBits 8/4-bit: this form was the fastest that stays accurate).
// int4 has no standard form ONNX Runtime 1.30 serves fast on CPU, so it is ONNX Runtime's own contrib op:
//   com.microsoft MatMulNBits(A, B, scales), bits 4, block_size 32, accuracy_level 4 (int8 activations in the
//   kernel), B [N, K/32, 16] uint8 with two weights per byte (low nibble first) stored as q + 8, no zero points:
//   q = round(W_kn / s_nb) ∈ [−7, 7],   s_nb = max_{k in block b} |W_kn| / 7   (one scale per 32 rows of a column)
import { DataType, onnx } from "./onnx-builder";

/** Layers whose MatMul weights are quantised: the decoder blocks and the LM head, never /sketch/*. */
const QUANTISED = /^\/model\/layers\.\d+\/|^\/lm_head\//;

/** The weight formats export writes beside the fp32 graph. */
export type QuantizedDtype = "int8" | "int4";

/** MatMulNBits' block of rows sharing one scale (int4). */
export const INT4_BLOCK = 32;

export interface QuantizedModel {
  model: onnx.ModelProto;
  /** Weight matrices replaced by quantised weights + scales. */
  matrices: number;
  /** Initializer bytes before and after. */
  bytesBefore: number;
  bytesAfter: number;
}

/**
 * Per-output-channel symmetric int8 of a row-major [K, N] matrix.
 * @example const { q, scale } = quantizeColumns(w, 64, 192); // w ≈ q[k·N + n] · scale[n]
 */
export function quantizeColumns(w: Float32Array, K: number, N: number): { q: Int8Array; scale: Float32Array } {
  if (w.length !== K * N) throw new RangeError(`weight has ${w.length} values, [${K}, ${N}] needs ${K * N}`);
  const scale = new Float32Array(N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) scale[n] = Math.max(scale[n]!, Math.abs(w[k * N + n]!));
  for (let n = 0; n < N; n++) scale[n] = scale[n]! > 0 ? scale[n]! / 127 : 1; // an all-zero column: any scale
  const q = new Int8Array(K * N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) q[k * N + n] = Math.round(w[k * N + n]! / scale[n]!);
  return { q, scale };
}

/**
 * Symmetric 4-bit of a row-major [K, N] matrix in MatMulNBits' layout: blocks of INT4_BLOCK rows per column
 * (K padded with zeros to whole blocks), one scale per (column, block), two weights per byte, low nibble first,
 * each stored as q + 8.
 * @example const { blob, scales } = quantizeBlocks4(w, 64, 192); // w[k·N + n] ≈ (nibble − 8) · scales[n·⌈K/32⌉ + ⌊k/32⌋]
 */
export function quantizeBlocks4(w: Float32Array, K: number, N: number): { blob: Uint8Array; scales: Float32Array; blocks: number } {
  if (w.length !== K * N) throw new RangeError(`weight has ${w.length} values, [${K}, ${N}] needs ${K * N}`);
  const blocks = Math.ceil(K / INT4_BLOCK);
  const scales = new Float32Array(N * blocks);
  const blob = new Uint8Array((N * blocks * INT4_BLOCK) / 2).fill(0x88); // padding rows: q = 0
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      const end = Math.min(K, (b + 1) * INT4_BLOCK);
      let max = 0;
      for (let k = b * INT4_BLOCK; k < end; k++) max = Math.max(max, Math.abs(w[k * N + n]!));
      const s = max > 0 ? max / 7 : 1; // an all-zero block: any scale
      scales[n * blocks + b] = s;
      for (let k = b * INT4_BLOCK; k < end; k++) {
        const q = Math.max(-7, Math.min(7, Math.round(w[k * N + n]! / s))) + 8;
        const at = (n * blocks + b) * INT4_BLOCK + (k - b * INT4_BLOCK);
        blob[at >> 1] = at & 1 ? (blob[at >> 1]! & 0x0f) | (q << 4) : (blob[at >> 1]! & 0xf0) | q;
      }
    }
  }
  return { blob, scales, blocks };
}

/**
 * The int8 (or int4) graph of an fp32 decoder: a new ModelProto sharing the unchanged initializers' bytes.
 * @example const { model } = quantizeGraph(decodeModel(readFileSync("ckpt/onnx/model.onnx")), "int8");
 */
export function quantizeGraph(fp32: onnx.IModelProto, dtype: QuantizedDtype): QuantizedModel {
  const graph = fp32.graph;
  if (!graph) throw new Error("quantize: the model has no graph");
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? "", t]));
  const producer = new Map((graph.node ?? []).flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
  const added: onnx.ITensorProto[] = [];
  const replaced = new Set<string>(); // fp32 initializers / Transpose nodes no longer read
  const nodes: onnx.INodeProto[] = [];
  let matrices = 0;
  for (const node of graph.node ?? []) {
    const source = node.opType === "MatMul" && !node.domain && QUANTISED.test(node.name ?? "") ? weightOf(node.input![1]!, inits, producer) : null;
    if (!source) {
      nodes.push(node);
      continue;
    }
    const base = `${source.name}.${dtype}`;
    if (dtype === "int8") {
      // 1) the [K, N] fp32 weight (a tied head: Eᵀ of the [V, d] embedding) → int8 + scale per column n
      const { q, scale } = quantizeColumns(source.data, source.K, source.N);
      added.push(tensor(`${base}.weight`, DataType.INT8, [source.K, source.N], new Uint8Array(q.buffer)));
      added.push(tensor(`${base}.scale`, DataType.FLOAT, [source.N], new Uint8Array(scale.buffer)));
      added.push(tensor(`${base}.zero_point`, DataType.INT8, [source.N], new Uint8Array(source.N)));
      // 2) DequantizeLinear(q, s, 0, axis 1) → the MatMul's weight input
      nodes.push({ opType: "DequantizeLinear", name: `${node.name}/DequantizeLinear`, input: [`${base}.weight`, `${base}.scale`, `${base}.zero_point`], output: [`${base}.dequantized`], attribute: [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 1 }], domain: "" });
      nodes.push({ ...node, input: [node.input![0]!, `${base}.dequantized`] });
    } else {
      // 1) → 4-bit blocks + scales; 2) MatMulNBits in the MatMul's place (same input A, same output)
      const { blob, scales, blocks } = quantizeBlocks4(source.data, source.K, source.N);
      added.push(tensor(`${base}.weight`, DataType.UINT8, [source.N, blocks, INT4_BLOCK / 2], blob));
      added.push(tensor(`${base}.scale`, DataType.FLOAT, [source.N * blocks], new Uint8Array(scales.buffer)));
      const int = (name: string, i: number) => ({ name, type: onnx.AttributeProto.AttributeType.INT, i });
      nodes.push({
        opType: "MatMulNBits", domain: "com.microsoft", name: `${node.name}/MatMulNBits`, input: [node.input![0]!, `${base}.weight`, `${base}.scale`], output: node.output,
        attribute: [int("K", source.K), int("N", source.N), int("bits", 4), int("block_size", INT4_BLOCK), int("accuracy_level", 4)],
      });
    }
    replaced.add(node.input![1]!);
    matrices++;
  }
  // 3) drop what only the replaced MatMuls read (a tied embedding is still read by the Gather)
  const read = new Set(nodes.flatMap((n) => n.input ?? []));
  const kept = nodes.filter((n) => !(n.opType === "Transpose" && replaced.has(n.output![0]!) && !read.has(n.output![0]!)));
  const readAfter = new Set(kept.flatMap((n) => n.input ?? []));
  const initializer = [...(graph.initializer ?? []).filter((t) => readAfter.has(t.name ?? "") || (graph.output ?? []).some((o) => o.name === t.name)), ...added];
  const bytes = (ts: readonly onnx.ITensorProto[]) => ts.reduce((n, t) => n + (t.rawData?.length ?? 0), 0);
  const scheme = dtype === "int8" ? "int8 weights (per-output-channel DequantizeLinear → MatMul)" : `int4 weights (com.microsoft MatMulNBits, blocks of ${INT4_BLOCK})`;
  const opsetImport = [...(fp32.opsetImport ?? [])];
  if (dtype === "int4" && !opsetImport.some((o) => o.domain === "com.microsoft")) opsetImport.push({ domain: "com.microsoft", version: 1 });
  const model = onnx.ModelProto.create({ ...fp32, opsetImport, docString: `${fp32.docString ?? ""} — ${scheme}`, graph: { ...graph, node: kept, initializer } });
  return { model, matrices, bytesBefore: bytes(graph.initializer ?? []), bytesAfter: bytes(initializer) };
}

interface Weight {
  name: string; // the fp32 initializer's name (E for a tied head)
  data: Float32Array; // [K, N] row-major
  K: number;
  N: number;
}

// The MatMul's B input as a [K, N] fp32 matrix: an initializer, or Transpose(perm [1, 0]) of one.
function weightOf(input: string, inits: Map<string, onnx.ITensorProto>, producer: Map<string, onnx.INodeProto>): Weight | null {
  const direct = floatMatrix(inits.get(input));
  if (direct) return { name: input, ...direct };
  const t = producer.get(input);
  const perm = t?.opType === "Transpose" ? t.attribute?.find((a) => a.name === "perm")?.ints?.map(Number) : undefined;
  if (!t || perm?.join(",") !== "1,0") return null;
  const src = floatMatrix(inits.get(t.input![0]!));
  if (!src) return null;
  // [R, C] -> [C, R]
  const data = new Float32Array(src.data.length);
  for (let r = 0; r < src.K; r++) for (let c = 0; c < src.N; c++) data[c * src.K + r] = src.data[r * src.N + c]!;
  return { name: `${t.input![0]}.T`, data, K: src.N, N: src.K };
}

function floatMatrix(t: onnx.ITensorProto | undefined): { data: Float32Array; K: number; N: number } | null {
  if (!t || t.dataType !== DataType.FLOAT || t.dims?.length !== 2 || !t.rawData) return null;
  const [K, N] = t.dims.map(Number) as [number, number];
  const raw = t.rawData;
  const data = raw.byteOffset % 4 === 0 ? new Float32Array(raw.buffer, raw.byteOffset, K * N) : new Float32Array(raw.slice().buffer);
  return { data, K, N };
}

function tensor(name: string, dataType: number, dims: number[], rawData: Uint8Array): onnx.ITensorProto {
  return { name, dataType, dims, rawData };
}
