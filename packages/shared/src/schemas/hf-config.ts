// Hugging Face Qwen2 config.json (what transformers' Qwen2Config reads), validated strictly on the
// fields Tether's model, exporter and engine depend on; every other HF key is kept as-is so an
// imported config.json round-trips unchanged.

import { z } from "zod";
import { bool, int, real, text } from "./common";

/** Upper bound on any width/count, far above real models; catches unit mix-ups (bytes for elements). */
const DIM_MAX = 1 << 20;

/** Arithmetic the architecture needs, shared by config.json and manifest.architecture. */
export interface Qwen2Dims {
  hidden_size: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim?: number | null | undefined;
}

/** Per-head width: config.head_dim when given (newer HF configs), else hidden_size / num_attention_heads. */
export function qwen2HeadDim(dims: Qwen2Dims): number {
  return dims.head_dim ?? dims.hidden_size / dims.num_attention_heads;
}

/** Adds one issue per broken shape constraint; used by every schema that carries Qwen2 dims. */
export function checkQwen2Dims(dims: Qwen2Dims, ctx: z.RefinementCtx): void {
  const { hidden_size: d, num_attention_heads: h, num_key_value_heads: kv } = dims;
  // Without an explicit head_dim, HF computes head_dim = hidden_size // heads; a remainder would drop columns.
  if (dims.head_dim == null && d % h !== 0) {
    ctx.addIssue({ code: "custom", path: ["hidden_size"], message: `must be divisible by num_attention_heads (${d} % ${h} = ${d % h})` });
  }
  // Grouped-query attention: each KV head serves heads / kv query heads.
  if (h % kv !== 0) {
    ctx.addIssue({ code: "custom", path: ["num_attention_heads"], message: `must be divisible by num_key_value_heads (${h} % ${kv} = ${h % kv})` });
  }
  // RoPE rotates pairs of channels.
  const hd = qwen2HeadDim(dims);
  if (Number.isInteger(hd) && hd % 2 !== 0) {
    ctx.addIssue({ code: "custom", path: [dims.head_dim == null ? "hidden_size" : "head_dim"], message: `gives an odd head_dim (${hd}); RoPE needs an even one` });
  }
}

const tokenId = int(0, 1 << 24);

/**
 * Hugging Face Qwen2 config.json.
 * @example hfQwen2Config.parse(JSON.parse(readFileSync("config.json", "utf8")))
 */
export const hfQwen2Config = z
  .looseObject({
    model_type: z.literal("qwen2", {
      error: (iss) => `must be "qwen2" (only the Qwen2 architecture is supported; got ${JSON.stringify(iss.input)})`,
    }),
    // e.g. ["Qwen2ForCausalLM"]; informative, transformers picks the class from model_type.
    architectures: z.array(z.string()).optional(),
    vocab_size: int(1, 1 << 24), // tokens; rows of embed_tokens (may exceed tokenizer size: padded to a multiple of 64/128)
    hidden_size: int(1, DIM_MAX), // d_model, width of the residual stream
    intermediate_size: int(1, DIM_MAX), // SwiGLU hidden width (gate_proj/up_proj rows)
    num_hidden_layers: int(1, 1024), // decoder blocks
    num_attention_heads: int(1, 4096), // query heads
    num_key_value_heads: int(1, 4096), // KV heads (GQA); = num_attention_heads for plain MHA
    head_dim: int(1, DIM_MAX).nullish(), // per-head width; newer HF configs state it, else hidden_size / heads
    max_position_embeddings: int(1, 1 << 24), // tokens; context window the RoPE tables are built for
    rms_norm_eps: real({ value: 0, exclusive: true }, 1), // ε inside RMSNorm's sqrt; 1e-6 for Qwen2.5
    rope_theta: real({ value: 0, exclusive: true }), // RoPE base θ; 1e6 for Qwen2.5, 1e4 for classic RoPE
    rope_scaling: z.looseObject({}).nullish(), // long-context scaling (yarn, dynamic…); null = none, kept verbatim
    tie_word_embeddings: bool().default(false), // lm_head shares embed_tokens' matrix (HF default false)
    hidden_act: z.literal("silu", { error: 'must be "silu" (Qwen2 uses SwiGLU)' }).default("silu"),
    attention_dropout: real(0, { value: 1, exclusive: true }).default(0), // training only; 0 at inference
    initializer_range: real(0).optional(), // std of the normal init; informative
    bos_token_id: tokenId.nullish(), // Qwen2.5 base: 151643; null when the tokenizer has none
    eos_token_id: z.union([tokenId, z.array(tokenId).min(1)]).nullish(), // one id or several stop ids
    pad_token_id: tokenId.nullish(),
    use_cache: bool().optional(), // KV cache at inference; informative
    use_sliding_window: bool().default(false), // Qwen2's sliding-window attention; Tether serves full attention
    sliding_window: int(1).nullish(), // tokens; only read when use_sliding_window
    max_window_layers: int(0).nullish(), // layers below this use sliding window (when enabled)
    // Storage dtype of the weights; transformers ≥ 4.56 writes "dtype", older ones "torch_dtype".
    torch_dtype: z.enum(["float32", "float16", "bfloat16"]).optional(),
    dtype: z.enum(["float32", "float16", "bfloat16"]).optional(),
    transformers_version: text().optional(), // version that wrote the file; informative
  })
  .superRefine((cfg, ctx) => {
    checkQwen2Dims(cfg, ctx);
    if (cfg.use_sliding_window) {
      ctx.addIssue({ code: "custom", path: ["use_sliding_window"], message: "must be false (sliding-window attention is not supported)" });
    }
  });
export type HfQwen2Config = z.infer<typeof hfQwen2Config>;
