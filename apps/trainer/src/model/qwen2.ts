// Qwen2 decoder forward pass in TensorFlow.js core ops (Hugging Face modeling_qwen2 semantics):
//
//   x_0 = E[ids]                                                     token embedding
//   for each block l:
//     h = RMSNorm(x) ;  q,k,v = h·W{q,k,v}ᵀ + b{q,k,v}                  (biases on q, k, v only)
//     q,k ← RoPE:  q·cos + rotate_half(q)·sin,  θ_i = base^(−2i/D)     (rotate_half(x) = [−x₂, x₁])
//     a = softmax(q·kᵀ/√D + causal + padding mask)·v                  (GQA: kv head = q head // (H/H_kv))
//     x = x + a·W_oᵀ
//     x = x + W_down·(SiLU(W_gate·RMSNorm(x)) ⊙ W_up·RMSNorm(x))
//   logits = RMSNorm(x)·W_headᵀ                                      (W_head = E when tied)
import * as tf from "@tensorflow/tfjs";
import type { ModelConfig } from "./config";
import { bmm, linear, mm, rmsNorm, swiglu } from "./ops";
import type { Params } from "./params";

const NEG_INF = -1e9; // finite, so a fully masked (padding) query row stays a uniform softmax, not NaN

export interface ForwardOptions {
  /** [B, T] 1 = real token, 0 = padding (left padding for generation). Default: all ones. */
  attentionMask?: tf.Tensor2D;
  /** [B, T] RoPE positions. Default: cumsum(mask) − 1 clipped at 0 (Hugging Face's convention). */
  positionIds?: tf.Tensor2D;
  /** Also return the residual stream entering each block and the final one (before the last norm). */
  collectHidden?: boolean;
}

export interface ForwardResult {
  /** [B, T, V] raw next-token logits. */
  logits: tf.Tensor3D;
  /** numLayers + 1 tensors [B, T, d] when collectHidden is set. */
  hidden: tf.Tensor3D[];
}

/**
 * Full-sequence forward pass. Call inside tf.tidy (or dispose the result).
 * @example const { logits } = forward(params, cfg, tf.tensor2d([[1, 5, 7]], undefined, "int32"));
 */
export function forward(params: Params, c: ModelConfig, inputIds: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
  const [B, T] = inputIds.shape;
  const { headDim: D, numHeads: H, numKvHeads: Hkv, hiddenSize: d } = c;
  const p = (name: string) => {
    const v = params.get(name);
    if (!v) throw new Error(`missing parameter ${name}`);
    return v;
  };
  const mask = (opts.attentionMask ?? tf.ones([B, T])).toFloat() as tf.Tensor2D;
  const positions = opts.positionIds ?? defaultPositions(mask);
  const [cos, sin] = ropeTables(c, positions); // [B, 1, T, D]
  const bias = attentionBias(mask, T); // [B, 1, T, T]
  const groupBias = H === Hkv ? bias : tf.concat(new Array<tf.Tensor4D>(H / Hkv).fill(bias), 2); // [B, 1, rep·T, T]
  const rotate = rotateHalfMatrix(D);

  // Embedding as one-hot · E keeps the gradient a plain 2-D product (wasm has no gather gradient).
  const oneHot = tf.oneHot(tf.reshape(inputIds, [B * T]), c.vocabSize).toFloat() as tf.Tensor2D; // [B·T, V]
  let x = mm(oneHot, p("model.embed_tokens.weight") as tf.Tensor2D); // [B·T, d]
  const hidden: tf.Tensor3D[] = [];

  for (let l = 0; l < c.numLayers; l++) {
    const pre = `model.layers.${l}.`;
    if (opts.collectHidden) hidden.push(tf.reshape(x, [B, T, d]));
    const h = rmsNorm(x, p(`${pre}input_layernorm.weight`), c.rmsNormEps);
    const heads = (name: string, n: number) => {
      const y = linear(h, p(`${pre}self_attn.${name}.weight`), p(`${pre}self_attn.${name}.bias`)); // [B·T, n·D]
      return tf.transpose(tf.reshape(y, [B, T, n, D]), [0, 2, 1, 3]) as tf.Tensor4D; // [B, T, n, D] -> [B, n, T, D]
    };
    const q = rope(heads("q_proj", H), cos, sin, rotate); // [B, H, T, D]
    const k = rope(heads("k_proj", Hkv), cos, sin, rotate); // [B, Hkv, T, D]
    const v = heads("v_proj", Hkv);
    // GQA without copying k/v: query head h = g·rep + r reads kv head g (Hugging Face repeat_kv order),
    // so group the rep query heads of each kv head along the time axis.
    const rep = H / Hkv;
    const qGrouped = tf.reshape(q, [B, Hkv, rep * T, D]); // [B, H, T, D] -> [B, Hkv, rep·T, D]
    const scores = tf.add(tf.mul(bmm(qGrouped, k, false, true), 1 / Math.sqrt(D)), groupBias); // [B, Hkv, rep·T, T]
    const attn = tf.reshape(bmm(tf.softmax(scores), v), [B, H, T, D]); // [B, Hkv, rep·T, D] -> [B, H, T, D]
    const merged = tf.reshape(tf.transpose(attn, [0, 2, 1, 3]), [B * T, H * D]) as tf.Tensor2D; // [B, H, T, D] -> [B·T, H·D]
    x = tf.add(x, linear(merged, p(`${pre}self_attn.o_proj.weight`)));

    const h2 = rmsNorm(x, p(`${pre}post_attention_layernorm.weight`), c.rmsNormEps);
    const gated = swiglu(linear(h2, p(`${pre}mlp.gate_proj.weight`)), linear(h2, p(`${pre}mlp.up_proj.weight`))); // [B·T, I]
    x = tf.add(x, linear(gated, p(`${pre}mlp.down_proj.weight`))); // [B·T, I] -> [B·T, d]
  }
  if (opts.collectHidden) hidden.push(tf.reshape(x, [B, T, d]));
  const normed = rmsNorm(x, p("model.norm.weight"), c.rmsNormEps);
  const head = c.tieWordEmbeddings ? p("model.embed_tokens.weight") : p("lm_head.weight");
  const logits = tf.reshape(linear(normed, head), [B, T, c.vocabSize]) as tf.Tensor3D; // [B·T, V] -> [B, T, V]
  return { logits, hidden };
}

/** Hugging Face position ids for a (possibly left-padded) mask: cumsum(mask) − 1, clipped at 0. */
function defaultPositions(mask: tf.Tensor2D): tf.Tensor2D {
  return tf.maximum(tf.sub(tf.cumsum(mask, 1), 1), 0).toInt() as tf.Tensor2D;
}

// cos/sin of θ_i·pos with the frequency vector repeated twice ([f, f], as Qwen2RotaryEmbedding).
// The [maxPositions, D] tables depend only on the config, so they are built once, not on every forward
// pass (at Qwen2.5-0.5B's 32k context that would be 2M cos/sin pairs per call).
const ropeCache = new Map<string, [Float32Array, Float32Array]>();

function ropeTableValues(c: ModelConfig): [Float32Array, Float32Array] {
  const key = `${c.maxPositions}/${c.headDim}/${c.ropeTheta}`;
  const cached = ropeCache.get(key);
  if (cached) return cached;
  const half = c.headDim / 2;
  const cos = new Float32Array(c.maxPositions * c.headDim);
  const sin = new Float32Array(c.maxPositions * c.headDim);
  for (let pos = 0; pos < c.maxPositions; pos++) {
    for (let i = 0; i < half; i++) {
      const angle = pos * Math.pow(c.ropeTheta, (-2 * i) / c.headDim);
      for (const j of [i, i + half]) {
        cos[pos * c.headDim + j] = Math.cos(angle);
        sin[pos * c.headDim + j] = Math.sin(angle);
      }
    }
  }
  ropeCache.set(key, [cos, sin]);
  return [cos, sin];
}

function ropeTables(c: ModelConfig, positions: tf.Tensor2D): [tf.Tensor4D, tf.Tensor4D] {
  const [cos, sin] = ropeTableValues(c);
  const [B, T] = positions.shape;
  const pick = (table: Float32Array) => {
    const rows = tf.gather(tf.tensor2d(table, [c.maxPositions, c.headDim]), tf.reshape(positions, [B * T])); // [B·T, D]
    return tf.reshape(rows, [B, 1, T, c.headDim]) as tf.Tensor4D;
  };
  return [pick(cos), pick(sin)];
}

// rotate_half(x) = x·R with R[j + D/2, j] = −1 and R[j, j + D/2] = 1 (j < D/2): a plain 2-D product.
function rotateHalfMatrix(D: number): tf.Tensor2D {
  const r = new Float32Array(D * D);
  for (let j = 0; j < D / 2; j++) {
    r[(j + D / 2) * D + j] = -1;
    r[j * D + j + D / 2] = 1;
  }
  return tf.tensor2d(r, [D, D]);
}

function rope(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D, rotate: tf.Tensor2D): tf.Tensor4D {
  const [B, n, T, D] = x.shape;
  const rotated = tf.reshape(mm(tf.reshape(x, [B * n * T, D]) as tf.Tensor2D, rotate), [B, n, T, D]);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
}

// Additive bias [B, 1, T, T]: −∞ above the diagonal (causal) and at padded keys.
function attentionBias(mask: tf.Tensor2D, T: number): tf.Tensor4D {
  const causal = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) causal[i * T + j] = NEG_INF;
  const keys = tf.mul(tf.sub(1, tf.reshape(mask, [mask.shape[0], 1, 1, T])), NEG_INF); // [B, 1, 1, T]
  return tf.add(tf.tensor2d(causal, [T, T]), keys) as tf.Tensor4D;
}
