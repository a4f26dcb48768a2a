// HfTokenizer against the trainer's own character tokenizer (a separate table-lookup implementation of the
// same files) and against UTF-8 itself: specials are one id each, bytes of tokens concatenate to the text.
import { describe, expect, it } from "vitest";
import { buildCharBpe } from "../../../trainer/src/tokenizer/char-bpe";
import { loadTokenizer } from "../../../trainer/src/tokenizer/tokenizer";
import { HfTokenizer } from "./hf-tokenizer";

const utf8 = (s: string) => Array.from(new TextEncoder().encode(s));
const files = buildCharBpe();
const json = files.tokenizerJson as unknown as Record<string, unknown>;
const config = files.tokenizerConfig as unknown as Record<string, unknown>;

describe("HfTokenizer on the character tokenizer", () => {
  const tok = new HfTokenizer(json, config);
  const trainer = loadTokenizer(files.tokenizerJson, files.tokenizerConfig);
  const texts = ["12+7=19", "<|im_start|>user\nWhat is 3*4?<|im_end|>\n<|im_start|>assistant\n", "a  b\n\n~{}", "x<|endoftext|>"];

  it("encodes and decodes as the trainer's tokenizer does; special-token text maps to its id", () => {
    for (const text of texts) {
      const ids = tok.encode(text);
      expect(ids, text).toEqual(trainer.encode(text));
      expect(tok.decode(ids), text).toBe(text);
      expect(tok.decode(ids, { skipSpecialTokens: true }), text).toBe(trainer.decode(ids, { skipSpecialTokens: true }));
    }
    expect(tok.encode("<|im_start|><|im_end|><|endoftext|>")).toEqual([1, 2, 0]);
    expect(tok.decode([1, 90, 2], { skipSpecialTokens: true })).toBe("u");
    expect(tok.encode("")).toEqual([]);
    expect(tok.decode([])).toBe("");
    expect(tok.vocabSize).toBe(100);
  });

  it("tokenBytes: byte-level characters are their bytes, specials their UTF-8 text, concatenation = the text", () => {
    expect(tok.tokenBytes(tok.encode(" ")[0]!)).toEqual([32]); // "Ġ"
    expect(tok.tokenBytes(tok.encode("\n")[0]!)).toEqual([10]); // "Ċ"
    expect(tok.tokenBytes(2)).toEqual(utf8("<|im_end|>"));
    for (const text of texts) expect(tok.encode(text).flatMap((id) => tok.tokenBytes(id)), text).toEqual(utf8(text));
    expect(tok.tokenBytes(150)).toEqual([]); // a padded id past the tokenizer
    expect(() => tok.tokenBytes(-1)).toThrow(/id must be a non-negative integer/);
  });

  it("a multi-byte character is split over byte tokens that each hold part of it", () => {
    const accented = buildCharBpe({ alphabet: "abé€" });
    const t = new HfTokenizer(accented.tokenizerJson as unknown as Record<string, unknown>, accented.tokenizerConfig as unknown as Record<string, unknown>);
    const ids = t.encode("é€a");
    expect(ids.length).toBe(2 + 3 + 1);
    expect(ids.map((id) => t.tokenBytes(id))).toEqual([[0xc3], [0xa9], [0xe2], [0x82], [0xac], [0x61]]);
    expect(t.decode(ids)).toBe("é€a");
  });
});

describe("HfTokenizer on a SentencePiece-style BPE (Metaspace, byte fallback)", () => {
  // A hand-written tokenizer.json in the Llama/Mistral layout: "▁" marks a space, <0xNN> tokens are raw bytes.
  const sp = {
    version: "1.0",
    added_tokens: [{ id: 0, content: "</s>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: false },
    post_processor: null,
    decoder: { type: "Sequence", decoders: [{ type: "Replace", pattern: { String: "▁" }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" }] },
    model: { type: "BPE", dropout: null, unk_token: null, byte_fallback: true, fuse_unk: true, ignore_merges: false, vocab: { "</s>": 0, "<0xC3>": 1, "<0xA9>": 2, "▁": 3, a: 4, "▁a": 5 }, merges: ["▁ a"] },
  };
  const tok = new HfTokenizer(sp);

  it("maps ▁ to a space and <0xNN> to its byte", () => {
    expect(tok.tokenBytes(5)).toEqual([32, 97]);
    expect(tok.tokenBytes(1)).toEqual([0xc3]);
    expect(tok.tokenBytes(0)).toEqual(utf8("</s>"));
    const ids = tok.encode("a é");
    expect(ids).toEqual([5, 3, 1, 2]);
    expect(ids.flatMap((id) => tok.tokenBytes(id))).toEqual(utf8(" a é"));
  });
});
