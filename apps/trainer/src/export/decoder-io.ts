// What both decoder graph variants share: the I/O contract (Optimum names), weights as plain arrays, the
// token embedding, the RoPE tables, the LM head and the per-layer residual values `hidden_states.{l}`.
//
// Contract (the gateway engine and the sketch tool rely on it; SPEC "Checkpoint directory"):
//   inputs  input_ids int64 [batch_size, sequence_length]
//           attention_mask int64 [batch_size, total_sequence_length]     (total = past + sequence)
//           position_ids int64 [batch_size, sequence_length]
//           past_key_values.{i}.key|value float32 [batch_size, num_key_value_heads, past_sequence_length, head_dim]
//   outputs logits float32 [batch_size, sequence_length, vocab_size]
//           present.{i}.key|value float32 [batch_size, num_key_value_heads, total_sequence_length, head_dim]
//   values  hidden_states.{l} [batch_size, sequence_length, hidden_size], l = 0 … L: the residual stream
//           after l blocks (0 = embedding output, L = before the final norm)
import type { ModelConfig } from "../model/config";
import { DataType, GraphBuilder } from "./onnx-builder";

/** Weights by Hugging Face Qwen2 name, Linear weights [out, in] as in model.safetensors. */
export type DecoderWeights = Map<string, Float32Array>;

/** Names of the graph inputs, as wired into nodes. */
export interface DecoderInputs {
  inputIds: string;
  attentionMask: string;
  positionIds: string;
  /** [key, value] input names per layer. */
  past: [string, string][];
}

export const HIDDEN = (l: number) => `hidden_states.${l}`;
export const PRESENT = (i: number, kind: "key" | "value") => `present.${i}.${kind}`;
export const PAST = (i: number, kind: "key" | "value") => `past_key_values.${i}.${kind}`;

/** Declare the contract's inputs and outputs (outputs are produced by the variant's nodes). */
export function declareIo(g: GraphBuilder, c: ModelConfig): DecoderInputs {
  const kvDims = ["batch_size", c.numKvHeads, "past_sequence_length", c.headDim];
  const io: DecoderInputs = {
    inputIds: g.input("input_ids", DataType.INT64, ["batch_size", "sequence_length"]),
    attentionMask: g.input("attention_mask", DataType.INT64, ["batch_size", "total_sequence_length"]),
    positionIds: g.input("position_ids", DataType.INT64, ["batch_size", "sequence_length"]),
    past: [],
  };
  for (let i = 0; i < c.numLayers; i++) {
    io.past.push([g.input(PAST(i, "key"), DataType.FLOAT, kvDims), g.input(PAST(i, "value"), DataType.FLOAT, kvDims)]);
  }
  g.output("logits", DataType.FLOAT, ["batch_size", "sequence_length", c.vocabSize]);
  const presentDims = ["batch_size", c.numKvHeads, "total_sequence_length", c.headDim];
  for (let i = 0; i < c.numLayers; i++) {
    g.output(PRESENT(i, "key"), DataType.FLOAT, presentDims);
    g.output(PRESENT(i, "value"), DataType.FLOAT, presentDims);
  }
  return io;
}

/** A weight by Hugging Face name; throws naming it when missing or of the wrong size. */
export function weight(w: DecoderWeights, name: string, size: number): Float32Array {
  const data = w.get(name);
  if (!data) throw new Error(`export: weight ${name} is missing`);
  if (data.length !== size) throw new Error(`export: weight ${name} has ${data.length} values, the config implies ${size}`);
  return data;
}

/** [out, in] → [in, out] so the graph computes x·Wᵀ as a plain MatMul (Optimum stores Linear weights so). */
export function transposed(data: Float32Array, out: number, inp: number): Float32Array {
  const t = new Float32Array(data.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) t[i * out + o] = data[o * inp + i]!;
  return t;
}

/** Initializer `<name>.T` [in, out] holding the transpose of the Linear weight `<name>` [out, in]. */
export function linearWeight(g: GraphBuilder, w: DecoderWeights, name: string, out: number, inp: number): string {
  return g.initializer(`${name}.T`, transposed(weight(w, name, out * inp), out, inp), [inp, out]);
}

/** hidden_states.0 = E[input_ids]: [B, S] → [B, S, d]. */
export function embedTokens(g: GraphBuilder, c: ModelConfig, w: DecoderWeights, io: DecoderInputs): string {
  const table = g.initializer("model.embed_tokens.weight", weight(w, "model.embed_tokens.weight", c.vocabSize * c.hiddenSize), [c.vocabSize, c.hiddenSize]);
  return g.op("Gather", [table, io.inputIds], "/model/embed_tokens/Gather", { axis: 0 }, HIDDEN(0));
}

/**
 * logits = h·W_headᵀ with W_head = E when tied: the Transpose reads the single embedding initializer
 * (ORT folds it once at load), so a tied head is never stored twice. [B, S, d] → [B, S, V].
 */
export function lmHead(g: GraphBuilder, c: ModelConfig, w: DecoderWeights, normed: string): string {
  const name = c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  const head = c.tieWordEmbeddings ? name : g.initializer(name, weight(w, name, c.vocabSize * c.hiddenSize), [c.vocabSize, c.hiddenSize]);
  const headT = g.op("Transpose", [head], "/lm_head/Transpose", { perm: [1, 0] });
  return g.op("MatMul", [normed, headT], "/lm_head/MatMul", undefined, "logits");
}

/**
 * RoPE tables as Qwen2RotaryEmbedding: angle(pos, i) = pos·θ^(−2i/D), i < D/2. `full` repeats the
 * frequencies ([f, f], width D, for rotate_half); otherwise width D/2 (GroupQueryAttention's cos_cache).
 */
export function ropeTables(c: ModelConfig, full: boolean): { cos: Float32Array; sin: Float32Array; width: number } {
  const half = c.headDim / 2;
  const width = full ? c.headDim : half;
  const cos = new Float32Array(c.maxPositions * width);
  const sin = new Float32Array(c.maxPositions * width);
  for (let pos = 0; pos < c.maxPositions; pos++) {
    for (let i = 0; i < half; i++) {
      const angle = pos * Math.pow(c.ropeTheta, (-2 * i) / c.headDim);
      for (const j of full ? [i, i + half] : [i]) {
        cos[pos * width + j] = Math.cos(angle);
        sin[pos * width + j] = Math.sin(angle);
      }
    }
  }
  return { cos, sin, width };
}

/**
 * RMSNorm(x)·w over the last axis, x / √(mean(x²) + ε) · w, as the Pow → ReduceMean → Add → Sqrt → Div → Mul
 * pattern ONNX Runtime fuses into one SimplifiedLayerNormalization at load time (`hf` = "model.norm").
 */
export function rmsNorm(g: GraphBuilder, c: ModelConfig, w: DecoderWeights, x: string, hf: string, p: string): string {
  const gain = g.initializer(`${hf}.weight`, weight(w, `${hf}.weight`, c.hiddenSize), [c.hiddenSize]);
  const sq = g.op("Pow", [x, g.float32([2], [])], `${p}/Pow`);
  const ms = g.op("ReduceMean", [sq], `${p}/ReduceMean`, { axes: [-1], keepdims: 1 }); // [B, S, d] -> [B, S, 1]
  const rms = g.op("Sqrt", [g.op("Add", [ms, g.float32([c.rmsNormEps], [])], `${p}/Add`)], `${p}/Sqrt`);
  return g.op("Mul", [g.op("Div", [x, rms], `${p}/Div`), gain], `${p}/Mul`);
}

/**
 * SwiGLU MLP: W_down·(SiLU(W_gate·h) ⊙ W_up·h), SiLU(x) = x·σ(x). [B, S, d] → [B, S, d].
 */
export function mlp(g: GraphBuilder, c: ModelConfig, w: DecoderWeights, l: number, h: string): string {
  const p = `/model/layers.${l}/mlp`;
  const hf = `model.layers.${l}.mlp`;
  const { hiddenSize: d, intermediateSize: I } = c;
  const gate = g.op("MatMul", [h, linearWeight(g, w, `${hf}.gate_proj.weight`, I, d)], `${p}/gate_proj/MatMul`); // [B, S, I]
  const silu = g.op("Mul", [gate, g.op("Sigmoid", [gate], `${p}/act_fn/Sigmoid`)], `${p}/act_fn/Mul`);
  const up = g.op("MatMul", [h, linearWeight(g, w, `${hf}.up_proj.weight`, I, d)], `${p}/up_proj/MatMul`);
  const prod = g.op("Mul", [silu, up], `${p}/Mul`);
  return g.op("MatMul", [prod, linearWeight(g, w, `${hf}.down_proj.weight`, d, I)], `${p}/down_proj/MatMul`); // [B, S, I] -> [B, S, d]
}
