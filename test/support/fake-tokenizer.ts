// Character tokenizer of the fake engine: the demo checkpoints' layout (ids 0–3 Qwen-style specials, then
// "\n" and printable ASCII in byte order, vocabulary 100), so tests read like the demo without loading files.
import { ParameterError } from "@tether/shared/errors";
import type { Tokenizer } from "../../apps/gateway/src/engine/engine";

export const FAKE_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|unk|>"] as const;
export const FAKE_IDS = { eos: 0, imStart: 1, imEnd: 2, unk: 3 } as const;

/** ChatML, as the trainer writes into tokenizer_config.json (no default system turn). */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

const ALPHABET = "\n" + Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("");

/**
 * One token per ASCII character; anything else becomes <|unk|>.
 * @example new FakeTokenizer().encode("1+1=") // [22, 16, 22, 34]
 */
export class FakeTokenizer implements Tokenizer {
  readonly vocabSize = FAKE_SPECIALS.length + ALPHABET.length; // 100
  private readonly pieces: string[] = [...FAKE_SPECIALS, ...ALPHABET];
  private readonly ids = new Map(this.pieces.map((p, i) => [p, i]));

  readonly unknownTokenId = FAKE_IDS.unk;

  encode(text: string, options: { specialTokens?: boolean } = {}): number[] {
    const specials = options.specialTokens ?? true;
    const out: number[] = [];
    for (let i = 0; i < text.length; ) {
      const special = specials ? FAKE_SPECIALS.findIndex((s) => text.startsWith(s, i)) : -1;
      if (special >= 0) {
        out.push(special);
        i += FAKE_SPECIALS[special]!.length;
        continue;
      }
      out.push(this.ids.get(text[i]!) ?? FAKE_IDS.unk);
      i++;
    }
    return out;
  }

  encodePlain(text: string): number[] {
    return Array.from(text, (ch) => this.ids.get(ch) ?? FAKE_IDS.unk);
  }

  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    let text = "";
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const piece = this.pieces[id];
      if (piece === undefined) throw new ParameterError("ids", `must be token ids in [0, ${this.vocabSize - 1}]`, id);
      if (options.skipSpecialTokens && id < FAKE_SPECIALS.length) continue;
      text += piece;
    }
    return text;
  }

  tokenBytes(id: number): number[] {
    return Array.from(new TextEncoder().encode(this.decode([id])));
  }
}
