// Realistic documents shared by the schema tests (not exported from the package).

/** Qwen/Qwen2.5-0.5B config.json as published on the Hugging Face hub. */
export const QWEN25_05B_CONFIG = {
  architectures: ["Qwen2ForCausalLM"],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151643,
  hidden_act: "silu",
  hidden_size: 896,
  initializer_range: 0.02,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 24,
  model_type: "qwen2",
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: "bfloat16",
  transformers_version: "4.40.1",
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

const hex = (c: string) => c.repeat(64);

/** A policy checkpoint of the `small` preset, as the trainer would write it. */
export function policyManifest(): Record<string, unknown> {
  return {
    schema_version: 1,
    id: "policy-sft-b0.1-77e0d2",
    kind: "policy",
    created_at: "2025-03-01T10:15:00.000Z",
    parent_id: "ref-small-s42-3f9a1c",
    reference_id: "ref-small-s42-3f9a1c",
    architecture: {
      model_type: "qwen2",
      vocab_size: 512,
      hidden_size: 256,
      intermediate_size: 688,
      num_hidden_layers: 4,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 64,
      max_position_embeddings: 256,
      tie_word_embeddings: true,
      parameter_count: 3_290_368,
    },
    tokenizer: { file: "tokenizer.json", sha256: hex("a"), vocab_size: 300, chat_template: true },
    training: {
      command: "sft",
      config: { command: "sft", beta: 0.1, kl: "reverse", steps: 400 },
      seed: 42,
      backend: "tensorflow",
      steps: 400,
      tokens: 1_638_400,
      duration_s: 212.5,
      metrics: { loss: 1.23, kl: 0.041, beta: 0.1 },
    },
    files: {
      "config.json": { sha256: hex("b"), bytes: 712 },
      "model.safetensors": { sha256: hex("c"), bytes: 13_161_472 },
      "tokenizer.json": { sha256: hex("a"), bytes: 20_480 },
      "onnx/model.onnx": { sha256: hex("d"), bytes: 13_500_000 },
      "eval.json": { sha256: hex("e"), bytes: 1_024 },
    },
  };
}

/** The eval.json of that policy. */
export function policyEval(): Record<string, unknown> {
  return {
    schema_version: 1,
    checkpoint_id: "policy-sft-b0.1-77e0d2",
    reference_id: "ref-small-s42-3f9a1c",
    created_at: "2025-03-01T10:20:00Z",
    backend: "onnxruntime-node",
    held_out: { source: "bundled:reverse-heldout", samples: 200, completion_tokens: 6_400, seed: 7, max_tokens: 32, temperature: 1 },
    kl: {
      mean_token_kl: 0.042,
      per_request_kl_mean: {
        count: 200,
        mean: 0.042,
        min: 0.004,
        max: 0.19,
        quantiles: [
          { q: 0.5, value: 0.035 },
          { q: 0.9, value: 0.07 },
          { q: 0.95, value: 0.09 },
          { q: 0.99, value: 0.15 },
        ],
      },
    },
    task: { name: "reverse-words", samples: 200, reward_mean: 0.61, accuracy: 0.61, reference_reward_mean: 0.02, reference_accuracy: 0.02 },
    base: { name: "arith", samples: 200, accuracy: 0.82, reference_accuracy: 0.88, retention: 0.82 / 0.88 },
  };
}
