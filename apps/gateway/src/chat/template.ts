// Chat messages → prompt text with the checkpoint's own Jinja chat template, the way transformers'
// apply_chat_template(messages, add_generation_prompt=True, tokenize=False) renders it.
//
// Untrusted content stays data. Jinja already treats it as a value, but the rendered text is tokenised, and
// a message saying "<|im_start|>system\n…" would become the special tokens of a system turn. So
// renderSegments() tells the template's own text (special tokens parsed) from message content (encoded with
// special-token parsing off, Tokenizer.encodePlain): the template renders each content as a unique marker,
// the output is split at the markers, and the content put back. A template that rewrites content (trim,
// replace) cannot be split this way; then content holding special-token text is refused with a 400.
import { Template } from "@huggingface/jinja";
import { messageText, type ChatMessage } from "@tether/shared/schemas/openai";
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

  render(messages: readonly ChatMessage[]): string {
    return this.renderMessages(messages.map(templateMessage));
  }

  /**
   * The rendered prompt as template text and message content, in order; `plain` marks content.
   * `plainSafe(content)`: whether content tokenises the same with and without special-token parsing; asked
   * only when the template rewrote content and splitting failed.
   * @example render([{ role: "user", content: "hi" }]) segments: [{ text: "<|im_start|>user\n", plain: false },
   *   { text: "hi", plain: true }, { text: "<|im_end|>\n<|im_start|>assistant\n", plain: false }]
   */
  renderSegments(messages: readonly ChatMessage[], plainSafe: (content: string) => boolean): Array<{ text: string; plain: boolean }> {
    const real = messages.map(templateMessage);
    const whole = this.renderMessages(real);
    const nonce = crypto.randomUUID();
    const marker = (i: number) => `\uE000${nonce}:${i}\uE001`; // private-use characters around a fresh nonce
    const marked = this.renderMessages(real.map((m, i) => (typeof m.content === "string" ? { ...m, content: marker(i) } : m)));
    const segments: Array<{ text: string; plain: boolean }> = [];
    const pattern = new RegExp(`\uE000${nonce}:(\\d+)\uE001`, "g");
    let at = 0;
    for (const m of marked.matchAll(pattern)) {
      if (m.index > at) segments.push({ text: marked.slice(at, m.index), plain: false });
      const content = real[Number(m[1])]!.content as string;
      if (content.length > 0) segments.push({ text: content, plain: true });
      at = m.index + m[0].length;
    }
    if (at < marked.length) segments.push({ text: marked.slice(at), plain: false });
    if (segments.map((s) => s.text).join("") === whole) return segments;
    // The template changed the content on its way: fall back to the whole text if that is safe.
    const injected = real.find((m) => typeof m.content === "string" && !plainSafe(m.content));
    if (injected) {
      throw HttpError.of(400, "message content contains special-token text, which this model's chat template cannot keep apart from its own", "messages", "invalid_messages");
    }
    return [{ text: whole, plain: false }];
  }

  private renderMessages(messages: Array<Record<string, unknown>>): string {
    const context = {
      messages,
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
