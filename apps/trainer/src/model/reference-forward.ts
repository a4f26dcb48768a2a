// Float64 reference implementation of the Qwen2 forward pass in plain loops, written from the Hugging Face
// modeling_qwen2 definitions — the independent computation the tfjs model (and later ONNX) is checked against.
import type { ModelConfig } from "./config";

/** Plain arrays of parameters keyed by Hugging Face name, row-major. */
export type ParamValues = Map<string, Float64Array | Float32Array>;

/**
 * Logits [T, V] for one sequence; `mask` marks real tokens (left padding = 0s first).
 * @example referenceLogits(values, cfg, [1, 4, 2])
 */
export function referenceLogits(w: ParamValues, c: ModelConfig, ids: number[], mask = ids.map(() => 1)): Float64Array[] {
  const { hiddenSize: d, headDim: D, numHeads: H, numKvHeads: Hkv } = c;
  const get = (n: string) => w.get(n)!;
  const T = ids.length;
  let pos = 0;
  const positions = mask.map((m) => (m ? pos++ : 0));
  let x: Float64Array[] = ids.map((id) => Float64Array.from(get("model.embed_tokens.weight").subarray(id * d, (id + 1) * d)));
  for (let l = 0; l < c.numLayers; l++) {
    const pre = `model.layers.${l}.`;
    const h = x.map((row) => rmsNorm(row, get(`${pre}input_layernorm.weight`), c.rmsNormEps));
    const proj = (name: string) => h.map((row) => affine(row, get(`${pre}self_attn.${name}.weight`), get(`${pre}self_attn.${name}.bias`)));
    const q = proj("q_proj").map((row, t) => ropeHeads(row, H, D, positions[t]!, c.ropeTheta));
    const k = proj("k_proj").map((row, t) => ropeHeads(row, Hkv, D, positions[t]!, c.ropeTheta));
    const v = proj("v_proj");
    const out = ids.map(() => new Float64Array(H * D));
    for (let head = 0; head < H; head++) {
      const kvHead = Math.floor(head / (H / Hkv));
      for (let i = 0; i < T; i++) {
        const scores: number[] = [];
        for (let j = 0; j < T; j++) {
          let s = 0;
          for (let e = 0; e < D; e++) s += q[i]![head * D + e]! * k[j]![kvHead * D + e]!;
          scores.push(j > i || !mask[j] ? -Infinity : s / Math.sqrt(D));
        }
        const probs = softmax(scores);
        for (let j = 0; j < T; j++) for (let e = 0; e < D; e++) out[i]![head * D + e]! += probs[j]! * v[j]![kvHead * D + e]!;
      }
    }
    x = x.map((row, t) => add(row, affine(out[t]!, get(`${pre}self_attn.o_proj.weight`))));
    x = x.map((row) => {
      const h2 = rmsNorm(row, get(`${pre}post_attention_layernorm.weight`), c.rmsNormEps);
      const gate = affine(h2, get(`${pre}mlp.gate_proj.weight`)).map((g) => g / (1 + Math.exp(-g)));
      const up = affine(h2, get(`${pre}mlp.up_proj.weight`));
      return add(row, affine(gate.map((g, i) => g * up[i]!), get(`${pre}mlp.down_proj.weight`)));
    });
  }
  const head = get(c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight");
  return x.map((row) => affine(rmsNorm(row, get("model.norm.weight"), c.rmsNormEps), head));
}

// y = W·x + b with W [out, in] row-major
function affine(x: ArrayLike<number>, w: ArrayLike<number>, b?: ArrayLike<number>): Float64Array {
  const out = new Float64Array(w.length / x.length);
  for (let o = 0; o < out.length; o++) {
    let s = b ? b[o]! : 0;
    for (let i = 0; i < x.length; i++) s += w[o * x.length + i]! * x[i]!;
    out[o] = s;
  }
  return out;
}

function rmsNorm(x: Float64Array, w: ArrayLike<number>, eps: number): Float64Array {
  const ms = x.reduce((a, v) => a + v * v, 0) / x.length;
  return x.map((v, i) => (v / Math.sqrt(ms + eps)) * w[i]!);
}

// Rotate each head's pairs (i, i + D/2) by angle pos·θ^(−2i/D).
function ropeHeads(x: Float64Array, heads: number, D: number, pos: number, theta: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < D / 2; i++) {
      const a = pos * Math.pow(theta, (-2 * i) / D);
      const x1 = x[h * D + i]!;
      const x2 = x[h * D + i + D / 2]!;
      out[h * D + i] = x1 * Math.cos(a) - x2 * Math.sin(a);
      out[h * D + i + D / 2] = x2 * Math.cos(a) + x1 * Math.sin(a);
    }
  }
  return out;
}

function softmax(s: number[]): number[] {
  const m = Math.max(...s);
  if (m === -Infinity) return s.map(() => 1 / s.length); // fully masked row: tfjs's finite −1e9 gives uniform
  const e = s.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => v + b[i]!);
}
