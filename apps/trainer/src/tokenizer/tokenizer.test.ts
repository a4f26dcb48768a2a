// loadTokenizer: the fast char path must agree id-for-id with @huggingface/tokenizers on our char BPE,
// and any other tokenizer.json (a hand-written BPE with merges) must load through the library.
import { describe, expect, it } from "vitest";
import { Tokenizer as HFTokenizer } from "@huggingface/tokenizers";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { ParameterError } from "@tether/shared/errors";
import { DEFAULT_ALPHABET, buildCharBpe } from "./char-bpe";
import { loadTokenizer } from "./tokenizer";

const files = buildCharBpe();
const fast = loadTokenizer(files.tokenizerJson, files.tokenizerConfig);
const reference = new HFTokenizer(files.tokenizerJson, files.tokenizerConfig);
// A no-op normalizer changes nothing in the text but takes the library path: our wrapper on the same file.
const wrapped = loadTokenizer({ ...files.tokenizerJson, normalizer: { type: "Sequence", normalizers: [] } }, files.tokenizerConfig);

// Alphabet plus what users' data may contain: special-token text, tabs, CR, accents, CJK, emoji,
// a lone surrogate.
const EXTRA = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|unk|>", "<|", "\t", "\r", "é", "中", "😀", "\ud800"];

function randomPieces(rng: Pcg32, length: number): string {
  let s = "";
  for (let i = 0; i < length; i++) {
    s += rng.nextInt(8) === 0 ? EXTRA[rng.nextInt(EXTRA.length)] : DEFAULT_ALPHABET[rng.nextInt(DEFAULT_ALPHABET.length)];
  }
  return s;
}

describe("loadTokenizer on the char BPE", () => {
  it("takes the fast path and resolves vocab size, eos and pad", () => {
    expect(fast.kind).toBe("char");
    expect(wrapped.kind).toBe("hf");
    for (const tok of [fast, wrapped]) {
      expect(tok.vocabSize).toBe(100);
      expect(tok.eosId).toBe(0);
      expect(tok.padId).toBe(0);
      expect(tok.tokenToId("<|im_end|>")).toBe(2);
      expect(tok.tokenToId("Ġ")).toBe(5);
    }
    expect(fast.encode("12+7=")).toEqual([22, 23, 16, 28, 34]);
  });

  it("encodes exactly like @huggingface/tokenizers, and the wrapper does too", () => {
    const rng = new Pcg32(7, 11);
    for (let trial = 0; trial < 400; trial++) {
      const text = randomPieces(rng, rng.nextInt(60));
      const expected = text === "" ? [] : reference.encode(text, { add_special_tokens: false }).ids;
      expect(fast.encode(text)).toEqual(expected);
      expect(wrapped.encode(text)).toEqual(expected);
    }
  });

  it("decodes any id sequence like @huggingface/tokenizers, with and without specials", () => {
    const rng = new Pcg32(8, 12);
    for (let trial = 0; trial < 400; trial++) {
      const ids = Array.from({ length: 1 + rng.nextInt(40) }, () => rng.nextInt(100));
      for (const skip of [false, true]) {
        const expected = reference.decode(ids, { skip_special_tokens: skip });
        expect(fast.decode(ids, { skipSpecialTokens: skip })).toBe(expected);
        expect(wrapped.decode(Int32Array.from(ids), { skipSpecialTokens: skip })).toBe(expected);
      }
    }
  });

  it("round-trips text over the alphabet and keeps eos visible unless skipped", () => {
    const text = "Q: 40-13=?\nA: 27";
    expect(fast.decode(fast.encode(text))).toBe(text);
    expect(fast.decode([...fast.encode("19"), 0])).toBe("19<|endoftext|>");
    expect(fast.decode([...fast.encode("19"), 0], { skipSpecialTokens: true })).toBe("19");
    expect(fast.decode([])).toBe("");
    expect(wrapped.decode([])).toBe("");
  });

  it("agrees with the library on a custom alphabet with multi-byte characters", () => {
    // "é" is two byte tokens; a skipped special between them must not split the character.
    const custom = buildCharBpe({ alphabet: "ab é\n" });
    const lib = new HFTokenizer(custom.tokenizerJson, custom.tokenizerConfig);
    const tok = loadTokenizer(custom.tokenizerJson, custom.tokenizerConfig);
    expect(tok.kind).toBe("char");
    expect(tok.vocabSize).toBe(4 + 6);
    const rng = new Pcg32(9, 13);
    for (let trial = 0; trial < 300; trial++) {
      const text = Array.from({ length: rng.nextInt(20) }, () => ["a", "b", " ", "é", "\n", "ü", "<|im_end|>"][rng.nextInt(7)]).join("");
      expect(tok.encode(text)).toEqual(text === "" ? [] : lib.encode(text, { add_special_tokens: false }).ids);
      const ids = Array.from({ length: 1 + rng.nextInt(20) }, () => rng.nextInt(tok.vocabSize));
      for (const skip of [false, true]) expect(tok.decode(ids, { skipSpecialTokens: skip })).toBe(lib.decode(ids, { skip_special_tokens: skip }));
    }
    const e = tok.encode("é");
    expect(tok.decode([e[0], 2, e[1]], { skipSpecialTokens: true })).toBe("é");
  });

  it("rejects ids outside the vocabulary with the parameter named", () => {
    expect(() => fast.decode([5, 100])).toThrow(ParameterError);
    expect(() => fast.decode([5, 100])).toThrow("ids[1] must be an integer in [0, 100) (got 100)");
    expect(() => wrapped.decode([-1])).toThrow("ids[0] must be an integer in [0, 100) (got -1)");
  });
});

// A small BPE with merges, byte-level like GPT-2/Qwen2: "a b" → "ab", "ab c" → "abc", "Ġ a" → "Ġa".
const handBpe = {
  version: "1.0",
  added_tokens: [{ id: 0, content: "</s>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
  normalizer: null,
  pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: null,
  decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
  model: {
    type: "BPE",
    unk_token: null,
    vocab: { "</s>": 0, a: 1, b: 2, c: 3, "Ġ": 4, ab: 5, abc: 6, "Ġa": 7 },
    merges: ["a b", "ab c", "Ġ a"],
  },
};

describe("loadTokenizer on another tokenizer.json", () => {
  it("applies merges in rank order through @huggingface/tokenizers", () => {
    const tok = loadTokenizer(handBpe);
    expect(tok.kind).toBe("hf");
    expect(tok.vocabSize).toBe(8);
    expect(tok.eosId).toBe(0); // no config: falls back to "</s>"
    // "abc" → a b c → ab c → abc; " ab" → Ġ a b: "a b" (rank 0) beats "Ġ a" (rank 2) → Ġ ab.
    expect(tok.encode("abc ab")).toEqual([6, 4, 5]);
    expect(tok.encode(" a")).toEqual([7]);
    expect(tok.decode([6, 4, 5, 0])).toBe("abc ab</s>");
    expect(tok.decode([6, 4, 5, 0], { skipSpecialTokens: true })).toBe("abc ab");
  });

  it("reads eos and pad from tokenizer_config.json, as strings or AddedToken objects", () => {
    const tok = loadTokenizer(handBpe, { eos_token: { content: "</s>", lstrip: false }, pad_token: "a" });
    expect(tok.eosId).toBe(0);
    expect(tok.padId).toBe(1);
    expect(tok.config.pad_token).toBe("a");
  });

  it("fails with the field named on a broken file or config", () => {
    expect(() => loadTokenizer({ model: 3 })).toThrow(/^tokenizer.json is not a Hugging Face tokenizer file \(model:/);
    expect(() => loadTokenizer(handBpe, { eos_token: "<eos>" })).toThrow(
      'tokenizer_config.json eos_token must be a token of tokenizer.json (got "<eos>")',
    );
    const noEos = { ...handBpe, added_tokens: [], model: { ...handBpe.model, vocab: { a: 0, b: 1 }, merges: [] } };
    expect(() => loadTokenizer(noEos)).toThrow(/eos_token is required/);
  });
});
