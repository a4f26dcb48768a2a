// Incremental detokenization (the prefix/read-offset scheme of Hugging Face TGI and vLLM): text appears
// token by token without re-decoding the whole sequence, and a byte-level token that ends inside a
// multi-byte character holds its text back until the character is complete.
import type { Tokenizer } from "../engine/engine";

const REPLACEMENT = "\uFFFD";

/**
 * @example
 * const d = new IncrementalDetokenizer(tokenizer);
 * d.push(id1); // "" while a UTF-8 character is incomplete, then its text
 */
export class IncrementalDetokenizer {
  private readonly ids: number[] = [];
  private prefixOffset = 0; // start of the window decoded for context (tokenizers merge across tokens)
  private readOffset = 0; // tokens whose text has already been returned

  constructor(private readonly tokenizer: Tokenizer) {}

  /** Appends a token; returns the text it completes ("" when held back). */
  push(id: number): string {
    this.ids.push(id);
    return this.advance(false);
  }

  /** Text still held back (an incomplete character at the end), returned as decoded (with U+FFFD). */
  flush(): string {
    return this.advance(true);
  }

  // 1) decode the window [prefix, read) and [prefix, end); 2) the new text is the difference, released
  // unless it ends in U+FFFD (a character cut mid-bytes) and more tokens may still complete it.
  private advance(final: boolean): string {
    if (this.readOffset === this.ids.length) return "";
    const skip = { skipSpecialTokens: true };
    const before = this.tokenizer.decode(this.ids.slice(this.prefixOffset, this.readOffset), skip);
    const after = this.tokenizer.decode(this.ids.slice(this.prefixOffset), skip);
    if (!final && (after.length <= before.length || after.endsWith(REPLACEMENT))) return "";
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    return after.slice(before.length);
  }
}
