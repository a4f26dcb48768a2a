// GPT-2 / Qwen2 byte-level alphabet: the reversible map from the 256 byte values to printable
// code points that Hugging Face's ByteLevel pre-tokenizer and decoder use for vocabulary strings.
//
// Bytes that are already printable and unambiguous (33–126, 161–172, 174–255) map to themselves; the
// rest (0–32, 127–160, 173) map to 256, 257, … in byte order. So " " (32) is "Ġ" (U+0120) and
// "\n" (10) is "Ċ" (U+010A), exactly as in Qwen2's vocab.

function buildByteToChar(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = new Array(256);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    out[b] = String.fromCharCode(printable(b) ? b : 256 + next++);
  }
  return out;
}

/** byte value → the one-character vocabulary string that stands for it. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** One-character vocabulary string → byte value (the inverse of BYTE_TO_CHAR). */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/**
 * Byte-level form of a text: its UTF-8 bytes, each written as its vocabulary character.
 * @example
 * byteLevel("1 +\n"); // "1Ġ+Ċ"
 */
export function byteLevel(text: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(text)) out += BYTE_TO_CHAR[b];
  return out;
}
