// Fast path for character-level byte-level BPE files (ours): with no merges and no normalizer, the
// Hugging Face pipeline (split out added tokens → ByteLevel → BPE) reduces to "each UTF-8 byte is one
// table lookup", which this file does directly. Anything that breaks that equivalence is left to
// @huggingface/tokenizers (charLevelSpec returns null), so the two paths cannot disagree.
import { CHAR_TO_BYTE } from "./byte-level";
import { checkIds } from "./format";
import type { TokenizerConfigJson, TokenizerJson } from "./format";
import type { DecodeOptions, Tokenizer, TokenizerInfo } from "./tokenizer";

/** Lookup tables of a character-level tokenizer. */
export interface CharSpec {
  /** byte → id, −1 when the byte is not in the vocabulary. */
  byteToId: Int32Array;
  /** id → byte, −1 for added tokens and unused ids. */
  idToByte: Int32Array;
  /** Added tokens, longest first (tokenizers matches the longest at the leftmost position). */
  added: { content: string; id: number }[];
  /** First UTF-16 code unit of each added token: where the encoder must look for one. */
  addedStarts: Set<number>;
  /** id → added-token text (decode). */
  addedText: Map<number, string>;
  /** Ids skipped by decode({ skipSpecialTokens }). */
  specialIds: Set<number>;
  /** Id of the unknown token, −1 when the file has none (unknown bytes are then dropped, as tokenizers does). */
  unkId: number;
}

function isByteLevel(component: unknown): boolean {
  if (component === null || typeof component !== "object") return false;
  const c = component as { type?: unknown; add_prefix_space?: unknown };
  return c.type === "ByteLevel" && c.add_prefix_space !== true;
}

function pipelineIsCharLevel(json: TokenizerJson, config: TokenizerConfigJson): boolean {
  const m = json.model;
  const post = json.post_processor as { type?: unknown } | null;
  return (
    m.type === "BPE" &&
    Array.isArray(m.merges) &&
    m.merges.length === 0 &&
    !m.byte_fallback &&
    !m.continuing_subword_prefix &&
    !m.end_of_word_suffix &&
    !m.dropout &&
    json.normalizer === null &&
    isByteLevel(json.pre_tokenizer) &&
    isByteLevel(json.decoder) &&
    (post === null || post.type === "ByteLevel") &&
    config.clean_up_tokenization_spaces !== true &&
    json.added_tokens.every((t) => !t.lstrip && !t.rstrip && !t.single_word)
  );
}

/**
 * The lookup tables when the files describe a character-level byte-level BPE, else null.
 * @example
 * charLevelSpec(info)?.byteToId[61]; // id of "=" (34 for ours)
 */
export function charLevelSpec(info: TokenizerInfo): CharSpec | null {
  const { tokenJson: json, config } = info;
  if (!pipelineIsCharLevel(json, config)) return null;
  const vocab = json.model.vocab;
  if (vocab === null || typeof vocab !== "object" || Array.isArray(vocab)) return null;
  const addedIds = new Map(json.added_tokens.map((t) => [t.content, t.id]));
  const byteToId = new Int32Array(256).fill(-1);
  const idToByte = new Int32Array(info.vocabSize).fill(-1);
  for (const [token, id] of Object.entries(vocab as Record<string, number>)) {
    if (addedIds.has(token)) continue;
    const byte = CHAR_TO_BYTE.get(token);
    if (byte === undefined) return null; // a multi-character token: a real BPE, not ours
    byteToId[byte] = id;
    idToByte[id] = byte;
  }
  const unk = json.model.unk_token;
  const unkId = unk === null || unk === undefined ? -1 : info.ids.get(unk);
  if (unkId === undefined) return null; // tokenizers would emit an undefined id here; let it
  const additional = new Set((config.additional_special_tokens ?? []).map((t) => (typeof t === "string" ? t : t?.content)));
  const added = json.added_tokens
    .map((t) => ({ content: t.content, id: t.id }))
    .sort((a, b) => b.content.length - a.content.length);
  return {
    byteToId,
    idToByte,
    added,
    addedStarts: new Set(added.map((t) => t.content.charCodeAt(0))),
    addedText: new Map(added.map((t) => [t.id, t.content])),
    specialIds: new Set(json.added_tokens.filter((t) => t.special || additional.has(t.content)).map((t) => t.id)),
    unkId,
  };
}

/**
 * Character-level tokenizer on plain typed-array lookups; agrees with @huggingface/tokenizers.
 * Built by loadTokenizer when charLevelSpec accepts the files.
 * @example
 * const tok = loadTokenizer(buildCharBpe().tokenizerJson); // tok.kind === "char"
 */
export class CharTokenizer implements Tokenizer {
  readonly kind = "char" as const;
  readonly vocabSize: number;
  readonly eosId: number;
  readonly padId: number;
  readonly tokenJson: TokenizerJson;
  readonly config: TokenizerConfigJson;
  private readonly ids: Map<string, number>;
  private readonly encoder = new TextEncoder();
  // Same settings as tokenizers' ByteLevel decoder: invalid UTF-8 → U+FFFD, a BOM is kept.
  private readonly decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

  constructor(
    info: TokenizerInfo,
    private readonly spec: CharSpec,
  ) {
    this.vocabSize = info.vocabSize;
    this.eosId = info.eosId;
    this.padId = info.padId;
    this.tokenJson = info.tokenJson;
    this.config = info.config;
    this.ids = info.ids;
  }

  encode(text: string): number[] {
    const { byteToId, addedStarts, unkId } = this.spec;
    const out: number[] = [];
    const n = text.length;
    let i = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (addedStarts.has(c)) {
        const hit = this.matchAdded(text, i);
        if (hit !== undefined) {
          out.push(hit.id);
          i += hit.content.length;
          continue;
        }
      }
      if (c < 0x80) {
        this.pushByte(out, byteToId[c], unkId);
        i++;
        continue;
      }
      // A run of non-ASCII code units (surrogate pairs stay together) → its UTF-8 bytes.
      let j = i + 1;
      while (j < n && text.charCodeAt(j) >= 0x80 && !addedStarts.has(text.charCodeAt(j))) j++;
      for (const b of this.encoder.encode(text.slice(i, j))) this.pushByte(out, byteToId[b], unkId);
      i = j;
    }
    return out;
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    checkIds(ids, this.vocabSize);
    const { idToByte, addedText, specialIds, unkId } = this.spec;
    const skip = options.skipSpecialTokens ?? false;
    const bytes = new Uint8Array(ids.length);
    let nBytes = 0;
    let out = "";
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k];
      const byte = idToByte[id];
      if (byte >= 0) {
        bytes[nBytes++] = byte;
        continue;
      }
      // Skipped specials vanish before byte decoding (as in tokenizers), so bytes on both sides join.
      if (skip && specialIds.has(id)) continue;
      if (nBytes > 0) out += this.decoder.decode(bytes.subarray(0, nBytes));
      nBytes = 0;
      // An id in range but unused by the file reads as the unknown token, as in tokenizers.
      out += addedText.get(id) ?? (unkId >= 0 ? (addedText.get(unkId) ?? "") : "");
    }
    if (nBytes > 0) out += this.decoder.decode(bytes.subarray(0, nBytes));
    return out;
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  private matchAdded(text: string, at: number): { content: string; id: number } | undefined {
    for (const t of this.spec.added) if (text.startsWith(t.content, at)) return t;
    return undefined;
  }

  private pushByte(out: number[], id: number, unkId: number): void {
    if (id >= 0) out.push(id);
    else if (unkId >= 0) out.push(unkId);
  }
}
