import { describe, expect, it } from "vitest";
import { chatCompletionRequest, completionRequest, messageText, promptList } from "./openai";
import { zodIssueToOpenAIError } from "./openai-error";

/** The first problem as the gateway would report it: [param, message]. */
function firstProblem(schema: typeof completionRequest | typeof chatCompletionRequest, body: unknown): [string | null, string] {
  const result = schema.safeParse(body);
  if (result.success) throw new Error(`accepted: ${JSON.stringify(body)}`);
  const { error } = zodIssueToOpenAIError(result.error).body;
  return [error.param, error.message];
}

const completion = { model: "tether-demo", prompt: "1+1=" };
const chat = { model: "tether-demo", messages: [{ role: "user", content: "hi" }] };

describe("bodies the official openai npm client sends", () => {
  it("completions.create({ model, prompt, max_tokens, temperature })", () => {
    const r = completionRequest.parse(JSON.parse('{"model":"tether-demo","prompt":"Say this is a test","max_tokens":7,"temperature":0}'));
    expect(r).toMatchObject({ prompt: "Say this is a test", max_tokens: 7, temperature: 0, top_p: 1, n: 1, stream: false, echo: false, logprobs: null, stop: [] });
  });

  it("completions.create with stream, stream_options, stop, seed, logprobs, echo, user, best_of = n", () => {
    const body = JSON.parse(
      '{"model":"tether-demo","prompt":["a","b"],"stream":true,"stream_options":{"include_usage":true},"stop":["\\n","###"],"seed":-3,"logprobs":5,"echo":true,"user":"user-1234","best_of":2,"n":2,"suffix":null,"presence_penalty":0,"frequency_penalty":0,"logit_bias":{}}',
    );
    const r = completionRequest.parse(body);
    expect(r).toMatchObject({ stream: true, stream_options: { include_usage: true }, stop: ["\n", "###"], seed: -3, logprobs: 5, echo: true, n: 2 });
  });

  it("chat.completions.create with developer/system/user/assistant/tool turns, content parts, tools (ignored)", () => {
    const body = JSON.parse(`{
      "model": "tether-demo",
      "messages": [
        {"role": "developer", "content": "You are a helpful assistant."},
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": [{"type": "text", "text": "What is "}, {"type": "text", "text": "2+2?"}], "name": "ann"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{\\"a\\":2,\\"b\\":2}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "4"},
        {"role": "assistant", "content": "4", "refusal": null}
      ],
      "tools": [{"type": "function", "function": {"name": "add", "parameters": {"type": "object", "properties": {}}}}],
      "tool_choice": "auto",
      "parallel_tool_calls": true,
      "response_format": {"type": "text"},
      "max_completion_tokens": 50,
      "logprobs": true,
      "top_logprobs": 2,
      "stream": true,
      "stream_options": {"include_usage": true},
      "metadata": {"run": "42"},
      "store": false,
      "service_tier": "auto",
      "user": "user-1234",
      "seed": 7
    }`);
    const r = chatCompletionRequest.parse(body);
    expect(r.messages).toHaveLength(6);
    expect(r.max_tokens).toBe(50);
    expect(r.top_logprobs).toBe(2);
    expect(r.logprobs).toBe(true);
    expect(messageText(r.messages[2]!)).toBe("What is 2+2?");
    expect(messageText(r.messages[3]!)).toBe("");
    // ignored fields are dropped from the parsed value
    expect(r).not.toHaveProperty("tools");
    expect(r).not.toHaveProperty("metadata");
  });

  it("an SDK wrapper's neutral defaults (penalties 0, empty logit_bias, nulls)", () => {
    const r = chatCompletionRequest.parse({ ...chat, temperature: null, top_p: null, n: null, stop: null, frequency_penalty: 0, presence_penalty: 0, logit_bias: {}, max_tokens: null });
    expect(r).toMatchObject({ temperature: 1, top_p: 1, n: 1, stop: [], max_tokens: null, top_logprobs: 0, logprobs: false });
  });
});

describe("ranges, at their boundaries", () => {
  it("temperature ∈ [0, 2]", () => {
    expect(firstProblem(completionRequest, { ...completion, temperature: -0.01 })).toEqual(["temperature", "temperature must be a number in [0, 2] (got -0.01)"]);
    expect(completionRequest.parse({ ...completion, temperature: 0 }).temperature).toBe(0);
    expect(completionRequest.parse({ ...completion, temperature: 2 }).temperature).toBe(2);
    expect(firstProblem(chatCompletionRequest, { ...chat, temperature: 2.01 })[0]).toBe("temperature");
  });

  it("top_p ∈ (0, 1], min_p ∈ [0, 1], top_k ≥ −1", () => {
    expect(firstProblem(completionRequest, { ...completion, top_p: 0 })).toEqual(["top_p", "top_p must be a number in (0, 1] (got 0)"]);
    expect(completionRequest.parse({ ...completion, top_p: 1 }).top_p).toBe(1);
    expect(firstProblem(completionRequest, { ...completion, top_p: 1.5 })[0]).toBe("top_p");
    expect(firstProblem(completionRequest, { ...completion, min_p: 1.1 })[0]).toBe("min_p");
    expect(completionRequest.parse({ ...completion, top_k: -1 }).top_k).toBe(-1);
    expect(firstProblem(completionRequest, { ...completion, top_k: -2 })[0]).toBe("top_k");
  });

  it("n ≥ 1, max_tokens ≥ 0 (completions) / ≥ 1 (chat), logprobs 0..20", () => {
    expect(firstProblem(completionRequest, { ...completion, n: 0 })).toEqual(["n", "n must be an integer ≥ 1 (got 0)"]);
    expect(firstProblem(completionRequest, { ...completion, n: 1.5 })[0]).toBe("n");
    expect(completionRequest.parse({ ...completion, max_tokens: 0, echo: true }).max_tokens).toBe(0);
    expect(firstProblem(chatCompletionRequest, { ...chat, max_tokens: 0 })[0]).toBe("max_tokens");
    expect(completionRequest.parse({ ...completion, logprobs: 20 }).logprobs).toBe(20);
    expect(firstProblem(completionRequest, { ...completion, logprobs: 21 })).toEqual(["logprobs", "logprobs must be an integer in [0, 20] (got 21)"]);
    expect(firstProblem(chatCompletionRequest, { ...chat, logprobs: true, top_logprobs: 21 })[0]).toBe("top_logprobs");
  });

  it("stop: a string or up to 4 non-empty strings", () => {
    expect(completionRequest.parse({ ...completion, stop: "\n" }).stop).toEqual(["\n"]);
    expect(completionRequest.parse({ ...completion, stop: ["a", "b", "c", "d"] }).stop).toHaveLength(4);
    expect(firstProblem(completionRequest, { ...completion, stop: ["a", "b", "c", "d", "e"] })).toEqual(["stop", "stop must have at most 4 stop sequences"]);
    expect(firstProblem(completionRequest, { ...completion, stop: 5 })[1]).toBe("stop must be a string or an array of up to 4 non-empty strings");
    expect(firstProblem(completionRequest, { ...completion, stop: [""] })[0]).toBe("stop[0]");
  });
});

describe("prompt", () => {
  it("accepts text, texts, token ids and token-id lists", () => {
    expect(promptList(completionRequest.parse({ model: "m", prompt: "x" }).prompt)).toEqual(["x"]);
    expect(promptList(completionRequest.parse({ model: "m", prompt: ["x", "y"] }).prompt)).toEqual(["x", "y"]);
    expect(promptList(completionRequest.parse({ model: "m", prompt: [1, 2, 3] }).prompt)).toEqual([[1, 2, 3]]);
    expect(promptList(completionRequest.parse({ model: "m", prompt: [[1, 2], [3]] }).prompt)).toEqual([[1, 2], [3]]);
  });

  it("names what is wrong with it", () => {
    expect(firstProblem(completionRequest, { model: "m" })).toEqual(["prompt", "prompt is required"]);
    expect(firstProblem(completionRequest, { model: "m", prompt: [] })[0]).toBe("prompt");
    expect(firstProblem(completionRequest, { model: "m", prompt: [1, -2] })).toEqual(["prompt[1]", "prompt[1] must be an integer in [0, 16777216] (got -2)"]);
    expect(firstProblem(completionRequest, { model: "m", prompt: [[1], []] })).toEqual(["prompt[1]", "prompt[1] must not be an empty token list"]);
    expect(firstProblem(completionRequest, { model: "m", prompt: { text: "x" } })[1]).toBe(
      "prompt must be a string, an array of strings, an array of token ids or an array of token-id arrays",
    );
  });
});

describe("chat messages", () => {
  it("name the offending message and field", () => {
    expect(firstProblem(chatCompletionRequest, { model: "m", messages: [{ role: "user", content: "a" }, { role: "bot", content: "b" }] })).toEqual([
      "messages[1].role",
      'messages[1].role must be one of "system", "developer", "user", "assistant", "tool" (got "bot")',
    ]);
    expect(firstProblem(chatCompletionRequest, { model: "m", messages: [{ content: "b" }] })).toEqual(["messages[0].role", "messages[0].role is required"]);
    expect(firstProblem(chatCompletionRequest, { model: "m", messages: [] })).toEqual(["messages", "messages must contain at least one message"]);
    expect(firstProblem(chatCompletionRequest, { model: "m" })).toEqual(["messages", "messages is required"]);
    expect(firstProblem(chatCompletionRequest, { messages: [{ role: "user", content: "a" }] })).toEqual(["model", "model is required"]);
    expect(firstProblem(chatCompletionRequest, { model: "m", messages: [{ role: "tool", content: "4" }] })).toEqual(["messages[0].tool_call_id", "messages[0].tool_call_id is required"]);
    expect(firstProblem(chatCompletionRequest, { model: "m", messages: [{ role: "user", content: 5 }] })[0]).toBe("messages[0].content");
    expect(firstProblem(chatCompletionRequest, { model: "m", messages: ["hi"] })).toEqual(["messages[0]", "messages[0] must be an object with a role and content"]);
  });

  it("refuse non-text content parts by name", () => {
    const image = { role: "user", content: [{ type: "text", text: "what is this?" }, { type: "image_url", image_url: { url: "https://x/y.png" } }] };
    expect(firstProblem(chatCompletionRequest, { model: "m", messages: [image] })).toEqual([
      "messages[0].content[1].type",
      'messages[0].content[1].type must be "text" (only text content parts are supported; got "image_url")',
    ]);
  });
});

describe("fields accepted only at their neutral value", () => {
  it("refuse penalties, logit_bias, best_of, suffix, structured output and forced tools", () => {
    expect(firstProblem(completionRequest, { ...completion, presence_penalty: 0.5 })).toEqual(["presence_penalty", "presence_penalty must be 0 (penalties are not supported; got 0.5)"]);
    expect(firstProblem(chatCompletionRequest, { ...chat, frequency_penalty: -1 })[0]).toBe("frequency_penalty");
    expect(firstProblem(chatCompletionRequest, { ...chat, frequency_penalty: 3 })[1]).toBe("frequency_penalty must be a number in [-2, 2] (got 3)");
    expect(firstProblem(chatCompletionRequest, { ...chat, logit_bias: { "50256": -100 } })[0]).toBe("logit_bias");
    expect(firstProblem(completionRequest, { ...completion, best_of: 3 })[0]).toBe("best_of");
    expect(firstProblem(completionRequest, { ...completion, suffix: "end" })[0]).toBe("suffix");
    expect(firstProblem(chatCompletionRequest, { ...chat, response_format: { type: "json_object" } })[0]).toBe("response_format");
    expect(firstProblem(chatCompletionRequest, { ...chat, tool_choice: "required" })[0]).toBe("tool_choice");
    expect(firstProblem(chatCompletionRequest, { ...chat, top_logprobs: 3 })).toEqual(["top_logprobs", "top_logprobs needs logprobs: true"]);
    expect(firstProblem(chatCompletionRequest, { ...chat, max_tokens: 10, max_completion_tokens: 20 })[0]).toBe("max_completion_tokens");
  });
});

describe("drift_guard extension", () => {
  it("accepts false, a partial object, and rejects bad or unknown keys by path", () => {
    expect(completionRequest.parse({ ...completion, drift_guard: false }).drift_guard).toBe(false);
    expect(chatCompletionRequest.parse({ ...chat, drift_guard: { max_kl: 0.05, mode: "soft" } }).drift_guard).toEqual({ max_kl: 0.05, mode: "soft" });
    expect(completionRequest.parse(completion).drift_guard).toBeUndefined();
    expect(firstProblem(completionRequest, { ...completion, drift_guard: { candidates: 0 } })).toEqual([
      "drift_guard.candidates",
      "drift_guard.candidates must be an integer ≥ 1 (got 0)",
    ]);
    expect(firstProblem(completionRequest, { ...completion, drift_guard: { max_kl: -1 } })[0]).toBe("drift_guard.max_kl");
    expect(firstProblem(completionRequest, { ...completion, drift_guard: { fallback: "maybe" } })[0]).toBe("drift_guard.fallback");
    expect(firstProblem(completionRequest, { ...completion, drift_guard: { max_k1: 0.1 } })).toEqual(["drift_guard.max_k1", "drift_guard.max_k1 is not a known option"]);
    expect(firstProblem(completionRequest, { ...completion, drift_guard: "off" })[1]).toMatch(/^drift_guard must be false, true or an object/);
  });
});
