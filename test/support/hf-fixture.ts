// Test fixture: a small random Qwen2ForCausalLM folder in the exact Hugging Face layout, written without
// the code under test: its own PRNG, its own tensor list, bf16 by round-to-nearest-even on the float32
// bits, fp16 by a hand-written binary16 encoder, and safetensors headers + little-endian bytes by hand.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildCharBpe, writeTokenizerFiles } from "../../apps/trainer/src/tokenizer/char-bpe";

export type FixtureDtype = "BF16" | "F16" | "F32" | "F64";

export interface FixtureTensor {
  name: string;
  shape: number[];
  dtype: FixtureDtype;
  /** The stored values exactly (already rounded to dtype), row-major. */
  values: Float64Array;
}

/** Qwen2.5-style config.json (no head_dim: 32 / 4 heads = 8), vocab padded past the 100-token tokenizer. */
export const FIXTURE_CONFIG = {
  architectures: ["Qwen2ForCausalLM"],
  attention_dropout: 0.0,
  bos_token_id: 0,
  eos_token_id: 0,
  hidden_act: "silu",
  hidden_size: 32,
  initializer_range: 0.02,
  intermediate_size: 64,
  max_position_embeddings: 64,
  max_window_layers: 2,
  model_type: "qwen2",
  num_attention_heads: 4,
  num_hidden_layers: 2,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_scaling: null,
  rope_theta: 1000000.0,
  sliding_window: 64,
  tie_word_embeddings: true,
  torch_dtype: "bfloat16",
  transformers_version: "4.45.2",
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 128,
} as const;

/** Qwen2-Instruct's ChatML template (default system turn), trimmed of tool calling. */
export const QWEN_CHAT_TEMPLATE =
  "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}" +
  "{%- else %}{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}" +
  "{%- for message in messages %}{%- if not (message.role == 'system' and loop.first) %}" +
  "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}{%- endif %}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

export interface FixtureOptions {
  dtype: FixtureDtype;
  /** Number of shards (1 = model.safetensors, else model-0000i-of-0000N + index). */
  shards?: number;
  seed?: number;
  /** Merged into config.json. */
  config?: Record<string, unknown>;
  /** Store lm_head.weight (= the embedding) although tie_word_embeddings is true, as some uploads do. */
  storeTiedHead?: boolean;
  /** Edit the tensor list before writing (drop, reshape, add, change a dtype). */
  edit?: (tensors: FixtureTensor[]) => FixtureTensor[];
}

export interface Fixture {
  dir: string;
  config: Record<string, unknown>;
  /** What was written, values exact. */
  tensors: FixtureTensor[];
  /** The safetensors (and index) files written. */
  weightFiles: string[];
}

// mulberry32: a 32-bit PRNG unrelated to the trainer's PCG32.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bf16 bits of x: float32 bits rounded to the upper 16, ties to even. */
export function bf16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16Value(bits: number): number {
  u32[0] = bits << 16;
  return f32[0]!;
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** IEEE binary16 bits of x (round to nearest even; no NaN needed here). */
export function f16Bits(x: number): number {
  const sign = x < 0 ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === 0) return sign;
  let e = Math.floor(Math.log2(a));
  while (2 ** e > a) e--;
  while (2 ** (e + 1) <= a) e++;
  if (e < -14) return sign | roundHalfEven(a / 2 ** -24); // subnormal (1024 rounds up into the first normal)
  let m = roundHalfEven(a / 2 ** (e - 10)); // 1024..2048
  if (m === 2048) {
    m = 1024;
    e++;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | (m - 1024);
}

export function f16Value(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  return e === 0 ? s * m * 2 ** -24 : s * 2 ** (e - 15) * (1 + m / 1024);
}

function roundTo(dtype: FixtureDtype, x: number): number {
  if (dtype === "BF16") return bf16Value(bf16Bits(x));
  if (dtype === "F16") return f16Value(f16Bits(x));
  if (dtype === "F32") return Math.fround(x);
  return x;
}

/** The Qwen2ForCausalLM state dict for a config, written out by hand (names as transformers saves them). */
function stateDict(cfg: Record<string, unknown>, dtype: FixtureDtype, rand: () => number, storeHead: boolean): FixtureTensor[] {
  const n = (key: string) => cfg[key] as number;
  const d = n("hidden_size");
  const D = (cfg.head_dim as number | undefined) ?? d / n("num_attention_heads");
  const q = n("num_attention_heads") * D;
  const kv = n("num_key_value_heads") * D;
  const I = n("intermediate_size");
  const V = n("vocab_size");
  const out: FixtureTensor[] = [];
  // values: centre + scale · U(−1, 1), rounded to the storage dtype
  const add = (name: string, shape: number[], scale: number, centre = 0) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = new Float64Array(size);
    for (let i = 0; i < size; i++) values[i] = roundTo(dtype, centre + scale * (2 * rand() - 1));
    out.push({ name, shape, dtype, values });
  };
  add("model.embed_tokens.weight", [V, d], 0.5);
  for (let l = 0; l < n("num_hidden_layers"); l++) {
    const p = `model.layers.${l}.`;
    add(`${p}input_layernorm.weight`, [d], 0.2, 1);
    add(`${p}self_attn.q_proj.weight`, [q, d], 0.3);
    add(`${p}self_attn.q_proj.bias`, [q], 0.1);
    add(`${p}self_attn.k_proj.weight`, [kv, d], 0.3);
    add(`${p}self_attn.k_proj.bias`, [kv], 0.1);
    add(`${p}self_attn.v_proj.weight`, [kv, d], 0.3);
    add(`${p}self_attn.v_proj.bias`, [kv], 0.1);
    add(`${p}self_attn.o_proj.weight`, [d, q], 0.2);
    add(`${p}post_attention_layernorm.weight`, [d], 0.2, 1);
    add(`${p}mlp.gate_proj.weight`, [I, d], 0.3);
    add(`${p}mlp.up_proj.weight`, [I, d], 0.3);
    add(`${p}mlp.down_proj.weight`, [d, I], 0.2);
  }
  add("model.norm.weight", [d], 0.2, 1);
  if (!cfg.tie_word_embeddings) add("lm_head.weight", [V, d], 0.5);
  else if (storeHead) out.push({ ...out[0]!, name: "lm_head.weight" });
  return out;
}

const BYTES: Record<FixtureDtype, number> = { BF16: 2, F16: 2, F32: 4, F64: 8 };

/** One safetensors file: u64 LE header length, JSON header padded with spaces to 8 bytes, raw LE data. */
export function safetensorsBytes(tensors: FixtureTensor[]): Uint8Array {
  // transformers writes tensors sorted by name; offsets follow in that order
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : 1));
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const t of sorted) {
    const size = t.values.length * BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + json.length) % 8)) % 8);
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true); // high 32 bits stay 0
  for (let i = 0; i < json.length; i++) out[8 + i] = json.charCodeAt(i); // ASCII header
  let at = 8 + json.length;
  for (const t of sorted) {
    for (const v of t.values) {
      if (t.dtype === "BF16") view.setUint16(at, bf16Bits(v), true);
      else if (t.dtype === "F16") view.setUint16(at, f16Bits(v), true);
      else if (t.dtype === "F32") view.setFloat32(at, v, true);
      else view.setFloat64(at, v, true);
      at += BYTES[t.dtype];
    }
  }
  return out;
}

/**
 * Writes a Hugging Face Qwen2 folder under `dir`.
 * @example const fx = writeHfFolder(join(tmp, "qwen"), { dtype: "BF16", shards: 2 });
 */
export function writeHfFolder(dir: string, o: FixtureOptions): Fixture {
  mkdirSync(dir, { recursive: true });
  const config: Record<string, unknown> = { ...FIXTURE_CONFIG, ...o.config };
  writeFileSync(join(dir, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
  const tokenizer = buildCharBpe({ modelMaxLength: 64 });
  tokenizer.tokenizerConfig.chat_template = QWEN_CHAT_TEMPLATE;
  writeTokenizerFiles(dir, tokenizer);
  writeFileSync(join(dir, "README.md"), "# tiny-random-qwen2\n");
  const all = stateDict(config, o.dtype, mulberry32(o.seed ?? 1), o.storeTiedHead ?? false);
  const tensors = o.edit ? o.edit(all) : all;
  const shards = o.shards ?? 1;
  if (shards === 1) {
    writeFileSync(join(dir, "model.safetensors"), safetensorsBytes(tensors));
    return { dir, config, tensors, weightFiles: ["model.safetensors"] };
  }
  // Consecutive runs of the state dict per shard, as transformers' shard_checkpoint splits it.
  const pad = (i: number) => String(i).padStart(5, "0");
  const per = Math.ceil(tensors.length / shards);
  const weightMap: Record<string, string> = {};
  const weightFiles: string[] = [];
  let total = 0;
  for (let s = 0; s < shards; s++) {
    const part = tensors.slice(s * per, (s + 1) * per);
    const file = `model-${pad(s + 1)}-of-${pad(shards)}.safetensors`;
    writeFileSync(join(dir, file), safetensorsBytes(part));
    for (const t of part) {
      weightMap[t.name] = file;
      total += t.values.length * BYTES[t.dtype];
    }
    weightFiles.push(file);
  }
  const sortedMap = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : 1)));
  writeFileSync(join(dir, "model.safetensors.index.json"), `${JSON.stringify({ metadata: { total_size: total }, weight_map: sortedMap }, null, 2)}\n`);
  return { dir, config, tensors, weightFiles: [...weightFiles, "model.safetensors.index.json"] };
}
