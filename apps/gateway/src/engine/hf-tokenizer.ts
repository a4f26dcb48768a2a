// The engine's Tokenizer for any checkpoint's tokenizer.json (+ tokenizer_config.json), run by
// @huggingface/tokenizers (the pure-JS port transformers.js uses), plus each token's raw bytes.
//
// tokenBytes(id), by how the vocabulary writes a token:
//   added/special token      → UTF-8 of its content ("<|im_end|>")
//   byte-level (GPT-2, Qwen2) → each vocabulary character stands for one byte ("Ġ" = 0x20, "Ċ" = 0x0A), so a
//                               token may hold part of a multi-byte character
//   byte fallback "<0xNN>"   → [0xNN] (SentencePiece-style BPE)
//   anything else            → UTF-8 of the token text, "▁" as a space (Metaspace)
import { Tokenizer as HfTokenizerCore } from "@huggingface/tokenizers";
import { ParameterError } from "@tether/shared/errors";
import type { Tokenizer } from "./engine";

/**
 * GPT-2's reversible byte ↔ printable-character map used by ByteLevel pre-tokenizers and decoders: bytes
 * 33–126, 161–172 and 174–255 are themselves, the rest map to U+0100, U+0101, … in byte order.
 */
function byteLevelTable(): Map<string, number> {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const table = new Map<string, number>();
  let next = 0;
  for (let b = 0; b < 256; b++) table.set(String.fromCharCode(printable(b) ? b : 256 + next++), b);
  return table;
}

const CHAR_TO_BYTE = byteLevelTable();
const UTF8 = new TextEncoder();

// ByteLevel anywhere in the decoder (or pre-tokenizer) means vocabulary strings are byte-level encoded.
function usesByteLevel(component: unknown): boolean {
  if (component === null || typeof component !== "object") return false;
  const c = component as { type?: unknown; decoders?: unknown; pretokenizers?: unknown };
  if (c.type === "ByteLevel") return true;
  const children = c.decoders ?? c.pretokenizers;
  return Array.isArray(children) && children.some(usesByteLevel);
}

/**
 * @example
 * const tok = new HfTokenizer(tokenizerJson, tokenizerConfig);
 * tok.encode("<|im_start|>user\n"); // [1, 90, 88, 74, 87, 4] with the character tokenizer
 * tok.tokenBytes(5); // [32]: "Ġ" is a space
 */
export class HfTokenizer implements Tokenizer {
  /** Highest id the files define + 1 (config vocab_size may be larger: padded embeddings). */
  readonly vocabSize: number;
  private readonly inner: HfTokenizerCore;
  private readonly byteLevel: boolean;
  private readonly cleanUp: boolean;
  private readonly added = new Map<number, string>();
  private readonly bytesCache: (number[] | undefined)[] = [];
  readonly unknownTokenId: number | null;
  private plainInner: HfTokenizerCore | null = null; // built on first use: the same files without special tokens
  private readonly files: { json: Record<string, unknown>; config: Record<string, unknown> };

  constructor(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown> = {}) {
    this.inner = new HfTokenizerCore(tokenizerJson, tokenizerConfig);
    this.files = { json: tokenizerJson, config: tokenizerConfig };
    const unk = (tokenizerJson.model as { unk_token?: unknown } | undefined)?.unk_token;
    this.unknownTokenId = typeof unk === "string" ? (this.inner.token_to_id(unk) ?? null) : null;
    this.byteLevel = usesByteLevel(tokenizerJson.decoder) || usesByteLevel(tokenizerJson.pre_tokenizer);
    // transformers ≥ 4.45 defaults to false; tokenizers.js to true when the config is silent, which would
    // rewrite " ." as "." and break round trips.
    this.cleanUp = tokenizerConfig.clean_up_tokenization_spaces === true;
    for (const [id, token] of this.inner.get_added_tokens_decoder()) this.added.set(id, token.content);
    let maxId = -1;
    for (const id of this.inner.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
  }

  encode(text: string, options: { specialTokens?: boolean } = {}): number[] {
    if (text.length === 0) return [];
    const tokenizer = options.specialTokens === false ? this.plain() : this.inner;
    return tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  // tokenizers.js always splits added tokens out of the text first; without the special ones in the file,
  // their text goes through the model like any other (no merge produces a special token).
  private plain(): HfTokenizerCore {
    if (this.plainInner === null) {
      const added = (this.files.json.added_tokens ?? []) as Array<{ special?: boolean }>;
      this.plainInner = new HfTokenizerCore({ ...this.files.json, added_tokens: added.filter((t) => !t.special) }, this.files.config);
    }
    return this.plainInner;
  }

  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return ""; // tokenizers.js throws on an empty list
    const list = Array.from(ids);
    const bad = list.find((id) => !(Number.isInteger(id) && id >= 0));
    if (bad !== undefined) throw new ParameterError("ids", "must be non-negative integer token ids", bad);
    return this.inner.decode(list, { skip_special_tokens: options.skipSpecialTokens ?? false, clean_up_tokenization_spaces: this.cleanUp });
  }

  tokenBytes(id: number): number[] {
    if (!(Number.isInteger(id) && id >= 0)) throw new ParameterError("id", "must be a non-negative integer token id", id);
    let bytes = this.bytesCache[id];
    if (bytes === undefined) this.bytesCache[id] = bytes = this.computeBytes(id);
    return bytes;
  }

  private computeBytes(id: number): number[] {
    const added = this.added.get(id);
    if (added !== undefined) return Array.from(UTF8.encode(added));
    const token = this.inner.id_to_token(id);
    if (token === undefined) return []; // a padded id past the tokenizer: no text
    const fallback = /^<0x([0-9A-Fa-f]{2})>$/.exec(token);
    if (fallback) return [parseInt(fallback[1]!, 16)];
    if (!this.byteLevel) return Array.from(UTF8.encode(token.replace(/\u2581/g, " ")));
    const out: number[] = [];
    for (const ch of token) {
      const b = CHAR_TO_BYTE.get(ch);
      if (b === undefined) out.push(...UTF8.encode(ch)); // not a byte-level character: keep its text
      else out.push(b);
    }
    return out;
  }
}
