// The `standard` decoder graph: opset 17 ai.onnx only, so any ONNX runtime can load it (onnxruntime-web,
// transformers.js). Correct for left padding (attention_mask zeros, position_ids from the caller) and for a
// past of any length, including 0 (empty past tensors). Same math as model/qwen2.ts:
//
//   x_0 = Gather(E, input_ids)                                           → hidden_states.0
//   per block l:  h = RMSNorm(x) = x / √(mean(x²) + ε) · w               (the Pow…Div…Mul pattern ORT fuses)
//                 q, k, v = h·W{q,k,v}ᵀ + b ; q, k ← q·cos + rotate_half(q)·sin, cos/sin = table[position_ids]
//                 K = [past_k ; k], V = [past_v ; v]                      → present.{l}.key|value
//                 a = softmax(q·Kᵀ/√D + bias)·V,  bias = −1e9 where key j > query's absolute index (causal)
//                                                       + −1e9 where attention_mask[j] = 0 (padding)
//                 x = x + a·W_oᵀ ;  x = x + MLP(RMSNorm(x))             → hidden_states.{l+1}
//   logits = RMSNorm(x)·Eᵀ (or lm_head.weightᵀ)
//
// GQA repeats each kv head for its H/H_kv query heads as a MatMul broadcast (query head h = g·rep + r reads
// kv head g, Hugging Face's repeat_kv order) instead of materialising the repeated K and V.
// The −1e9 bias is finite and added twice on padded-and-future keys exactly as qwen2.ts does, so even the
// (ignored) logits at padded positions match the trainer's forward pass.
import type { ModelConfig } from "../model/config";
import { declareIo, embedTokens, HIDDEN, linearWeight, lmHead, mlp, PRESENT, rmsNorm, ropeTables, weight, type DecoderInputs, type DecoderWeights } from "./decoder-io";
import { DataType, GraphBuilder, type onnx } from "./onnx-builder";

export const STANDARD_OPSETS: onnx.IOperatorSetIdProto[] = [{ domain: "", version: 17 }];
const NEG = -1e9;

/**
 * The standard-op decoder as an ONNX model.
 * @example const model = buildStandardDecoder(cfg, weightsFromParams(params)); // then encodeModel(model)
 */
export function buildStandardDecoder(c: ModelConfig, w: DecoderWeights): onnx.ModelProto {
  const g = new GraphBuilder("tether-qwen2-decoder-standard");
  const io = declareIo(g, c);
  let x = embedTokens(g, c, w, io);
  const bias = attentionBias(g, io);
  const rope = ropeInputs(g, c, io);
  for (let l = 0; l < c.numLayers; l++) {
    const h = rmsNorm(g, c, w, x, `model.layers.${l}.input_layernorm`, `/model/layers.${l}/input_layernorm`);
    const attn = selfAttention(g, c, w, l, h, io.past[l]!, bias, rope);
    x = g.op("Add", [x, attn], `/model/layers.${l}/Add`);
    const h2 = rmsNorm(g, c, w, x, `model.layers.${l}.post_attention_layernorm`, `/model/layers.${l}/post_attention_layernorm`);
    x = g.op("Add", [x, mlp(g, c, w, l, h2)], `/model/layers.${l}/Add_1`, undefined, HIDDEN(l + 1));
  }
  lmHead(g, c, w, rmsNorm(g, c, w, x, "model.norm", "/model/norm"));
  return g.model(STANDARD_OPSETS, "Qwen2 decoder with KV cache (tether-train export, standard ops)");
}

/** The scalar `index`-th dimension of a value's shape (int64). */
function dim(g: GraphBuilder, value: string, index: number, name: string): string {
  return g.op("Gather", [g.op("Shape", [value], `${name}/Shape`), g.int64([index], [])], `${name}/Gather`, { axis: 0 });
}

/**
 * Additive attention bias [B, 1, 1, S, T] (broadcast over kv heads and their query groups):
 * −1e9 where key j > P + i (query i sits at absolute index P + i behind a past of P) plus −1e9 where
 * attention_mask[b, j] = 0.
 */
function attentionBias(g: GraphBuilder, io: DecoderInputs): string {
  const p = "/model/attn_mask";
  const S = dim(g, io.inputIds, 1, `${p}/sequence_length`);
  const P = dim(g, io.past[0]![0], 2, `${p}/past_sequence_length`);
  const T = dim(g, io.attentionMask, 1, `${p}/total_sequence_length`);
  const one = g.int64([1], []);
  const queryAt = g.op("Range", [P, g.op("Add", [P, S], `${p}/Add`), one], `${p}/Range`); // [S]
  const keyAt = g.op("Range", [g.int64([0], []), T, one], `${p}/Range_1`); // [T]
  const future = g.op("Greater", [keyAt, g.op("Unsqueeze", [queryAt, g.int64([1])], `${p}/Unsqueeze`)], `${p}/Greater`); // [S, T]
  const causal = g.op("Where", [future, g.float32([NEG], []), g.float32([0], [])], `${p}/Where`); // [S, T]
  const keep = g.op("Cast", [io.attentionMask], `${p}/Cast`, { to: DataType.FLOAT }); // [B, T]
  const padding = g.op("Mul", [g.op("Sub", [g.float32([1], []), keep], `${p}/Sub`), g.float32([NEG], [])], `${p}/Mul`);
  const padding4 = g.op("Unsqueeze", [padding, g.int64([1, 2, 3])], `${p}/Unsqueeze_1`); // [B, T] -> [B, 1, 1, 1, T]
  return g.op("Add", [causal, padding4], `${p}/Add_1`); // [S, T] + [B, 1, 1, 1, T] -> [B, 1, 1, S, T]
}

/** cos/sin rows for each (batch, position): [B, 1, S, D], shared by every layer. */
function ropeInputs(g: GraphBuilder, c: ModelConfig, io: DecoderInputs): [string, string] {
  const { cos, sin, width } = ropeTables(c, true);
  const pick = (table: Float32Array, name: string) => {
    const init = g.initializer(`model.rotary_emb.${name}_table`, table, [c.maxPositions, width]);
    const rows = g.op("Gather", [init, io.positionIds], `/model/rotary_emb/Gather_${name}`, { axis: 0 }); // [B, S, D]
    return g.op("Unsqueeze", [rows, g.int64([1])], `/model/rotary_emb/Unsqueeze_${name}`); // [B, S, D] -> [B, 1, S, D]
  };
  return [pick(cos, "cos"), pick(sin, "sin")];
}

/** x·cos + rotate_half(x)·sin with rotate_half([x₁, x₂]) = [−x₂, x₁]. */
function applyRope(g: GraphBuilder, c: ModelConfig, x: string, [cos, sin]: [string, string], p: string): string {
  const half = c.headDim / 2;
  const [x1, x2] = g.node("Split", [x, g.int64([half, half])], { name: `${p}/Split`, count: 2, attrs: { axis: -1 } });
  const rotated = g.op("Concat", [g.op("Neg", [x2!], `${p}/Neg`), x1!], `${p}/Concat`, { axis: -1 });
  return g.op("Add", [g.op("Mul", [x, cos], `${p}/Mul`), g.op("Mul", [rotated, sin], `${p}/Mul_1`)], `${p}/Add`);
}

/** Projection to n heads: h·Wᵀ + b, [B, S, d] → [B, n, S, D]. */
function heads(g: GraphBuilder, c: ModelConfig, w: DecoderWeights, l: number, h: string, proj: string, n: number): string {
  const p = `/model/layers.${l}/self_attn/${proj}`;
  const hf = `model.layers.${l}.self_attn.${proj}`;
  const out = n * c.headDim;
  const y = g.op("MatMul", [h, linearWeight(g, w, `${hf}.weight`, out, c.hiddenSize)], `${p}/MatMul`);
  const b = g.op("Add", [y, g.initializer(`${hf}.bias`, weight(w, `${hf}.bias`, out), [out])], `${p}/Add`);
  const split = g.op("Reshape", [b, g.int64([0, 0, n, c.headDim])], `${p}/Reshape`); // [B, S, n·D] -> [B, S, n, D]
  return g.op("Transpose", [split], `${p}/Transpose`, { perm: [0, 2, 1, 3] }); // [B, S, n, D] -> [B, n, S, D]
}

function selfAttention(
  g: GraphBuilder, c: ModelConfig, w: DecoderWeights, l: number, h: string,
  [pastK, pastV]: [string, string], bias: string, rope: [string, string],
): string {
  const p = `/model/layers.${l}/self_attn`;
  const { numHeads: H, numKvHeads: Hkv, headDim: D } = c;
  const rep = H / Hkv;
  const q = applyRope(g, c, heads(g, c, w, l, h, "q_proj", H), rope, `${p}/rotary_q`); // [B, H, S, D]
  const k = applyRope(g, c, heads(g, c, w, l, h, "k_proj", Hkv), rope, `${p}/rotary_k`); // [B, Hkv, S, D]
  const v = heads(g, c, w, l, h, "v_proj", Hkv);
  const keys = g.op("Concat", [pastK, k], `${p}/Concat_k`, { axis: 2 }, PRESENT(l, "key")); // [B, Hkv, T, D]
  const values = g.op("Concat", [pastV, v], `${p}/Concat_v`, { axis: 2 }, PRESENT(l, "value"));
  // repeat_kv as a broadcast: queries [B, Hkv, rep, S, D] against keys [B, Hkv, 1, D, T].
  const qGrouped = g.op("Reshape", [q, g.int64([0, Hkv, rep, -1, D])], `${p}/Reshape_q`); // [B, H, S, D] -> [B, Hkv, rep, S, D]
  const k5 = g.op("Unsqueeze", [keys, g.int64([2])], `${p}/Unsqueeze_k`); // [B, Hkv, T, D] -> [B, Hkv, 1, T, D]
  const kT = g.op("Transpose", [k5], `${p}/Transpose_k`, { perm: [0, 1, 2, 4, 3] }); // -> [B, Hkv, 1, D, T]
  const raw = g.op("MatMul", [qGrouped, kT], `${p}/MatMul`); // [B, Hkv, rep, S, T]
  const scores = g.op("Add", [g.op("Mul", [raw, g.float32([1 / Math.sqrt(D)], [])], `${p}/Mul`), bias], `${p}/Add`);
  const probs = g.op("Softmax", [scores], `${p}/Softmax`, { axis: -1 });
  const v5 = g.op("Unsqueeze", [values, g.int64([2])], `${p}/Unsqueeze_v`); // [B, Hkv, T, D] -> [B, Hkv, 1, T, D]
  const ctx = g.op("MatMul", [probs, v5], `${p}/MatMul_1`); // [B, Hkv, rep, S, D]
  const merged = g.op("Reshape", [ctx, g.int64([0, H, -1, D])], `${p}/Reshape_ctx`); // -> [B, H, S, D]
  const bshd = g.op("Transpose", [merged], `${p}/Transpose`, { perm: [0, 2, 1, 3] }); // [B, H, S, D] -> [B, S, H, D]
  const flat = g.op("Reshape", [bshd, g.int64([0, 0, H * D])], `${p}/Reshape`); // [B, S, H, D] -> [B, S, H·D]
  const oWeight = linearWeight(g, w, `model.layers.${l}.self_attn.o_proj.weight`, c.hiddenSize, H * D);
  return g.op("MatMul", [flat, oWeight], `${p}/o_proj/MatMul`);
}
