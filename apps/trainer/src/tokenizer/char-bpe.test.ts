// The character BPE files: fixed special ids, exact round trips through @huggingface/tokenizers (the
// library transformers.js uses — independent of our fast path), the ChatML template, file writing.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Tokenizer as HFTokenizer } from "@huggingface/tokenizers";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { Template } from "@huggingface/jinja";
import { CHATML_TEMPLATE, DEFAULT_ALPHABET, SPECIAL_IDS, SPECIAL_TOKENS, buildCharBpe, renderChatML, writeTokenizerFiles } from "./char-bpe";
import { readTokenizerDir } from "./tokenizer";

const files = buildCharBpe();
const hf = new HFTokenizer(files.tokenizerJson, files.tokenizerConfig);

function randomText(rng: Pcg32, alphabet: string, length: number): string {
  let s = "";
  for (let i = 0; i < length; i++) s += alphabet[rng.nextInt(alphabet.length)];
  return s;
}

describe("buildCharBpe", () => {
  it("puts the Qwen-style special tokens at fixed ids 0..3", () => {
    expect(SPECIAL_TOKENS).toEqual(["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|unk|>"]);
    expect(SPECIAL_IDS).toMatchObject({ eos: 0, pad: 0, imStart: 1, imEnd: 2, unk: 3 });
    for (const [id, content] of SPECIAL_TOKENS.entries()) {
      expect(hf.token_to_id(content)).toBe(id);
      expect(files.tokenizerJson.added_tokens[id]).toMatchObject({ id, content, special: true, normalized: false });
    }
  });

  it("has one token per alphabet character, in byte order after the specials", () => {
    const vocab = files.tokenizerJson.model.vocab as Record<string, number>;
    expect(Object.keys(vocab)).toHaveLength(100);
    expect(vocab["Ċ"]).toBe(4); // "\n" in byte-level form
    expect(vocab["Ġ"]).toBe(5); // " "
    expect(vocab["0"]).toBe(21);
    expect(vocab["="]).toBe(34);
    expect(vocab["a"]).toBe(70);
    expect(vocab["~"]).toBe(99);
    expect(files.tokenizerJson.model).toMatchObject({ type: "BPE", merges: [], unk_token: "<|unk|>" });
    expect(files.tokenizerJson.normalizer).toBeNull();
    for (const ch of "0123456789+-*/=?: \nazAZ.,;!'\"()") expect(DEFAULT_ALPHABET).toContain(ch);
  });

  it("round-trips random text over the alphabet exactly, one token per character", () => {
    const rng = new Pcg32(2024, 3);
    for (let trial = 0; trial < 300; trial++) {
      const text = randomText(rng, DEFAULT_ALPHABET, 1 + rng.nextInt(80));
      const ids = hf.encode(text, { add_special_tokens: false }).ids;
      expect(ids).toHaveLength(text.length);
      expect(hf.decode(ids)).toBe(text);
    }
  });

  it("keeps spaces, runs of whitespace and punctuation that clean-up would rewrite", () => {
    for (const text of ["  a  b  ", "\n\n x \n", "don 't . , ! ?", " 12 + 7 = 19 \n"]) {
      expect(hf.decode(hf.encode(text, { add_special_tokens: false }).ids)).toBe(text);
    }
  });

  it("encodes special-token text as the special id and bytes outside the alphabet as unk", () => {
    expect(hf.encode("<|im_start|>user\n1<|im_end|>", { add_special_tokens: false }).ids).toEqual([1, 90, 88, 74, 87, 4, 22, 2]);
    expect(hf.encode("a\tb", { add_special_tokens: false }).ids).toEqual([70, 3, 71]);
    expect(hf.encode("é", { add_special_tokens: false }).ids).toEqual([3, 3]); // two UTF-8 bytes
  });

  it("builds a smaller vocabulary from a custom alphabet", () => {
    const small = buildCharBpe({ alphabet: "0123456789+=", modelMaxLength: 32 });
    const tok = new HFTokenizer(small.tokenizerJson, small.tokenizerConfig);
    expect(Object.keys(small.tokenizerJson.model.vocab as object)).toHaveLength(4 + 12);
    // Byte order: "+" (43) → 4, "0".."9" → 5..14, "=" (61) → 15.
    expect(tok.encode("1+1=2", { add_special_tokens: false }).ids).toEqual([6, 4, 6, 15, 7]);
    expect(tok.encode("1-1", { add_special_tokens: false }).ids).toEqual([6, 3, 6]);
    expect(small.tokenizerConfig.model_max_length).toBe(32);
    expect(() => buildCharBpe({ alphabet: "" })).toThrow(/alphabet/);
    expect(() => buildCharBpe({ modelMaxLength: 1 })).toThrow(/modelMaxLength/);
  });
});

describe("tokenizer_config.json and generation_config.json", () => {
  it("names eos/pad and the fast tokenizer class, with clean-up off", () => {
    expect(files.tokenizerConfig).toMatchObject({
      tokenizer_class: "PreTrainedTokenizerFast",
      eos_token: "<|endoftext|>",
      pad_token: "<|endoftext|>",
      unk_token: "<|unk|>",
      bos_token: null,
      model_max_length: 128,
      clean_up_tokenization_spaces: false,
    });
    expect(files.generationConfig).toEqual({ bos_token_id: 0, eos_token_id: [0, 2], pad_token_id: 0 });
  });

  it("has a ChatML template in Qwen2's style, rendered by @huggingface/jinja like renderChatML", () => {
    const t = CHATML_TEMPLATE;
    const messages = [
      { role: "system", content: "Answer." },
      { role: "user", content: "12+7=" },
    ];
    for (const add of [false, true]) {
      expect(new Template(t).render({ messages, add_generation_prompt: add })).toBe(renderChatML(messages, add));
    }
    expect(t).toBe(files.tokenizerConfig.chat_template);
    expect(t).toContain("{% for message in messages %}");
    expect(t).toContain("{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}");
    expect(t).toContain("{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}");
  });

  it("renders a two-message conversation as ChatML", () => {
    const messages = [
      { role: "user", content: "12+7=" },
      { role: "assistant", content: "19" },
    ];
    expect(renderChatML(messages, false)).toBe("<|im_start|>user\n12+7=<|im_end|>\n<|im_start|>assistant\n19<|im_end|>\n");
    expect(renderChatML(messages.slice(0, 1), true)).toBe("<|im_start|>user\n12+7=<|im_end|>\n<|im_start|>assistant\n");
    const ids = hf.encode(renderChatML(messages, false), { add_special_tokens: false }).ids;
    expect(ids.filter((id) => id === 1)).toHaveLength(2);
    expect(ids.filter((id) => id === 2)).toHaveLength(2);
  });
});

describe("writeTokenizerFiles", () => {
  const dir = mkdtempSync(join(tmpdir(), "tether-tok-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the three files, which load back into an equivalent tokenizer", () => {
    const paths = writeTokenizerFiles(dir, files);
    expect(paths.map((p) => p.slice(dir.length + 1))).toEqual(["tokenizer.json", "tokenizer_config.json", "generation_config.json"]);
    expect(JSON.parse(readFileSync(paths[0], "utf8"))).toEqual(files.tokenizerJson);
    const tok = readTokenizerDir(dir);
    expect(tok.kind).toBe("char");
    expect(tok.encode("40-13=27")).toEqual(hf.encode("40-13=27", { add_special_tokens: false }).ids);
  });
});
