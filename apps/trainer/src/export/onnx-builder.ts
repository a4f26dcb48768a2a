// A small typed ONNX graph writer on onnx-proto: nodes with Optimum-style names, float/int initializers
// stored as little-endian raw_data, value_info with symbolic dims, and the ModelProto around them.
import onnxProto from "onnx-proto";

// onnx-proto is CommonJS (`module.exports = { onnx }`): Node's ESM loader sees only a default export, so
// the namespace is re-exported here as a value that is also usable as a type (`onnx.ModelProto`).
export import onnx = onnxProto.onnx;

export const DataType = onnx.TensorProto.DataType;
const AttrType = onnx.AttributeProto.AttributeType;

/** One dimension of a value: a number or a symbolic name ("batch_size"). */
export type Dim = number | string;

/** A float attribute, tagged so that `{ epsilon: float(1e-6) }` is not read as an int. */
export interface FloatAttr {
  float: number;
}
export const float = (x: number): FloatAttr => ({ float: x });

/** Attribute values: integer (INT), integer[] (INTS), FloatAttr (FLOAT), string (STRING). */
export type AttrValue = number | number[] | FloatAttr | string;

export interface NodeOptions {
  /** Node name, e.g. "/model/layers.0/self_attn/q_proj/MatMul"; outputs default to `${name}_output_${i}`. */
  name: string;
  /** Explicit output names (a graph output or a contract value like "hidden_states.1"); "" = absent optional. */
  outputs?: string[];
  /** Number of outputs when names are generated (default 1). */
  count?: number;
  attrs?: Record<string, AttrValue>;
  /** "" (ai.onnx, default) or "com.microsoft". */
  domain?: string;
}

function attribute(name: string, value: AttrValue): onnx.IAttributeProto {
  if (typeof value === "string") return { name, type: AttrType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AttrType.INTS, ints: value };
  if (typeof value === "object") return { name, type: AttrType.FLOAT, f: value.float };
  if (!Number.isInteger(value)) throw new Error(`attribute ${name}: ${value} is not an integer (wrap floats in float())`);
  return { name, type: AttrType.INT, i: value };
}

/** Tensor type with symbolic or fixed dims. */
export function valueInfo(name: string, elemType: number, dims: readonly Dim[]): onnx.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

/** raw_data bytes of a typed array (little-endian, as ONNX requires; every platform Node runs on is LE). */
export function rawBytes(data: Float32Array | BigInt64Array | Int32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A tensor proto from a typed array; the data is referenced, not copied, until encoding. */
export function tensorProto(name: string, data: Float32Array | BigInt64Array | Int32Array, dims: readonly number[]): onnx.ITensorProto {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new Error(`initializer ${name}: ${data.length} values for dims [${dims}]`);
  const dataType = data instanceof Float32Array ? DataType.FLOAT : data instanceof BigInt64Array ? DataType.INT64 : DataType.INT32;
  return { name, dims: [...dims], dataType, rawData: rawBytes(data) };
}

/**
 * Accumulates a graph; every add returns the value name(s) to wire into later nodes.
 * @example
 * const g = new GraphBuilder("decoder");
 * const x = g.input("x", DataType.FLOAT, ["batch_size", 4]);
 * const [y] = g.node("Relu", [x], { name: "/relu/Relu" });
 * g.output(y, DataType.FLOAT, ["batch_size", 4]);
 * const model = g.model([{ domain: "", version: 17 }]);
 */
export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  readonly inputs: onnx.IValueInfoProto[] = [];
  readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly constants = new Map<string, string>();

  constructor(readonly name: string) {}

  input(name: string, elemType: number, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: readonly Dim[]): string {
    this.outputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  initializer(name: string, data: Float32Array | BigInt64Array | Int32Array, dims: readonly number[]): string {
    this.initializers.push(tensorProto(name, data, dims));
    return name;
  }

  /** An int64 constant (shapes, axes, indices), shared between nodes; dims [] for a scalar. */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join("x")}:${values.join(",")}`;
    const existing = this.constants.get(key);
    if (existing) return existing;
    const name = `/model/constants/${key.replace(/[:,]/g, "_")}`;
    this.constants.set(key, name);
    return this.initializer(name, BigInt64Array.from(values, (v) => BigInt(v)), dims);
  }

  /** A float32 constant; dims [] for a scalar. */
  float32(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `f32:${dims.join("x")}:${values.join(",")}`;
    const existing = this.constants.get(key);
    if (existing) return existing;
    const name = `/model/constants/${key.replace(/[:,]/g, "_")}`;
    this.constants.set(key, name);
    return this.initializer(name, Float32Array.from(values), dims);
  }

  /** Adds a node and returns its output names. */
  node(opType: string, inputs: readonly string[], o: NodeOptions): string[] {
    const outputs = o.outputs ?? Array.from({ length: o.count ?? 1 }, (_, i) => `${o.name}_output_${i}`);
    const attribute_ = Object.entries(o.attrs ?? {}).map(([k, v]) => attribute(k, v));
    this.nodes.push({ opType, name: o.name, input: [...inputs], output: outputs, attribute: attribute_, domain: o.domain ?? "" });
    return outputs;
  }

  /** A single-output node: `g.op("Add", [a, b], "/model/layers.0/Add")`. */
  op(opType: string, inputs: readonly string[], name: string, attrs?: Record<string, AttrValue>, output?: string): string {
    return this.node(opType, inputs, { name, attrs, outputs: output === undefined ? undefined : [output] })[0]!;
  }

  /** The ModelProto (IR 8: the newest onnx-proto's enum knows; opset 17 needs IR ≥ 8). */
  model(opsets: onnx.IOperatorSetIdProto[], docString = ""): onnx.ModelProto {
    return onnx.ModelProto.create({
      irVersion: 8,
      producerName: "tether-train",
      producerVersion: "0.1.0",
      docString,
      opsetImport: opsets,
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    });
  }
}

/** Serialised model bytes. */
export function encodeModel(model: onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/** Parse model bytes (e.g. to add outputs to an exported model). */
export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
