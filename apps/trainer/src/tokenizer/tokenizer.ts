// The trainer's tokenizer seam: one interface, loaded from any Hugging Face tokenizer.json. Our
// character BPE gets a Map-lookup fast path (the trainer encodes millions of characters); every other
// file is run by @huggingface/tokenizers.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ParameterError } from "@tether/shared/errors";
import { CharTokenizer, charLevelSpec } from "./char-fast";
import { HfTokenizer } from "./hf-tokenizer";
import { parseTokenizerConfig, parseTokenizerJson, tokenContent } from "./format";
import type { TokenizerConfigJson, TokenizerJson } from "./format";

/** Options of Tokenizer.decode. */
export interface DecodeOptions {
  /** Drop special tokens (eos, ChatML markers, unk) from the text. Default false. */
  skipSpecialTokens?: boolean;
}

/** Text ↔ token ids, as the trainer, evaluator and exporter see it. */
export interface Tokenizer {
  /** "char": our character BPE on the fast path; "hf": any tokenizer.json via @huggingface/tokenizers. */
  readonly kind: "char" | "hf";
  /** Embedding rows the ids need: highest id in the file + 1. */
  readonly vocabSize: number;
  readonly eosId: number;
  readonly padId: number;
  /** The tokenizer.json object this was loaded from (written unchanged into checkpoints). */
  readonly tokenJson: TokenizerJson;
  /** The tokenizer_config.json object ({} when none was given). */
  readonly config: TokenizerConfigJson;
  /** Token ids of a text. Adds nothing (no bos/eos); special-token text like "<|im_end|>" becomes its id. */
  encode(text: string): number[];
  /** Text of token ids; throws ParameterError on an id outside [0, vocabSize). */
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string;
  /** Id of a vocabulary string (byte-level form) or special token. */
  tokenToId(token: string): number | undefined;
}

/** What both implementations share, resolved once from the files. */
export interface TokenizerInfo {
  tokenJson: TokenizerJson;
  config: TokenizerConfigJson;
  /** content → id over model.vocab and added_tokens (added tokens win, as in tokenizers). */
  ids: Map<string, number>;
  vocabSize: number;
  eosId: number;
  padId: number;
  /** transformers' clean_up_tokenization_spaces; absent means false (transformers ≥ 4.45 default). */
  cleanUp: boolean;
}

function vocabEntries(json: TokenizerJson): [string, number][] {
  const vocab = json.model.vocab;
  // Unigram stores [[piece, score], …] with the index as id; BPE and WordPiece store {piece: id}.
  if (Array.isArray(vocab)) return vocab.map((entry, id) => [String((entry as unknown[])[0]), id]);
  if (vocab !== null && typeof vocab === "object") return Object.entries(vocab as Record<string, number>);
  throw new ParameterError("tokenizer.json model.vocab", "must be an object or an array", typeof vocab);
}

function resolveId(ids: Map<string, number>, content: string | undefined, field: string): number | undefined {
  if (content === undefined) return undefined;
  const id = ids.get(content);
  if (id === undefined) throw new ParameterError(`tokenizer_config.json ${field}`, "must be a token of tokenizer.json", content);
  return id;
}

function resolveInfo(tokenizerJson: unknown, tokenizerConfigJson?: unknown): TokenizerInfo {
  const tokenJson = parseTokenizerJson(tokenizerJson);
  const config = tokenizerConfigJson === undefined ? {} : parseTokenizerConfig(tokenizerConfigJson);
  const ids = new Map<string, number>(vocabEntries(tokenJson));
  for (const t of tokenJson.added_tokens) ids.set(t.content, t.id);
  let maxId = -1;
  for (const id of ids.values()) maxId = Math.max(maxId, id);
  // eos: the config's eos_token, else Qwen's <|endoftext|>, else the common "</s>".
  const eosId =
    resolveId(ids, tokenContent(config.eos_token), "eos_token") ?? ids.get("<|endoftext|>") ?? ids.get("</s>");
  if (eosId === undefined) {
    throw new ParameterError("tokenizer_config.json eos_token", "is required: tokenizer.json has no <|endoftext|> or </s>");
  }
  const padId = resolveId(ids, tokenContent(config.pad_token), "pad_token") ?? eosId;
  const cleanUp = config.clean_up_tokenization_spaces ?? false;
  return { tokenJson, config, ids, vocabSize: maxId + 1, eosId, padId, cleanUp };
}

/**
 * Loads a tokenizer from parsed tokenizer.json (+ optional tokenizer_config.json) objects.
 * @example
 * const tok = loadTokenizer(buildCharBpe().tokenizerJson);
 * tok.encode("12+7="); // [22, 23, 16, 28, 34]
 * tok.decode([22, 23, 0]); // "12<|endoftext|>"
 */
export function loadTokenizer(tokenizerJson: unknown, tokenizerConfigJson?: unknown): Tokenizer {
  const info = resolveInfo(tokenizerJson, tokenizerConfigJson);
  const spec = charLevelSpec(info);
  return spec === null ? new HfTokenizer(info) : new CharTokenizer(info, spec);
}

/**
 * Loads tokenizer.json and, if present, tokenizer_config.json from a directory (a checkpoint).
 * @example
 * const tok = readTokenizerDir("models/demo/reference");
 */
export function readTokenizerDir(dir: string): Tokenizer {
  const read = (name: string): unknown => {
    const path = join(dir, name);
    try {
      return JSON.parse(readFileSync(path, "utf8"));
    } catch (error) {
      if (name === "tokenizer_config.json" && (error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new ParameterError(path, `cannot be read (${(error as Error).message})`);
    }
  };
  return loadTokenizer(read("tokenizer.json"), read("tokenizer_config.json"));
}
