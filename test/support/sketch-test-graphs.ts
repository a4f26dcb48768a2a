// Test fixture for the sketch export: a toy decoder-shaped ONNX graph with the exporter's I/O contract, built
// here with onnx-proto (so the sketch tests do not depend on the real exporter), and its float64 forward in JS.
//
//   x_0 = E[ids] + Pe[positions]
//   per layer i:  h = RMSNorm(x_i)·g_i ;  u = tanh(h W_i) ;  x_{i+1} = x_i + cumsum_t(a_t · u_t)   (causal mixing)
//                 present.i.key|value = concat(past, reshape(h Wk_i | h Wv_i))                    [B, Hkv, T, D]
//   logits = RMSNorm(x_L)·g_f · H
//
// Three spellings of the same math: "named" (values `hidden_states.{l}`, opset 17), "optimum" (Optimum node
// names with the unfused Pow/ReduceMean/… norm, opset 18) and "fused" (SimplifiedLayerNormalization, then
// com.microsoft SkipSimplifiedLayerNormalization whose output 3 is the residual; the final one lacks output 3).
import onnxProto from "onnx-proto";
import * as ort from "onnxruntime-node";
import type { onnx } from "onnx-proto";
import { Pcg32 } from "@tether/shared/sampling/prng";

const P = onnxProto.onnx;
const FLOAT = P.TensorProto.DataType.FLOAT;
const INT64 = P.TensorProto.DataType.INT64;

export type ToyStyle = "named" | "optimum" | "fused";

/** Toy sizes: vocab 13, 32 positions, d 8, 3 layers, 2 kv heads of 3. */
export const TOY = { vocab: 13, positions: 32, d: 8, numLayers: 3, numKvHeads: 2, headDim: 3, normEps: 1e-5 } as const;

export interface ToyWeights {
  E: Float64Array; // [V, d]
  Pe: Float64Array; // [positions, d]
  g: Float64Array[]; // L × [d]
  W: Float64Array[]; // L × [d, d]
  Wk: Float64Array[]; // L × [d, Hkv·D]
  Wv: Float64Array[]; // L × [d, Hkv·D]
  gf: Float64Array; // [d]
  H: Float64Array; // [d, V]
}

/** Seeded weights, each float32-representable so the ONNX graph and the float64 forward share them exactly. */
export function toyWeights(seed = 1): ToyWeights {
  const rng = new Pcg32(seed, 99);
  const u = (n: number, a: number, c = 0) => Float64Array.from({ length: n }, () => Math.fround(c + a * (2 * rng.nextFloat() - 1)));
  const { vocab: V, positions, d, numLayers: L, numKvHeads, headDim } = TOY;
  const kv = numKvHeads * headDim;
  const per = (f: () => Float64Array) => Array.from({ length: L }, f);
  return {
    E: u(V * d, 1.5), Pe: u(positions * d, 0.3), g: per(() => u(d, 0.2, 1)), W: per(() => u(d * d, 0.6)),
    Wk: per(() => u(d * kv, 0.5)), Wv: per(() => u(d * kv, 0.5)), gf: u(d, 0.2, 1), H: u(d * V, 0.7),
  };
}

/** Float64 forward of one unpadded sequence: residual stream per position l = 0..L ([T·d] each) and logits. */
export function toyForward(w: ToyWeights, ids: number[]): { hidden: Float64Array[]; logits: Float64Array } {
  const { d, vocab: V, numLayers: L, normEps } = TOY;
  const T = ids.length;
  let x = new Float64Array(T * d);
  ids.forEach((id, t) => {
    for (let j = 0; j < d; j++) x[t * d + j] = w.E[id * d + j] + w.Pe[t * d + j];
  });
  const hidden = [x];
  for (let i = 0; i < L; i++) {
    const h = normRows(x, w.g[i], T, d, normEps);
    const next = Float64Array.from(x);
    const acc = new Float64Array(d); // cumsum over t of tanh(h_t W)
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += h[t * d + k] * w.W[i][k * d + j];
        acc[j] += Math.tanh(s);
        next[t * d + j] += acc[j];
      }
    }
    x = next;
    hidden.push(x);
  }
  const hf = normRows(x, w.gf, T, d, normEps);
  const logits = new Float64Array(T * V);
  for (let t = 0; t < T; t++) {
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += hf[t * d + k] * w.H[k * V + v];
      logits[t * V + v] = s;
    }
  }
  return { hidden, logits };
}

function normRows(x: Float64Array, g: Float64Array, T: number, d: number, eps: number): Float64Array {
  const out = new Float64Array(T * d);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += x[t * d + j] ** 2;
    const inv = 1 / Math.sqrt(ss / d + eps);
    for (let j = 0; j < d; j++) out[t * d + j] = x[t * d + j] * inv * g[j];
  }
  return out;
}

/** The toy decoder as an ONNX model in one of the three spellings. */
export function buildToyDecoder(style: ToyStyle, w: ToyWeights = toyWeights()): onnx.ModelProto {
  const { vocab: V, positions, d, numLayers: L, numKvHeads: Hkv, headDim: D, normEps } = TOY;
  const g = new GraphBuilder();
  const inits: [string, number[], ArrayLike<number>][] = [
    ["E", [V, d], w.E], ["Pe", [positions, d], w.Pe], ["H", [d, V], w.H],
  ];
  for (const [name, dims, data] of inits) g.float(name, dims, data);
  if (style !== "fused") g.float("norm_eps", [], [normEps]);
  g.int64("axis_last", [1], [-1]);
  g.int64("axis_seq", [], [1]);
  g.int64("kv_shape", [4], [0, 0, Hkv, D]);

  g.node("Gather", ["E", "input_ids"], ["tok"]);
  g.node("Gather", ["Pe", "position_ids"], ["pos"]);
  const x0 = style === "named" ? "hidden_states.0" : "/model/embed_tokens/Add_output_0";
  g.node("Add", ["tok", "pos"], [x0]);
  g.node("Cast", ["attention_mask"], ["mask_f"], { to: FLOAT });
  g.node("Unsqueeze", ["mask_f", "axis_last"], ["mask_3d"]); // [B, T] -> [B, T, 1]

  let x = x0; // residual entering layer i
  let c = ""; // this layer's update, added to x by the next Add or skip norm
  for (let i = 0; i <= L; i++) {
    g.float(i < L ? `g${i}` : "gf_", [d], i < L ? w.g[i] : w.gf);
    const prefix = i < L ? `/model/layers.${i}/input_layernorm/` : "/model/norm/";
    let h: string;
    if (style === "fused" && i > 0) {
      const out = i < L ? [`${prefix}h`, "", "", `/model/layers.${i}/residual`] : [`${prefix}h`];
      g.node("SkipSimplifiedLayerNormalization", [c, x, i < L ? `g${i}` : "gf_"], out, { epsilon: normEps }, `${prefix}SkipLayerNorm`, "com.microsoft");
      [h, x] = [out[0], out[3] ?? ""];
    } else {
      if (i > 0) {
        const next = style === "named" ? `hidden_states.${i}` : `/model/layers.${i - 1}/Add_output_0`;
        g.node("Add", [x, c], [next], {}, style === "named" ? `add${i}` : `/model/layers.${i - 1}/Add`);
        x = next;
      }
      h = style === "fused" ? g.fusedNorm(x, `g${i}`, prefix) : g.unfusedNorm(x, i < L ? `g${i}` : "gf_", style === "named" ? `norm${i}/` : prefix, style);
    }
    if (i === L) {
      g.node("MatMul", [h, "H"], ["logits"], {}, "/lm_head/MatMul");
      break;
    }
    g.float(`W${i}`, [d, d], w.W[i]);
    g.node("MatMul", [h, `W${i}`], [`u_pre${i}`]);
    g.node("Tanh", [`u_pre${i}`], [`u${i}`]);
    g.node("Mul", [`u${i}`, "mask_3d"], [`um${i}`]);
    g.node("CumSum", [`um${i}`, "axis_seq"], [`c${i}`]); // causal: token t sees tokens ≤ t
    c = `c${i}`;
    for (const [kind, Wt] of [["key", w.Wk[i]], ["value", w.Wv[i]]] as const) {
      g.float(`W${kind}${i}`, [d, Hkv * D], Wt);
      g.node("MatMul", [h, `W${kind}${i}`], [`${kind}${i}_flat`]);
      g.node("Reshape", [`${kind}${i}_flat`, "kv_shape"], [`${kind}${i}_4d`]); // [B, T, Hkv·D] -> [B, T, Hkv, D]
      g.node("Transpose", [`${kind}${i}_4d`], [`${kind}${i}_new`], { perm: [0, 2, 1, 3] }); // -> [B, Hkv, T, D]
      g.node("Concat", [`past_key_values.${i}.${kind}`, `${kind}${i}_new`], [`present.${i}.${kind}`], { axis: 2 });
    }
  }
  return g.model(style, L, V, Hkv, D);
}

type Attr = number | number[];

class GraphBuilder {
  private readonly nodes: onnx.NodeProto[] = [];
  private readonly inits: onnx.TensorProto[] = [];
  private count = 0;

  float(name: string, dims: number[], data: ArrayLike<number>): void {
    this.inits.push(P.TensorProto.create({ name, dataType: FLOAT, dims, floatData: Array.from(data, Math.fround) }));
  }

  int64(name: string, dims: number[], data: number[]): void {
    this.inits.push(P.TensorProto.create({ name, dataType: INT64, dims, int64Data: data }));
  }

  node(opType: string, input: string[], output: string[], attrs: Record<string, Attr> = {}, name = "", domain = ""): void {
    const attribute = Object.entries(attrs).map(([key, v]) =>
      Array.isArray(v)
        ? { name: key, type: P.AttributeProto.AttributeType.INTS, ints: v }
        : Number.isInteger(v) && key !== "epsilon"
          ? { name: key, type: P.AttributeProto.AttributeType.INT, i: v }
          : { name: key, type: P.AttributeProto.AttributeType.FLOAT, f: v },
    );
    this.nodes.push(P.NodeProto.create({ name: name || `${opType}_${this.count++}`, opType, input, output, attribute, domain }));
  }

  // Optimum's RMSNorm: Pow(x, 2) → ReduceMean → Add ε → Sqrt → Div(x, ·) → Mul(g). The exponent comes from a
  // Constant node under the prefix, ε from an initializer outside it.
  unfusedNorm(x: string, gain: string, prefix: string, style: ToyStyle): string {
    const v = (op: string) => `${prefix}${op}_output_0`;
    this.nodes.push(P.NodeProto.create({
      name: `${prefix}Constant`, opType: "Constant", output: [v("Constant")],
      attribute: [{ name: "value", type: P.AttributeProto.AttributeType.TENSOR, t: { dataType: FLOAT, dims: [], floatData: [2] } }],
    }));
    this.node("Pow", [x, v("Constant")], [v("Pow")], {}, `${prefix}Pow`);
    if (style === "optimum") this.node("ReduceMean", [v("Pow"), "axis_last"], [v("ReduceMean")], { keepdims: 1 }, `${prefix}ReduceMean`);
    else this.node("ReduceMean", [v("Pow")], [v("ReduceMean")], { axes: [-1], keepdims: 1 }, `${prefix}ReduceMean`);
    this.node("Add", [v("ReduceMean"), "norm_eps"], [v("Add")], {}, `${prefix}Add`);
    this.node("Sqrt", [v("Add")], [v("Sqrt")], {}, `${prefix}Sqrt`);
    this.node("Div", [x, v("Sqrt")], [v("Div")], {}, `${prefix}Div`);
    this.node("Mul", [v("Div"), gain], [v("Mul")], {}, `${prefix}Mul`);
    return v("Mul");
  }

  fusedNorm(x: string, gain: string, prefix: string): string {
    const out = `${prefix}SimplifiedLayerNorm_output_0`;
    this.node("SimplifiedLayerNormalization", [x, gain], [out], { axis: -1, epsilon: TOY.normEps }, `${prefix}SimplifiedLayerNorm`);
    return out;
  }

  model(style: ToyStyle, L: number, V: number, Hkv: number, D: number): onnx.ModelProto {
    const info = (name: string, elemType: number, dims: (string | number)[]) =>
      P.ValueInfoProto.create({
        name,
        type: { tensorType: { elemType, shape: { dim: dims.map((x) => (typeof x === "string" ? { dimParam: x } : { dimValue: x })) } } },
      });
    const kvNames = Array.from({ length: L }, (_, i) => [`${i}.key`, `${i}.value`]).flat();
    const input = [
      info("input_ids", INT64, ["batch_size", "sequence_length"]),
      info("attention_mask", INT64, ["batch_size", "total_sequence_length"]),
      info("position_ids", INT64, ["batch_size", "sequence_length"]),
      ...kvNames.map((n) => info(`past_key_values.${n}`, FLOAT, ["batch_size", Hkv, "past_sequence_length", D])),
    ];
    const output = [
      info("logits", FLOAT, ["batch_size", "sequence_length", V]),
      ...kvNames.map((n) => info(`present.${n}`, FLOAT, ["batch_size", Hkv, "total_sequence_length", D])),
    ];
    const opsetImport = [{ domain: "", version: style === "optimum" ? 18 : 17 }];
    if (style === "fused") opsetImport.push({ domain: "com.microsoft", version: 1 });
    return P.ModelProto.create({
      irVersion: 8, producerName: "tether-sketch-test", opsetImport,
      graph: { name: `toy-${style}`, node: this.nodes, initializer: this.inits, input, output },
    });
  }
}

/** Serialise a model for onnxruntime. */
export function encodeModel(model: onnx.IModelProto): Uint8Array {
  return P.ModelProto.encode(model).finish();
}

/** Right-padded feeds for the toy decoder (empty KV cache) and the 0/1 mask, [B, T] each. */
export function toyFeeds(batch: number[][]): { feeds: Record<string, ort.Tensor>; mask: Uint8Array; T: number } {
  const B = batch.length;
  const T = Math.max(...batch.map((s) => s.length));
  const ids = new BigInt64Array(B * T);
  const attention = new BigInt64Array(B * T);
  const positions = new BigInt64Array(B * T);
  const mask = new Uint8Array(B * T);
  batch.forEach((seq, b) =>
    seq.forEach((id, t) => {
      [ids[b * T + t], attention[b * T + t], positions[b * T + t], mask[b * T + t]] = [BigInt(id), 1n, BigInt(t), 1];
    }),
  );
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor("int64", ids, [B, T]),
    attention_mask: new ort.Tensor("int64", attention, [B, T]),
    position_ids: new ort.Tensor("int64", positions, [B, T]),
  };
  for (let i = 0; i < TOY.numLayers; i++) {
    for (const kind of ["key", "value"]) {
      feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor("float32", new Float32Array(0), [B, TOY.numKvHeads, 0, TOY.headDim]);
    }
  }
  return { feeds, mask, T };
}
