// Model configuration: the subset of a Hugging Face Qwen2 config.json the trainer needs, and presets.
import { ParameterError } from "@tether/shared/errors";

export interface ModelConfig {
  /** Tokens in the vocabulary (embedding rows). */
  vocabSize: number;
  /** Residual stream width d. */
  hiddenSize: number;
  /** SwiGLU inner width (gate/up projections). */
  intermediateSize: number;
  /** Decoder blocks. */
  numLayers: number;
  /** Query heads H; head_dim = hiddenSize / H unless headDim is set. */
  numHeads: number;
  /** Key/value heads (grouped-query attention: H must be a multiple of it). */
  numKvHeads: number;
  /** Per-head width D. */
  headDim: number;
  /** Longest sequence RoPE tables are built for. */
  maxPositions: number;
  /** RMSNorm ε. */
  rmsNormEps: number;
  /** RoPE base θ: inv_freq_i = θ^(−2i/D). */
  ropeTheta: number;
  /** LM head shares the embedding matrix (Qwen2.5-0.5B does). */
  tieWordEmbeddings: boolean;
  bosTokenId: number;
  eosTokenId: number;
}

type PresetShape = Omit<ModelConfig, "vocabSize" | "bosTokenId" | "eosTokenId">;

/** Shapes of the built-in presets; the vocabulary comes from the tokenizer. */
export const PRESETS: Record<"tiny" | "demo" | "small", PresetShape> = {
  // ~100k parameters: unit tests and CI.
  tiny: { hiddenSize: 64, intermediateSize: 192, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16, maxPositions: 128, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: true },
  // ~0.6M parameters (2.4 MB of float32): wider and one layer deeper than tiny, for the demo pair (models/demo),
  // whose one-digit multiplication generalises past the training products where tiny's memorised them (51%
  // held-out; docs/limits.md).
  demo: { hiddenSize: 128, intermediateSize: 384, numLayers: 3, numHeads: 8, numKvHeads: 4, headDim: 16, maxPositions: 128, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: true },
  // ~3M parameters: the β-sweep model.
  small: { hiddenSize: 256, intermediateSize: 704, numLayers: 4, numHeads: 8, numKvHeads: 2, headDim: 32, maxPositions: 128, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: true },
};

/**
 * Checks the invariants the forward pass relies on; throws naming the field.
 * @example validateModelConfig({ ...PRESETS.tiny, vocabSize: 40, bosTokenId: 1, eosTokenId: 2 })
 */
export function validateModelConfig(c: ModelConfig): ModelConfig {
  const positive = ["vocabSize", "hiddenSize", "intermediateSize", "numLayers", "numHeads", "numKvHeads", "headDim", "maxPositions"] as const;
  for (const key of positive) {
    if (!Number.isInteger(c[key]) || c[key] < 1) throw new ParameterError(key, "must be a positive integer", c[key]);
  }
  if (c.numHeads % c.numKvHeads !== 0) throw new ParameterError("numKvHeads", `must divide numHeads ${c.numHeads}`, c.numKvHeads);
  if (c.headDim % 2 !== 0) throw new ParameterError("headDim", "must be even (RoPE rotates pairs)", c.headDim);
  if (!(c.rmsNormEps > 0)) throw new ParameterError("rmsNormEps", "must be > 0", c.rmsNormEps);
  if (!(c.ropeTheta > 0)) throw new ParameterError("ropeTheta", "must be > 0", c.ropeTheta);
  for (const key of ["bosTokenId", "eosTokenId"] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 0 || c[key] >= c.vocabSize) throw new ParameterError(key, `must be a token id in [0, ${c.vocabSize - 1}]`, c[key]);
  }
  return c;
}

/** Hugging Face config.json (model_type "qwen2") for a model config. */
export function toHfConfig(c: ModelConfig): Record<string, unknown> {
  return {
    architectures: ["Qwen2ForCausalLM"],
    model_type: "qwen2",
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim,
    max_position_embeddings: c.maxPositions,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    tie_word_embeddings: c.tieWordEmbeddings,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
    hidden_act: "silu",
    attention_dropout: 0,
    use_sliding_window: false,
    sliding_window: null,
    max_window_layers: c.numLayers,
    initializer_range: 0.02,
    use_cache: true,
    torch_dtype: "float32",
    transformers_version: "4.45.0",
  };
}

/** Model config from a Hugging Face Qwen2 config.json; other architectures are refused by name. */
export function fromHfConfig(hf: Record<string, unknown>): ModelConfig {
  if (hf.model_type !== "qwen2") {
    throw new ParameterError("model_type", 'is not supported: only "qwen2" (Qwen2 / Qwen2.5 decoders) is', hf.model_type);
  }
  const num = (key: string, fallback?: number): number => {
    const v = hf[key] ?? fallback;
    if (typeof v !== "number") throw new ParameterError(key, "must be a number in config.json", v);
    return v;
  };
  const heads = num("num_attention_heads");
  const hidden = num("hidden_size");
  return validateModelConfig({
    vocabSize: num("vocab_size"),
    hiddenSize: hidden,
    intermediateSize: num("intermediate_size"),
    numLayers: num("num_hidden_layers"),
    numHeads: heads,
    numKvHeads: num("num_key_value_heads", heads),
    headDim: num("head_dim", hidden / heads),
    maxPositions: num("max_position_embeddings"),
    rmsNormEps: num("rms_norm_eps", 1e-6),
    ropeTheta: num("rope_theta", 10000),
    tieWordEmbeddings: hf.tie_word_embeddings === true,
    bosTokenId: num("bos_token_id", 0),
    eosTokenId: Array.isArray(hf.eos_token_id) ? (hf.eos_token_id[0] as number) : num("eos_token_id"),
  });
}
