import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeHfFolder, type FixtureOptions, type FixtureTensor } from "../../../../test/support/hf-fixture";
import { importHfFolder } from "./import";

// Each case writes a small Hugging Face folder with one thing wrong and expects one line naming it.
describe("importHfFolder refuses what it cannot import faithfully", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-import-hf-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  const folder = (o: Partial<FixtureOptions> = {}) => writeHfFolder(join(root, `hf-${n++}`), { dtype: "BF16", ...o });
  const refusal = (dir: string): string => {
    try {
      importHfFolder(dir);
    } catch (e) {
      const message = (e as Error).message;
      expect(message.split("\n")).toHaveLength(1);
      return message;
    }
    throw new Error(`${dir} was imported`);
  };
  const drop = (name: string) => (ts: FixtureTensor[]) => ts.filter((t) => t.name !== name);

  it("other architectures, by model_type and by class", () => {
    const llama = folder({ config: { model_type: "llama", architectures: ["LlamaForCausalLM"] } });
    expect(refusal(llama.dir)).toBe(`${join(llama.dir, "config.json")}: model_type llama is not supported: import-hf supports qwen2 (Qwen2ForCausalLM)`);
    const classifier = folder({ config: { architectures: ["Qwen2ForSequenceClassification"] } });
    expect(refusal(classifier.dir)).toMatch(/config\.json: architectures Qwen2ForSequenceClassification is not supported: import-hf supports qwen2/);
  });

  it("settings the model code does not implement: rope_scaling, sliding window, sliding layer types", () => {
    const yarn = folder({ config: { rope_scaling: { type: "yarn", factor: 4, original_max_position_embeddings: 32768 } } });
    expect(refusal(yarn.dir)).toMatch(/config\.json: rope_scaling \{"type":"yarn","factor":4,.*\} is not supported: Tether's Qwen2 implements plain RoPE/);
    const sliding = folder({ config: { use_sliding_window: true, sliding_window: 16 } });
    expect(refusal(sliding.dir)).toMatch(/config\.json: use_sliding_window true \(sliding_window 16\) is not supported/);
    const layers = folder({ config: { layer_types: ["full_attention", "sliding_attention"] } });
    expect(refusal(layers.dir)).toMatch(/config\.json: layer_types "sliding_attention" is not supported/);
  });

  it("accepts the spellings of plain RoPE: rope_type default, and rope_theta inside rope_parameters", () => {
    const a = folder({ config: { rope_scaling: { rope_type: "default" } } });
    expect(importHfFolder(a.dir).config.ropeTheta).toBe(1e6);
    // transformers ≥ 5 writes no top-level rope_theta (undefined keys vanish from the JSON)
    const b = folder({ config: { rope_theta: undefined, rope_parameters: { rope_type: "default", rope_theta: 5e5 } } });
    expect(importHfFolder(b.dir).config.ropeTheta).toBe(5e5);
  });

  it("a model too large for one float32 checkpoint file is refused from config.json, before any shard is read", () => {
    // Qwen2.5-1.5B's shape (1,543,714,304 parameters = 5.75 GiB as float32); the fixture's small shards are never read
    const big = folder();
    const config = JSON.parse(readFileSync(join(big.dir, "config.json"), "utf8")) as Record<string, unknown>;
    const shape = { hidden_size: 1536, intermediate_size: 8960, num_hidden_layers: 28, num_attention_heads: 12, num_key_value_heads: 2, head_dim: 128, vocab_size: 151936, tie_word_embeddings: true };
    writeFileSync(join(big.dir, "config.json"), JSON.stringify({ ...config, ...shape }));
    expect(refusal(big.dir)).toMatch(/config\.json: 1\.54B parameters need 5\.8 GiB as float32; this build handles checkpoints up to 2 GiB/);
  });

  it("missing files: config.json, tokenizer files, weights (naming a format it does not read)", () => {
    const noConfig = folder();
    unlinkSync(join(noConfig.dir, "config.json"));
    expect(refusal(noConfig.dir)).toMatch(new RegExp(`^${noConfig.dir}: missing config\\.json \\(a Hugging Face Qwen2 folder has`));
    const noTokenizer = folder();
    unlinkSync(join(noTokenizer.dir, "tokenizer.json"));
    expect(refusal(noTokenizer.dir)).toMatch(/: missing tokenizer\.json/);
    const noWeights = folder();
    unlinkSync(join(noWeights.dir, "model.safetensors"));
    writeFileSync(join(noWeights.dir, "pytorch_model.bin"), "");
    expect(refusal(noWeights.dir)).toMatch(/: missing model\.safetensors or model\.safetensors\.index\.json \(found pytorch_model\.bin: import-hf reads safetensors only/);
  });

  it("a shard the index names but the folder lacks, and an index that disagrees with its shards", () => {
    const absent = folder({ shards: 3 });
    unlinkSync(join(absent.dir, "model-00002-of-00003.safetensors"));
    expect(refusal(absent.dir)).toBe(`model.safetensors.index.json names shard model-00002-of-00003.safetensors, not found in ${absent.dir}`);
    const lying = folder({ shards: 2 });
    const index = JSON.parse(readFileSync(join(lying.dir, "model.safetensors.index.json"), "utf8"));
    index.weight_map["model.norm.weight"] = "model-00001-of-00002.safetensors";
    writeFileSync(join(lying.dir, "model.safetensors.index.json"), JSON.stringify(index));
    expect(refusal(lying.dir)).toMatch(/model-00002-of-00002\.safetensors holds model\.norm\.weight, but model\.safetensors\.index\.json maps it to model-00001-of-00002\.safetensors/);
  });

  it("missing and mis-shaped tensors, with the expected and actual shapes", () => {
    const missing = folder({ edit: drop("model.layers.1.mlp.up_proj.weight") });
    expect(refusal(missing.dir)).toBe("missing tensor model.layers.1.mlp.up_proj.weight [64, 32]");
    const reshaped = folder({
      edit: (ts) => ts.map((t) => (t.name === "model.layers.0.self_attn.k_proj.weight" ? { ...t, shape: [8, 64] } : t)),
    });
    expect(refusal(reshaped.dir)).toBe("model.safetensors: model.layers.0.self_attn.k_proj.weight has shape [8, 64], config.json implies [16, 32]");
  });

  it("unexpected extra tensors are listed (a few, then a count)", () => {
    const extra = (name: string): FixtureTensor => ({ name, shape: [2], dtype: "BF16", values: new Float64Array(2) });
    // listed in file order (the writer sorts by name); the rotary buffer older transformers saved is skipped
    const names = ["lm_head.bias", "model.layers.2.input_layernorm.weight", "model.layers.2.mlp.up_proj.weight", "score.bias", "score.weight", "z"];
    const fx = folder({ edit: (ts) => [...ts, ...names.map(extra), extra("model.layers.0.self_attn.rotary_emb.inv_freq")] });
    expect(refusal(fx.dir)).toBe(`unexpected tensors (not in a Qwen2ForCausalLM with this config.json): ${names.slice(0, 5).join(", ")} (and 1 more)`);
    const one = folder({ edit: (ts) => [...ts, extra("score.weight")] });
    expect(refusal(one.dir)).toBe("unexpected tensor (not in a Qwen2ForCausalLM with this config.json): score.weight");
  });

  it("an unsupported storage dtype names the tensor and the dtypes it reads", () => {
    const fx = folder({ edit: (ts) => ts.map((t) => (t.name === "model.norm.weight" ? { ...t, dtype: "F64" as const } : t)) });
    expect(refusal(fx.dir)).toBe("model.safetensors: model.norm.weight has dtype F64; import-hf reads BF16, F16, F32");
  });

  it("tied embeddings: a stored head must equal the embedding; untied: the head is required", () => {
    const differs = folder({
      storeTiedHead: true,
      edit: (ts) => ts.map((t) => (t.name === "lm_head.weight" ? { ...t, values: t.values.map((v, i) => (i === 7 ? 4 : v)) } : t)),
    });
    expect(refusal(differs.dir)).toMatch(/^lm_head\.weight differs from model\.embed_tokens\.weight in 1 of 4096 values \(max \|Δ\| 3\.\d+\), but config\.json says tie_word_embeddings: true/);
    const untied = folder({ config: { tie_word_embeddings: false }, edit: drop("lm_head.weight") });
    expect(refusal(untied.dir)).toBe("missing tensor lm_head.weight [128, 32] (config.json has tie_word_embeddings false, so the LM head is stored separately)");
  });

  it("a tokenizer whose ids exceed vocab_size (a smaller tokenizer is fine: Qwen pads the embedding)", () => {
    const fx = folder({ config: { vocab_size: 90 } });
    expect(refusal(fx.dir)).toBe(`${join(fx.dir, "tokenizer.json")}: token ids go up to 99, but config.json vocab_size is 90 (embedding rows)`);
    expect(importHfFolder(folder().dir).config.vocabSize).toBe(128); // 100 tokenizer ids, 128 rows
  });
});
