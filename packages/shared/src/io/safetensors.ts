// The safetensors file format (Hugging Face), pure TypeScript over Uint8Array: works in Node, Workers, browsers.
//
//   [0, 8)        u64 little-endian N: header length
//   [8, 8 + N)    UTF-8 JSON { "__metadata__"?: {string: string}, name: { dtype, shape, data_offsets: [b, e] } }
//                 (padded with spaces so the data starts 8-byte aligned)
//   [8 + N, …)    tensor bytes, little-endian, row-major; offsets relative to the data start
//
// Writes F32; reads F32, F16 and BF16 (bf16 = the upper 16 bits of an f32; f16 = IEEE binary16).
import { ParameterError } from "../errors";

export type Dtype = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

const DTYPE_BYTES: Record<Dtype, number> = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Largest header accepted (the reference implementation's limit): a corrupt length must not allocate gigabytes. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface RawTensor {
  dtype: Dtype;
  shape: number[];
  /** The tensor's bytes (a view into the file). */
  bytes: Uint8Array;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: Map<string, RawTensor>;
}

/**
 * Serialise float32 tensors (in the given order) with optional string metadata.
 * @example encodeSafetensors({ "model.norm.weight": { shape: [4], data: new Float32Array(4).fill(1) } }, { format: "pt" })
 */
export function encodeSafetensors(
  tensors: Record<string, { shape: number[]; data: Float32Array }>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = Object.keys(metadata).length ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, { shape, data }] of Object.entries(tensors)) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new ParameterError(name, `data length must equal the shape's ${size} elements`, data.length);
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = new TextEncoder().encode(JSON.stringify(header).padEnd(padded, " "));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const { data } of Object.values(tensors)) {
    // Float32Array is little-endian on every platform JS runs on today; copy its bytes.
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    at += data.byteLength;
  }
  return out;
}

/** One tensor's entry in a safetensors header: byte range [begin, end) relative to the data start. */
export interface TensorEntry {
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** Tensors in header order. */
  entries: Map<string, TensorEntry>;
}

/** Bytes per element of a dtype. */
export function dtypeBytes(dtype: Dtype): number {
  return DTYPE_BYTES[dtype];
}

/**
 * Parse the JSON header alone (the N bytes after the 8-byte length), checking every tensor's byte range
 * against a data section of `dataBytes` bytes. Lets a reader stream a file larger than memory.
 * @example parseSafetensorsHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n).entries.get("model.norm.weight")
 */
export function parseSafetensorsHeader(json: Uint8Array, dataBytes: number): SafetensorsHeader {
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json));
  } catch (e) {
    throw new ParameterError("safetensors", `header is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  const entries = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = entry as { dtype: Dtype; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in DTYPE_BYTES)) throw new ParameterError(name, "has an unsupported dtype", dtype);
    const [begin, end] = offsets ?? [];
    const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (!(Number.isInteger(begin) && Number.isInteger(end) && begin! >= 0 && end! <= dataBytes && end! - begin! === expected)) {
      throw new ParameterError(name, `data_offsets must span ${expected} bytes inside the ${dataBytes}-byte data section`, offsets);
    }
    entries.set(name, { dtype, shape, begin: begin!, end: end! });
  }
  return { metadata, entries };
}

/**
 * Parse a safetensors file, checking every offset and size; throws naming the problem.
 * @example decodeSafetensors(bytes).tensors.get("model.embed_tokens.weight")!.shape
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.length < 8) throw new ParameterError("safetensors", "file is shorter than its 8-byte header length");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > bytes.length - 8 || n > MAX_HEADER_BYTES) throw new ParameterError("safetensors", `header length ${n} exceeds the file size ${bytes.length}`);
  const data = bytes.subarray(8 + n);
  const { metadata, entries } = parseSafetensorsHeader(bytes.subarray(8, 8 + n), data.length);
  const tensors = new Map<string, RawTensor>();
  for (const [name, { dtype, shape, begin, end }] of entries) tensors.set(name, { dtype, shape, bytes: data.subarray(begin, end) });
  return { metadata, tensors };
}

/**
 * A float tensor's values as float32 (F32 copied, F16/BF16 widened exactly).
 * @example toFloat32(file.tensors.get("lm_head.weight")!)
 */
export function toFloat32(t: RawTensor): Float32Array {
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const n = t.bytes.byteLength / DTYPE_BYTES[t.dtype];
  const out = new Float32Array(n);
  if (t.dtype === "F32") for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
  else if (t.dtype === "F64") for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
  else if (t.dtype === "BF16") {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
  } else if (t.dtype === "F16") for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  else throw new ParameterError("dtype", "must be F32, F64, F16 or BF16 for float conversion", t.dtype);
  return out;
}

// IEEE 754 binary16 → number: sign · 2^(e−15) · (1 + f/1024), subnormals 2^−14 · f/1024, e = 31 → ∞/NaN.
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
