// POST /v1/completions through app.request(): OpenAI's response shape with drift, usage, request id,
// seed determinism, raw logprobs, echo, prompt forms, token budgets, stop sequences, and the drift log.
import { completionResponse } from "@tether/shared/schemas/openai-response";
import { describe, expect, it } from "vitest";
import { expectedDrift, logSoftmax64, post, testApp, TEXT_ONLY } from "../../../../test/support/gateway-app";

describe("POST /v1/completions", () => {
  it("answers in OpenAI's shape with drift on every choice, usage and x-tether-request-id", async () => {
    const { app, store } = testApp();
    const res = await post(app, "/v1/completions", { model: "fake-policy", prompt: "1+1=", max_tokens: 8, n: 2, seed: 3, user: "u1" });
    expect(res.status).toBe(200);
    const body = completionResponse.parse(await res.json());
    const requestId = res.headers.get("x-tether-request-id")!;
    expect(requestId).toMatch(/^[0-9a-f]{32}$/);
    expect(body.id).toBe(`cmpl-${requestId}`);
    expect(body.model).toBe("fake-policy");
    expect(body.choices.map((c) => c.index)).toEqual([0, 1]);
    for (const c of body.choices) {
      // exactly one logged candidate per returned choice carries its index, with the same kl_mean
      const rows = store.entries[0]!.samples.filter((s) => s.choiceIndex === c.index);
      expect(rows.map((r) => r.klMean)).toEqual([c.drift.kl_mean]);
    }
    expect(body.usage.prompt_tokens).toBe(4);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
    for (const c of body.choices) expect(c.drift.accepted).toBe(true);
    // drift log: one request row, every candidate's kl stats
    const entry = store.entries[0]!;
    expect(entry.request).toMatchObject({ id: requestId, endpoint: "completions", model: "fake-policy", status: 200, n: 2, endUser: "u1" });
    expect(entry.request).toMatchObject({ policyId: "fake-policy", referenceId: "fake-reference", guardMode: "hard", guardMaxKl: 0.05, promptTokens: 4 });
    expect(entry.request.completionTokens).toBe(body.usage.completion_tokens);
    expect(entry.samples.length).toBeGreaterThanOrEqual(8); // ≥ 1 round × n·k = 2·4
    expect(entry.samples.every((s) => s.layer === -1 && s.sketchScore === null)).toBe(true);
  });

  it("gives the same tokens for the same seed, and other tokens for another seed", async () => {
    const { app } = testApp();
    const ask = async (seed: number) => (await (await post(app, "/v1/completions", { prompt: "ab", max_tokens: 20, seed })).json()).choices[0].text;
    const a = await ask(11);
    expect(await ask(11)).toBe(a);
    expect(await ask(12)).not.toBe(a);
  });

  it("reports raw logprobs (before temperature/top-p), checked against a float64 log-softmax", async () => {
    const { app, policy } = testApp({ policy: TEXT_ONLY, reference: TEXT_ONLY });
    const res = await post(app, "/v1/completions", { prompt: "xy", max_tokens: 10, temperature: 0.6, top_p: 0.8, logprobs: 3, seed: 1 });
    const choice = (await res.json()).choices[0];
    const ids = policy.tokenizer.encode(choice.text);
    expect(choice.logprobs.tokens).toEqual(ids.map((id) => policy.tokenizer.decode([id])));
    expect(choice.logprobs.text_offset).toEqual(ids.map((_, i) => i));
    ids.forEach((id, t) => {
      const raw = logSoftmax64(policy.logitsAfter(t === 0 ? policy.tokenizer.encode("y")[0]! : ids[t - 1]!));
      expect(choice.logprobs.token_logprobs[t]).toBeCloseTo(raw[id]!, 10);
      const top = Object.values(choice.logprobs.top_logprobs[t] as Record<string, number>).sort((a, b) => b - a);
      expect(top[0]).toBeCloseTo(Math.max(...raw), 10); // the most likely token leads, with its raw value
    });
  });

  it("reports kl_mean equal to a float64 computation from both engines' logits", async () => {
    const { app, policy, reference } = testApp({ policy: TEXT_ONLY, reference: TEXT_ONLY });
    const body = await (await post(app, "/v1/completions", { prompt: "q", max_tokens: 15, seed: 5, drift_guard: { max_kl: 1 } })).json();
    const c = body.choices[0];
    const want = expectedDrift(policy, reference, policy.tokenizer.encode("q"), policy.tokenizer.encode(c.text));
    expect(c.drift.kl_mean).toBeCloseTo(want.kl_mean, 12);
    expect(c.drift.kl_max).toBeCloseTo(want.kl_max, 12);
    expect(c.drift.log_ratio).toBeCloseTo(want.log_ratio, 10);
  });

  it("accepts token-id prompts and prompt arrays, indexing choices prompt-major", async () => {
    const { app } = testApp();
    const ids = await (await post(app, "/v1/completions", { prompt: [22, 16, 22, 34], max_tokens: 5, seed: 2 })).json();
    const text = await (await post(app, "/v1/completions", { prompt: "1+1=", max_tokens: 5, seed: 2 })).json();
    expect(ids.choices[0].text).toBe(text.choices[0].text);
    const many = await (await post(app, "/v1/completions", { prompt: ["a", "b"], n: 2, max_tokens: 3 })).json();
    expect(many.choices.map((c: { index: number }) => c.index)).toEqual([0, 1, 2, 3]);
    const lists = await (await post(app, "/v1/completions", { prompt: [[70], [71, 72]], max_tokens: 3 })).json();
    expect(lists.usage.prompt_tokens).toBe(3);
  });

  it("echoes the prompt with its logprobs (the first token has none)", async () => {
    const { app, policy } = testApp({ policy: TEXT_ONLY, reference: TEXT_ONLY });
    const c = (await (await post(app, "/v1/completions", { prompt: "abc", max_tokens: 2, echo: true, logprobs: 0, seed: 1 })).json()).choices[0];
    expect(c.text.startsWith("abc")).toBe(true);
    expect(c.logprobs.tokens.slice(0, 3)).toEqual(["a", "b", "c"]);
    expect(c.logprobs.token_logprobs[0]).toBeNull();
    expect(c.logprobs.token_logprobs[1]).toBeCloseTo(logSoftmax64(policy.logitsAfter(70))[71]!, 10);
    expect(c.logprobs.text_offset).toEqual([0, 1, 2, 3, 4]);
  });

  it("defaults max_tokens to 16 within the window, and caps it at context − prompt", async () => {
    const { app } = testApp({ policy: TEXT_ONLY, reference: TEXT_ONLY });
    const short = await (await post(app, "/v1/completions", { prompt: "a" })).json();
    expect(short.usage.completion_tokens).toBe(16);
    const long = "x".repeat(120);
    const fits = await (await post(app, "/v1/completions", { prompt: long })).json();
    expect(fits.usage.completion_tokens).toBe(8); // 128 − 120
    expect(fits.choices[0].finish_reason).toBe("length");
    const tooMany = await post(app, "/v1/completions", { prompt: long, max_tokens: 9 });
    expect(tooMany.status).toBe(400);
    expect((await tooMany.json()).error).toMatchObject({ param: "max_tokens", code: "context_length_exceeded" });
  });

  it("stops at a stop string spanning several tokens and leaves it out", async () => {
    const { app } = testApp({ policy: TEXT_ONLY, reference: TEXT_ONLY });
    const free = (await (await post(app, "/v1/completions", { prompt: "z", max_tokens: 30, seed: 8 })).json()).choices[0].text as string;
    const stop = free.slice(12, 15);
    const cut = (await (await post(app, "/v1/completions", { prompt: "z", max_tokens: 30, seed: 8, stop: [stop, "never"] })).json()).choices[0];
    expect(cut.text).toBe(free.slice(0, free.indexOf(stop)));
    expect(cut.finish_reason).toBe("stop");
  });
});
