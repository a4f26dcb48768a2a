// POST /v1/chat/completions: messages rendered with the checkpoint's ChatML template (as transformers'
// apply_chat_template with add_generation_prompt), OpenAI's chat shapes and chat logprobs.
import { chatCompletionResponse } from "@tether/shared/schemas/openai-response";
import { describe, expect, it } from "vitest";
import { FakeEngine } from "../../../../test/support/fake-engine";
import { logSoftmax64, post, testApp, TEXT_ONLY } from "../../../../test/support/gateway-app";

const messages = [
  { role: "developer", content: "be brief" },
  { role: "user", content: [{ type: "text", text: "2+" }, { type: "text", text: "2=" }] },
];
// What transformers renders for these messages (developer → system, text parts joined).
const RENDERED = "<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\n2+2=<|im_end|>\n<|im_start|>assistant\n";

describe("POST /v1/chat/completions", () => {
  it("renders the chat template with the generation prompt and answers in OpenAI's shape", async () => {
    const { app, policy, store } = testApp();
    const res = await post(app, "/v1/chat/completions", { model: "fake-policy", messages, max_tokens: 6, seed: 4 });
    expect(res.status).toBe(200);
    const body = chatCompletionResponse.parse(await res.json());
    expect(body.id).toBe(`chatcmpl-${res.headers.get("x-tether-request-id")}`);
    expect(body.usage.prompt_tokens).toBe(policy.tokenizer.encode(RENDERED).length);
    expect(body.choices[0]!.message.role).toBe("assistant");
    expect(body.choices[0]!.logprobs).toBeNull();
    expect(store.entries[0]!.request.endpoint).toBe("chat.completions");
    // the same prompt through /v1/completions gives the same tokens for the same seed
    const raw = await (await post(app, "/v1/completions", { prompt: RENDERED, max_tokens: 6, seed: 4 })).json();
    expect(body.choices[0]!.message.content).toBe(raw.choices[0].text);
  });

  it("defaults max_tokens to the room left in the context window", async () => {
    const { app, policy } = testApp({ policy: TEXT_ONLY, reference: TEXT_ONLY });
    const body = await (await post(app, "/v1/chat/completions", { messages: [{ role: "user", content: "hi" }] })).json();
    const prompt = policy.tokenizer.encode("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n").length;
    expect(body.usage.completion_tokens).toBe(128 - prompt);
    expect(body.choices[0].finish_reason).toBe("length");
  });

  it("stops at <|im_end|> (an eos id of the checkpoint) without showing it", async () => {
    const { app } = testApp({ policy: { eosBias: 3 }, reference: { eosBias: 3 } });
    const body = await (await post(app, "/v1/chat/completions", { messages: [{ role: "user", content: "x" }], seed: 1 })).json();
    expect(body.choices[0].finish_reason).toBe("stop");
    expect(body.choices[0].message.content).not.toContain("<|");
  });

  it("returns chat logprobs: token, raw logprob, bytes and top alternatives", async () => {
    const { app, policy } = testApp({ policy: TEXT_ONLY, reference: TEXT_ONLY });
    const res = await post(app, "/v1/chat/completions", { messages: [{ role: "user", content: "a" }], max_tokens: 4, logprobs: true, top_logprobs: 2, temperature: 0.5, seed: 2 });
    const choice = chatCompletionResponse.parse(await res.json()).choices[0]!;
    const content = choice.logprobs!.content!;
    expect(content.map((e) => e.token).join("")).toBe(choice.message.content);
    const ids = policy.tokenizer.encode(choice.message.content!);
    content.forEach((e, t) => {
      const prev = t === 0 ? policy.tokenizer.encode("\n")[0]! : ids[t - 1]!; // the prompt ends "assistant\n"
      const raw = logSoftmax64(policy.logitsAfter(prev));
      expect(e.logprob).toBeCloseTo(raw[ids[t]!]!, 10);
      expect(e.bytes).toEqual(Array.from(new TextEncoder().encode(e.token)));
      expect(e.top_logprobs).toHaveLength(2);
      expect(e.top_logprobs[0]!.logprob).toBeCloseTo(Math.max(...raw), 10);
    });
  });

  it("refuses a model without a chat template, and messages the template refuses", async () => {
    class NoTemplate extends FakeEngine {
      override readonly info = { ...new FakeEngine().info, chatTemplate: null };
    }
    const bare = testApp({ policyEngine: new NoTemplate({ seed: 7 }) });
    const res = await post(bare.app, "/v1/chat/completions", { messages: [{ role: "user", content: "hi" }] });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ param: "messages", code: "chat_template_missing" });

    class Strict extends FakeEngine {
      override readonly info = { ...new FakeEngine().info, chatTemplate: "{% if messages[0]['role'] != 'user' %}{{ raise_exception('first message must be from the user') }}{% endif %}x" };
    }
    const strict = testApp({ policyEngine: new Strict({ seed: 7 }) });
    const refused = await post(strict.app, "/v1/chat/completions", { messages: [{ role: "assistant", content: "hi" }] });
    expect(refused.status).toBe(400);
    const error = (await refused.json()).error;
    expect(error.param).toBe("messages");
    expect(error.message).toContain("first message must be from the user");
  });
});
