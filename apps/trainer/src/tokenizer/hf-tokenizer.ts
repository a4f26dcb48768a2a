// Any tokenizer.json (BPE, WordPiece, Unigram — e.g. Qwen2's) through @huggingface/tokenizers, the
// pure-JS port of Hugging Face tokenizers that transformers.js uses.
import { Tokenizer as HFTokenizer } from "@huggingface/tokenizers";
import { checkIds } from "./format";
import type { TokenizerConfigJson, TokenizerJson } from "./format";
import type { DecodeOptions, Tokenizer, TokenizerInfo } from "./tokenizer";

/**
 * Wraps @huggingface/tokenizers behind Tether's Tokenizer interface (built by loadTokenizer).
 * @example
 * const tok = readTokenizerDir("Qwen2.5-0.5B"); // tok.kind === "hf"
 */
export class HfTokenizer implements Tokenizer {
  readonly kind = "hf" as const;
  readonly vocabSize: number;
  readonly eosId: number;
  readonly padId: number;
  readonly tokenJson: TokenizerJson;
  readonly config: TokenizerConfigJson;
  private readonly inner: HFTokenizer;
  private readonly cleanUp: boolean;

  constructor(info: TokenizerInfo) {
    this.vocabSize = info.vocabSize;
    this.eosId = info.eosId;
    this.padId = info.padId;
    this.tokenJson = info.tokenJson;
    this.config = info.config;
    this.cleanUp = info.cleanUp;
    this.inner = new HFTokenizer(info.tokenJson, info.config);
  }

  encode(text: string): number[] {
    if (text.length === 0) return [];
    // No post-processor specials (bos/eos): the trainer appends eos itself.
    return this.inner.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    checkIds(ids, this.vocabSize);
    if (ids.length === 0) return ""; // tokenizers throws on an empty list
    return this.inner.decode(Array.from(ids), {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      // Explicit: tokenizers.js defaults to true when the config is silent, transformers ≥ 4.45 to false.
      clean_up_tokenization_spaces: this.cleanUp,
    });
  }

  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }
}
