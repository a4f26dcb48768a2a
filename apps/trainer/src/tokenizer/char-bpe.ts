// Builds Tether's character-level tokenizer as Hugging Face files: a BPE model with no merges over a
// byte-level alphabet (so it loads in transformers, transformers.js and tokenizers.js), Qwen-style
// special tokens and a ChatML chat template.
//
// Why ByteLevel pre-tokenizer + decoder (Qwen2's choice) rather than none: with no decoder,
// tokenizers.js joins tokens with " ", so "1 2" would not round-trip. ByteLevel writes every byte as one
// printable vocabulary character (" " → "Ġ", "\n" → "Ċ") and its decoder maps them back exactly; with no
// merges each byte of the alphabet is one token, i.e. one character for ASCII text.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ParameterError } from "@tether/shared/errors";
import { BYTE_TO_CHAR } from "./byte-level";
import type { AddedTokenJson, GenerationConfigJson, TokenizerConfigJson, TokenizerJson } from "./format";

/** Qwen2's end-of-text token: id 0, used as eos, pad and bos (Qwen2 sets bos_token_id to it too). */
export const EOS_TOKEN = "<|endoftext|>";
/** ChatML turn delimiters (Qwen2's). */
export const IM_START_TOKEN = "<|im_start|>";
export const IM_END_TOKEN = "<|im_end|>";
/** Stands for any byte outside the alphabet. Qwen2 has none (its bytes cover everything); we need one. */
export const UNK_TOKEN = "<|unk|>";

/** Special tokens in id order: ids 0..3. */
export const SPECIAL_TOKENS = [EOS_TOKEN, IM_START_TOKEN, IM_END_TOKEN, UNK_TOKEN] as const;

/** Fixed ids of the special tokens (the tests pin them). */
export const SPECIAL_IDS = { eos: 0, pad: 0, imStart: 1, imEnd: 2, unk: 3 } as const;

function printableAscii(): string {
  let s = "";
  for (let c = 32; c <= 126; c++) s += String.fromCharCode(c);
  return s;
}

/**
 * Default alphabet: newline plus every printable ASCII character (space, digits, + - * / = ? :, a–z,
 * A–Z and all ASCII punctuation). Ids follow byte order: "\n" → 4, " " → 5, "0" → 21, "=" → 34,
 * "a" → 70, "~" → 99; vocabulary size 100.
 */
export const DEFAULT_ALPHABET = "\n" + printableAscii();

/**
 * ChatML template in Qwen2's style: each message as `<|im_start|>{role}\n{content}<|im_end|>\n`, then
 * `<|im_start|>assistant\n` when `add_generation_prompt`. Unlike Qwen2-Instruct it does not inject a
 * default "You are a helpful assistant." system turn: our small models were never trained on one.
 */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/** A chat message as the template sees it. */
export interface ChatMessage {
  role: string;
  content: string;
}

/**
 * Renders messages exactly as CHATML_TEMPLATE does (for the trainer, which has no Jinja engine).
 * @example
 * renderChatML([{ role: "user", content: "2+2=" }], true);
 * // "<|im_start|>user\n2+2=<|im_end|>\n<|im_start|>assistant\n"
 */
export function renderChatML(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
  let out = "";
  for (const m of messages) out += `${IM_START_TOKEN}${m.role}\n${m.content}${IM_END_TOKEN}\n`;
  return addGenerationPrompt ? `${out}${IM_START_TOKEN}assistant\n` : out;
}

/** Options of the character tokenizer. */
export interface CharBpeOptions {
  /** Characters that get their own token; every UTF-8 byte of them becomes one vocabulary entry. */
  alphabet?: string;
  /** tokenizer_config.json model_max_length, in tokens: the model's maxPositions (presets: 128). */
  modelMaxLength?: number;
}

/** The three Hugging Face files of a tokenizer. */
export interface TokenizerFiles {
  tokenizerJson: TokenizerJson;
  tokenizerConfig: TokenizerConfigJson;
  generationConfig: GenerationConfigJson;
}

function addedToken(id: number, content: string): AddedTokenJson {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

function alphabetBytes(alphabet: string): number[] {
  if (alphabet.length === 0) throw new ParameterError("alphabet", "must contain at least one character", alphabet);
  return [...new Set(new TextEncoder().encode(alphabet))].sort((a, b) => a - b);
}

/**
 * Builds tokenizer.json, tokenizer_config.json and generation_config.json of the character tokenizer.
 * @example
 * const { tokenizerJson } = buildCharBpe();
 * tokenizerJson.model.vocab["="]; // 34
 */
export function buildCharBpe(options: CharBpeOptions = {}): TokenizerFiles {
  const alphabet = options.alphabet ?? DEFAULT_ALPHABET;
  const modelMaxLength = options.modelMaxLength ?? 128;
  if (!Number.isInteger(modelMaxLength) || modelMaxLength < 2) {
    throw new ParameterError("modelMaxLength", "must be an integer ≥ 2", modelMaxLength);
  }
  // 1) Specials first (fixed ids 0..3), then one entry per alphabet byte in byte order. Specials are
  //    also in model.vocab: Python tokenizers' BPE refuses an unk_token missing from its vocab.
  const vocab: Record<string, number> = {};
  SPECIAL_TOKENS.forEach((t, id) => (vocab[t] = id));
  for (const b of alphabetBytes(alphabet)) vocab[BYTE_TO_CHAR[b]] = Object.keys(vocab).length;
  const addedTokens = SPECIAL_TOKENS.map((t, id) => addedToken(id, t));
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: true };

  // 2) tokenizer.json: no normalizer (text is kept byte-exact), no merges.
  const tokenizerJson: TokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, use_regex: false },
    decoder: { ...byteLevel, use_regex: false },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: UNK_TOKEN,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };

  // 3) tokenizer_config.json in Qwen2's layout; clean_up_tokenization_spaces must be false or
  //    decoders rewrite " ." to "." and text no longer round-trips.
  const tokenizerConfig: TokenizerConfigJson = {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(addedTokens.map(({ id, ...rest }) => [String(id), rest])),
    additional_special_tokens: [IM_START_TOKEN, IM_END_TOKEN],
    bos_token: null,
    chat_template: CHATML_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: EOS_TOKEN,
    errors: "replace",
    model_max_length: modelMaxLength,
    pad_token: EOS_TOKEN,
    split_special_tokens: false,
    tokenizer_class: "PreTrainedTokenizerFast",
    unk_token: UNK_TOKEN,
  };

  // 4) generation_config.json: stop at <|endoftext|> (completions) or <|im_end|> (chat turns), as
  //    Qwen2-Instruct lists both.
  const generationConfig: GenerationConfigJson = {
    bos_token_id: SPECIAL_IDS.eos,
    eos_token_id: [SPECIAL_IDS.eos, SPECIAL_IDS.imEnd],
    pad_token_id: SPECIAL_IDS.pad,
  };
  return { tokenizerJson, tokenizerConfig, generationConfig };
}

/**
 * Writes tokenizer files into a checkpoint directory (created if missing); returns the paths written.
 * @example
 * writeTokenizerFiles("runs/ref", buildCharBpe()); // [".../tokenizer.json", ...]
 */
export function writeTokenizerFiles(dir: string, files: TokenizerFiles): string[] {
  mkdirSync(dir, { recursive: true });
  const entries: [string, unknown][] = [
    ["tokenizer.json", files.tokenizerJson],
    ["tokenizer_config.json", files.tokenizerConfig],
    ["generation_config.json", files.generationConfig],
  ];
  return entries.map(([name, value]) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(value, null, 2) + "\n");
    return path;
  });
}
