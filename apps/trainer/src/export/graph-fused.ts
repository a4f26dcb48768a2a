// The `fused` decoder graph: ONNX Runtime's com.microsoft kernels (SkipSimplifiedLayerNormalization,
// GroupQueryAttention with packed QKV and do_rotary=1), with exactly the standard variant's I/O contract
// (decoder-io.ts). Only ONNX Runtime can run it.
//
//   x_0 = Gather(E, input_ids)                                               → hidden_states.0
//   h = RMSNorm(x_0)                                                        (ORT fuses it at load)
//   per block l:  qkv = h·[W_q; W_k; W_v]ᵀ + [b_q; b_k; b_v]                  one MatMul, [B, S, (H + 2·H_kv)·D]
//                 a, present = GroupQueryAttention(qkv, past, seqlens_k, total_sequence_length, cos, sin)
//                 h2, x = SkipSimplifiedLayerNormalization(x, a·W_oᵀ)        x ← x + attention; h2 = RMSNorm(x)
//                 h, x  = SkipSimplifiedLayerNormalization(x, MLP(h2))       next block's (or the final) norm;
//                                                                            x (output 3)     → hidden_states.{l+1}
//   logits = h·Eᵀ
//
// seqlens_k = Σ attention_mask − 1 (int32, per row) and total_sequence_length = attention_mask's width
// (int32 scalar) are computed in the graph from the contract's inputs.
//
// LIMITATIONS (ONNX Runtime 1.30's CPU GroupQueryAttention):
// - No left padding. GQA treats row b's keys as positions 0 … seqlens_k[b], masks only what lies beyond,
//   and derives RoPE positions from that count (position_ids is accepted, for the contract, but unused). A
//   batch must be unpadded or right-padded (the ignored tail). The gateway meets this: it decodes the
//   candidates of one request (one shared prompt) and scores right-padded sequences. Left-padded batches need
//   the standard variant; decoder.test.ts checks the right-padded case and that left padding does differ.
// - A chunk of several new tokens on top of a non-empty past needs batch 1 (prompt, then one token per step,
//   is always fine).
// - head_dim must be a multiple of 16 (do_rotary); fusedUnsupported() says why a config cannot use it.
import { ParameterError } from "@tether/shared/errors";
import type { ModelConfig } from "../model/config";
import { declareIo, embedTokens, HIDDEN, linearWeight, lmHead, mlp, PRESENT, rmsNorm, ropeTables, weight, type DecoderInputs, type DecoderWeights } from "./decoder-io";
import { DataType, float, GraphBuilder, type onnx } from "./onnx-builder";

export const FUSED_OPSETS: onnx.IOperatorSetIdProto[] = [
  { domain: "", version: 17 },
  { domain: "com.microsoft", version: 1 },
];
const MS = "com.microsoft";

/**
 * The fused-kernel decoder as an ONNX model.
 * @example const model = buildFusedDecoder(cfg, weightsFromParams(params));
 */
export function buildFusedDecoder(c: ModelConfig, w: DecoderWeights): onnx.ModelProto {
  const reason = fusedUnsupported(c);
  if (reason) throw new ParameterError("onnxVariant", `"fused" is not available for this model: ${reason}`, "fused");
  const g = new GraphBuilder("tether-qwen2-decoder-fused");
  const io = declareIo(g, c);
  let x = embedTokens(g, c, w, io);
  const lengths = sequenceLengths(g, io);
  const { cos, sin, width } = ropeTables(c, false);
  const cosCache = g.initializer("model.rotary_emb.cos_cache", cos, [c.maxPositions, width]);
  const sinCache = g.initializer("model.rotary_emb.sin_cache", sin, [c.maxPositions, width]);
  // Block 0's norm has no residual add to fuse with: the standard pattern, which ORT fuses at load into
  // SimplifiedLayerNormalization (an op ORT registers in the ai.onnx domain, where onnx.checker knows no schema).
  let h = rmsNorm(g, c, w, x, "model.layers.0.input_layernorm", "/model/layers.0/input_layernorm");
  for (let l = 0; l < c.numLayers; l++) {
    const attn = attention(g, c, w, l, h, io, lengths, [cosCache, sinCache]);
    const [h2, , , mid] = skipNorm(g, c, w, x, attn, `model.layers.${l}.post_attention_layernorm`, `/model/layers.${l}/post_attention_layernorm`);
    const next = l + 1 < c.numLayers ? [`model.layers.${l + 1}.input_layernorm`, `/model/layers.${l + 1}/input_layernorm`] : ["model.norm", "/model/norm"];
    [h, , , x] = skipNorm(g, c, w, mid!, mlp(g, c, w, l, h2!), next[0]!, next[1]!, HIDDEN(l + 1));
  }
  lmHead(g, c, w, h);
  return g.model(FUSED_OPSETS, "Qwen2 decoder with KV cache (tether-train export, com.microsoft fused ops; no left padding)");
}

/** Why the fused variant cannot run this config, or null when it can. */
export function fusedUnsupported(c: ModelConfig): string | null {
  return c.headDim % 16 === 0 ? null : `GroupQueryAttention with rotary needs head_dim a multiple of 16 (head_dim ${c.headDim})`;
}

function gain(g: GraphBuilder, c: ModelConfig, w: DecoderWeights, hf: string): string {
  return g.initializer(`${hf}.weight`, weight(w, `${hf}.weight`, c.hiddenSize), [c.hiddenSize]);
}

/** Outputs: [RMSNorm(x + skip), mean (absent), inv_std_var (absent), x + skip]. */
function skipNorm(g: GraphBuilder, c: ModelConfig, w: DecoderWeights, x: string, skip: string, hf: string, p: string, sum?: string): string[] {
  return g.node("SkipSimplifiedLayerNormalization", [x, skip, gain(g, c, w, hf)], {
    name: `${p}/SkipLayerNorm`,
    outputs: [`${p}/SkipLayerNorm_output_0`, "", "", sum ?? `${p}/SkipLayerNorm_output_3`],
    attrs: { epsilon: float(c.rmsNormEps) },
    domain: MS,
  });
}

/** [seqlens_k int32 [B], total_sequence_length int32 scalar] from attention_mask. */
function sequenceLengths(g: GraphBuilder, io: DecoderInputs): [string, string] {
  const p = "/model/attn_mask";
  const count = g.op("ReduceSum", [io.attentionMask, g.int64([1])], `${p}/ReduceSum`, { keepdims: 0 }); // [B, T] -> [B]
  const last = g.op("Sub", [count, g.int64([1], [])], `${p}/Sub`);
  const seqlensK = g.op("Cast", [last], `${p}/Cast`, { to: DataType.INT32 });
  const width = g.op("Gather", [g.op("Shape", [io.attentionMask], `${p}/Shape`), g.int64([1], [])], `${p}/Gather`, { axis: 0 });
  return [seqlensK, g.op("Cast", [width], `${p}/Cast_1`, { to: DataType.INT32 })];
}

function attention(
  g: GraphBuilder, c: ModelConfig, w: DecoderWeights, l: number, h: string, io: DecoderInputs,
  [seqlensK, total]: [string, string], [cos, sin]: [string, string],
): string {
  const p = `/model/layers.${l}/self_attn`;
  const hf = `model.layers.${l}.self_attn`;
  const { hiddenSize: d, numHeads: H, numKvHeads: Hkv, headDim: D } = c;
  // Packed [d, (H + 2·H_kv)·D] = [W_qᵀ | W_kᵀ | W_vᵀ] row by row, and the biases end to end.
  const parts = [[`q_proj`, H * D], [`k_proj`, Hkv * D], [`v_proj`, Hkv * D]] as const;
  const width = (H + 2 * Hkv) * D;
  const packed = new Float32Array(d * width);
  const bias = new Float32Array(width);
  let col = 0;
  for (const [proj, out] of parts) {
    const wt = weight(w, `${hf}.${proj}.weight`, out * d); // [out, d]
    for (let o = 0; o < out; o++) for (let i = 0; i < d; i++) packed[i * width + col + o] = wt[o * d + i]!;
    bias.set(weight(w, `${hf}.${proj}.bias`, out), col);
    col += out;
  }
  const qkvW = g.initializer(`${hf}.qkv_proj.weight.T`, packed, [d, width]);
  const qkvB = g.initializer(`${hf}.qkv_proj.bias`, bias, [width]);
  const qkv = g.op("Add", [g.op("MatMul", [h, qkvW], `${p}/qkv_proj/MatMul`), qkvB], `${p}/qkv_proj/Add`); // [B, S, d] -> [B, S, (H + 2·H_kv)·D]
  const [pastK, pastV] = io.past[l]!;
  const [out] = g.node("GroupQueryAttention", [qkv, "", "", pastK, pastV, seqlensK, total, cos, sin], {
    name: `${p}/GroupQueryAttention`,
    outputs: [`${p}/GroupQueryAttention_output_0`, PRESENT(l, "key"), PRESENT(l, "value")],
    attrs: { num_heads: H, kv_num_heads: Hkv, do_rotary: 1, rotary_interleaved: 0 },
    domain: MS,
  }); // [B, S, H·D]
  return g.op("MatMul", [out!, linearWeight(g, w, `${hf}.o_proj.weight`, d, H * D)], `${p}/o_proj/MatMul`);
}
