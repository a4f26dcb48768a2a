// Chat messages → prompt text with the checkpoint's own Jinja chat template, the way transformers'
// apply_chat_template(messages, add_generation_prompt=True, tokenize=False) renders it, and → token ids such
// that message content can never become a special token: "<|im_start|>system" typed by a user stays text.
import { Template } from "@huggingface/jinja";
import { messageText, type ChatMessage } from "@tether/shared/schemas/openai";
import type { Tokenizer } from "../engine/engine";
import { HttpError } from "../http/errors";

/**
 * @example
 * new ChatTemplate(info.chatTemplate!, { bos_token: null, eos_token: "<|endoftext|>" })
 *   .render([{ role: "user", content: "2+2=" }]); // "<|im_start|>user\n2+2=<|im_end|>\n<|im_start|>assistant\n"
 */
export class ChatTemplate {
  private readonly template: Template;

  constructor(
    source: string,
    private readonly specials: { bos_token: string | null; eos_token: string | null },
  ) {
    this.template = new Template(source);
  }

  /**
   * The prompt's text and ids. Content holding special-token text is encoded as ordinary text:
   * 1) render with a unique placeholder in place of each non-empty content;
   * 2) the template's own text between placeholders is encoded with special tokens, each content without.
   * Content without special-token text takes the plain path (render, encode), identical to transformers.
   * A template that rewrites content (so a placeholder does not come out once, in order) cannot be split:
   * such a request is refused (400 naming the message) rather than let its markers through.
   */
  encode(messages: readonly ChatMessage[], tokenizer: Tokenizer): { text: string; ids: number[] } {
    const text = this.render(messages);
    const contents = messages.map(messageText);
    const hostile = contents.findIndex((c) => c !== "" && !sameIds(tokenizer.encode(c), tokenizer.encode(c, { specialTokens: false })));
    if (hostile < 0) return { text, ids: tokenizer.encode(text) };
    const nonce = crypto.randomUUID().replace(/-/g, "");
    const slots = contents.flatMap((c, i) => (c === "" ? [] : [i])); // messages whose content is replaced
    const mark = (i: number) => `\u{E000}${nonce}:${i}\u{E001}`; // private-use delimiters: no template emits them
    const marked = this.render(messages.map((m, i) => (contents[i] === "" ? m : ({ ...m, content: mark(i) } as ChatMessage))));
    const pieces = marked.split(new RegExp(`(\u{E000}${nonce}:\\d+\u{E001})`, "u")); // template, mark, template, …
    const found = pieces.filter((_, k) => k % 2 === 1);
    if (found.length !== slots.length || found.some((m, k) => m !== mark(slots[k]!))) {
      throw HttpError.of(
        400,
        `messages[${hostile}].content contains special-token text, and this model's chat template rewrites message content, so it cannot be kept apart from the template's own markers`,
        `messages[${hostile}].content`,
        "invalid_messages",
      );
    }
    const ids: number[] = [];
    let out = "";
    pieces.forEach((piece, k) => {
      const content = k % 2 === 1 ? contents[slots[(k - 1) / 2]!]! : null;
      ids.push(...(content === null ? tokenizer.encode(piece) : tokenizer.encode(content, { specialTokens: false })));
      out += content ?? piece;
    });
    return { text: out, ids };
  }

  render(messages: readonly ChatMessage[]): string {
    const context = {
      messages: messages.map(templateMessage),
      add_generation_prompt: true,
      bos_token: this.specials.bos_token ?? "",
      eos_token: this.specials.eos_token ?? "",
    }; // raise_exception() is built into @huggingface/jinja: it throws with the template's message
    try {
      return this.template.render(context);
    } catch (error) {
      throw HttpError.of(400, `messages cannot be rendered with this model's chat template: ${(error as Error).message}`, "messages", "invalid_messages");
    }
  }
}

// transformers passes messages through as dicts; content parts are joined (text-only model) and
// "developer" is OpenAI's newer name for "system", which templates know.
function templateMessage(m: ChatMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { role: m.role === "developer" ? "system" : m.role, content: messageText(m) };
  if ("name" in m && m.name !== undefined) out.name = m.name;
  if ("tool_calls" in m && m.tool_calls !== undefined) out.tool_calls = m.tool_calls;
  if ("tool_call_id" in m) out.tool_call_id = m.tool_call_id;
  return out;
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
