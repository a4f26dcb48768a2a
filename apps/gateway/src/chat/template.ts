// Chat messages → prompt text with the checkpoint's own Jinja chat template, the way transformers'
// apply_chat_template(messages, add_generation_prompt=True, tokenize=False) renders it.
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
