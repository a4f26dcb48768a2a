import { describe, expect, it } from "vitest";
import { hfQwen2Config, qwen2HeadDim } from "./hf-config";
import { QWEN25_05B_CONFIG } from "../../../../test/support/schema-documents";

const problems = (value: unknown) => hfQwen2Config.safeParse(value).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];

describe("hfQwen2Config", () => {
  it("parses Qwen2.5-0.5B's config.json and keeps unknown HF keys", () => {
    const cfg = hfQwen2Config.parse({ ...QWEN25_05B_CONFIG, some_future_key: { a: 1 } });
    expect(cfg.hidden_size).toBe(896);
    expect(cfg.tie_word_embeddings).toBe(true);
    expect(cfg.rope_theta).toBe(1e6);
    expect(qwen2HeadDim(cfg)).toBe(64);
    expect((cfg as Record<string, unknown>).some_future_key).toEqual({ a: 1 });
    expect((cfg as Record<string, unknown>).max_window_layers).toBe(24);
  });

  it("applies HF defaults for keys older configs omit", () => {
    const { tie_word_embeddings: _t, hidden_act: _h, ...rest } = QWEN25_05B_CONFIG;
    const cfg = hfQwen2Config.parse(rest);
    expect(cfg.tie_word_embeddings).toBe(false);
    expect(cfg.hidden_act).toBe("silu");
  });

  it("accepts a list of eos ids and the newer `dtype` key", () => {
    const cfg = hfQwen2Config.parse({ ...QWEN25_05B_CONFIG, eos_token_id: [151645, 151643], torch_dtype: undefined, dtype: "float16" });
    expect(cfg.eos_token_id).toEqual([151645, 151643]);
  });

  it("names the architectures it supports", () => {
    expect(problems({ ...QWEN25_05B_CONFIG, model_type: "llama" })).toEqual([
      'model_type: must be "qwen2" (only the Qwen2 architecture is supported; got "llama")',
    ]);
  });

  it("requires hidden_size divisible by heads and heads divisible by kv heads", () => {
    expect(problems({ ...QWEN25_05B_CONFIG, num_attention_heads: 15, num_key_value_heads: 5 })).toEqual([
      "hidden_size: must be divisible by num_attention_heads (896 % 15 = 11)",
    ]);
    expect(problems({ ...QWEN25_05B_CONFIG, num_key_value_heads: 3 })).toEqual([
      "num_attention_heads: must be divisible by num_key_value_heads (14 % 3 = 2)",
    ]);
  });

  it("uses an explicit head_dim instead of hidden_size / heads, and wants it even", () => {
    expect(problems({ ...QWEN25_05B_CONFIG, num_attention_heads: 16, num_key_value_heads: 8, head_dim: 128 })).toEqual([]);
    expect(problems({ ...QWEN25_05B_CONFIG, head_dim: 63 })).toEqual(["head_dim: gives an odd head_dim (63); RoPE needs an even one"]);
  });

  it("rejects non-positive sizes and epsilons, and sliding-window attention", () => {
    expect(problems({ ...QWEN25_05B_CONFIG, vocab_size: 0 })[0]).toMatch(/^vocab_size: must be an integer in \[1, /);
    expect(problems({ ...QWEN25_05B_CONFIG, rms_norm_eps: 0 })[0]).toBe("rms_norm_eps: must be a number in (0, 1] (got 0)");
    expect(problems({ ...QWEN25_05B_CONFIG, use_sliding_window: true })).toEqual([
      "use_sliding_window: must be false (sliding-window attention is not supported)",
    ]);
    expect(problems({ ...QWEN25_05B_CONFIG, hidden_size: undefined })).toContain("hidden_size: is required");
  });
});
