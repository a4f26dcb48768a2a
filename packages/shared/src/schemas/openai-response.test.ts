import { describe, expect, it } from "vitest";
import { chatCompletionChunk, chatCompletionResponse, completionChunk, completionResponse, drift, modelList } from "./openai-response";

const accepted = { kl_mean: 0.021, kl_max: 0.3, kl_sum: 0.168, log_ratio: -0.4, accepted: true, rounds: 1, fallback: null };
const usage = { prompt_tokens: 5, completion_tokens: 8, total_tokens: 13 };

describe("drift", () => {
  it("accepts an accepted candidate and a fallback", () => {
    expect(drift.parse(accepted)).toEqual(accepted);
    expect(drift.parse({ ...accepted, accepted: false, rounds: 2, fallback: "reference" }).fallback).toBe("reference");
  });

  it("ties fallback to accepted and bounds the KLs", () => {
    expect(drift.safeParse({ ...accepted, fallback: "least_kl" }).success).toBe(false);
    expect(drift.safeParse({ ...accepted, accepted: false }).success).toBe(false);
    expect(drift.safeParse({ ...accepted, accepted: false, fallback: "reject" }).success).toBe(false); // reject is a 422, never a choice
    expect(drift.safeParse({ ...accepted, kl_mean: -1e-9 }).success).toBe(false);
    expect(drift.safeParse({ ...accepted, rounds: -1 }).success).toBe(false);
    expect(drift.safeParse({ ...accepted, extra: 1 }).success).toBe(false);
  });
});

describe("responses", () => {
  it("parse a text_completion with legacy logprobs", () => {
    const body = {
      id: "cmpl-7f3a",
      object: "text_completion",
      created: 1_735_689_600,
      model: "tether-demo",
      choices: [
        {
          index: 0,
          text: " 2",
          logprobs: { tokens: [" ", "2"], token_logprobs: [-0.1, -0.05], top_logprobs: [{ " ": -0.1 }, { "2": -0.05, "3": -3.2 }], text_offset: [4, 5] },
          finish_reason: "length",
          drift: accepted,
        },
      ],
      usage,
    };
    expect(completionResponse.parse(body).choices[0]!.text).toBe(" 2");
    const badLengths = { ...body.choices[0]!.logprobs, text_offset: [4] };
    expect(completionResponse.safeParse({ ...body, choices: [{ ...body.choices[0], logprobs: badLengths }] }).success).toBe(false);
    expect(completionResponse.safeParse({ ...body, choices: [{ ...body.choices[0], finish_reason: "eos" }] }).success).toBe(false);
    expect(completionResponse.safeParse({ ...body, choices: [{ ...body.choices[0], drift: undefined }] }).success).toBe(false);
  });

  it("parse a chat.completion with logprobs", () => {
    const body = {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1_735_689_600,
      model: "tether-demo",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "4" },
          logprobs: { content: [{ token: "4", logprob: -0.01, bytes: [52], top_logprobs: [{ token: "4", logprob: -0.01, bytes: [52] }] }] },
          finish_reason: "stop",
          drift: accepted,
        },
      ],
      usage,
    };
    expect(chatCompletionResponse.parse(body).choices[0]!.message.content).toBe("4");
    expect(chatCompletionResponse.safeParse({ ...body, object: "chat.completion.chunk" }).success).toBe(false);
  });
});

describe("stream chunks", () => {
  it("text_completion chunks: partial text, then finish_reason + drift, then usage with no choices", () => {
    const head = { id: "cmpl-1", object: "text_completion", created: 1, model: "m" };
    expect(completionChunk.parse({ ...head, choices: [{ index: 0, text: "2", logprobs: null, finish_reason: null }] }).choices[0]!.drift).toBeUndefined();
    expect(completionChunk.parse({ ...head, choices: [{ index: 0, text: "", logprobs: null, finish_reason: "stop", drift: accepted }] }).choices[0]!.drift).toEqual(accepted);
    expect(completionChunk.parse({ ...head, choices: [], usage }).usage).toEqual(usage);
  });

  it("chat.completion.chunk deltas", () => {
    const head = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "m" };
    expect(chatCompletionChunk.parse({ ...head, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] })).toBeTruthy();
    expect(chatCompletionChunk.parse({ ...head, choices: [{ index: 0, delta: {}, finish_reason: "stop", drift: accepted }] }).choices[0]!.finish_reason).toBe("stop");
    expect(chatCompletionChunk.safeParse({ ...head, choices: [{ index: 0, delta: { role: "user" }, finish_reason: null }] }).success).toBe(false);
  });
});

describe("modelList", () => {
  it("parses GET /v1/models", () => {
    expect(modelList.parse({ object: "list", data: [{ id: "tether-demo", object: "model", created: 1, owned_by: "tether" }] }).data).toHaveLength(1);
  });
});
