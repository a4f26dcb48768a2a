// SSE streaming: OpenAI's exact chunk shapes and order, data: [DONE], usage chunk, stream = non-stream for
// the same seed, stop strings across chunk boundaries, guarded streams, and cancellation by the client.
import { chatCompletionChunk, completionChunk } from "@tether/shared/schemas/openai-response";
import { describe, expect, it } from "vitest";
import { post, readSse, testApp, TEXT_ONLY, until } from "../../../../test/support/gateway-app";

type Chunk = { choices: Array<Record<string, any>>; usage?: unknown };

describe("streaming", () => {
  it("chat: role chunk, one chunk per token, closing chunk with drift, usage chunk, [DONE]", async () => {
    const { app } = testApp();
    const res = await post(app, "/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], max_tokens: 6, seed: 3, stream: true, stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(res.headers.get("x-tether-request-id")).toMatch(/^[0-9a-f]{32}$/);
    const events = await readSse(res);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => chatCompletionChunk.parse(e)) as Chunk[];
    expect(chunks[0]!.choices[0]).toEqual({ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null });
    const closing = chunks.at(-2)!.choices[0]!;
    expect(closing.delta).toEqual({});
    expect(closing.finish_reason).toMatch(/stop|length/);
    expect(closing.drift).toMatchObject({ accepted: true, rounds: 1 });
    const usage = chunks.at(-1)!;
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toMatchObject({ prompt_tokens: expect.any(Number) });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true); // as OpenAI with include_usage
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    const plain = await (await post(app, "/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], max_tokens: 6, seed: 3 })).json();
    expect(text).toBe(plain.choices[0].message.content);
    expect(closing.drift).toEqual(plain.choices[0].drift);
  });

  it("completions, guard off: live chunks with logprobs, n choices interleaved, no usage unless asked", async () => {
    const { app, policy } = testApp({ policy: TEXT_ONLY, reference: TEXT_ONLY });
    const body = { prompt: "ab", max_tokens: 5, n: 2, seed: 9, logprobs: 1, drift_guard: false };
    const events = await readSse(await post(app, "/v1/completions", { ...body, stream: true }));
    const chunks = events.slice(0, -1).map((e) => completionChunk.parse(e)) as Chunk[];
    expect(chunks.every((c) => c.usage === undefined && c.choices.length === 1)).toBe(true);
    const plain = await (await post(app, "/v1/completions", body)).json();
    for (const index of [0, 1]) {
      const mine = chunks.filter((c) => c.choices[0]!.index === index).map((c) => c.choices[0]!);
      expect(mine.map((c) => c.text).join("")).toBe(plain.choices[index].text);
      expect(mine.slice(0, -1).every((c) => c.logprobs.tokens.length === 1 && c.finish_reason === null)).toBe(true);
      expect(mine.at(-1)).toMatchObject({ text: "", logprobs: null, finish_reason: "length", drift: { rounds: 0, accepted: true } });
      expect(mine.slice(0, -1).map((c) => c.logprobs.token_logprobs[0])).toEqual(plain.choices[index].logprobs.token_logprobs);
    }
    expect(policy.openSessions).toBe(0);
  });

  it("never sends any part of a stop string, even when it spans chunk boundaries", async () => {
    const { app } = testApp({ policy: TEXT_ONLY, reference: TEXT_ONLY });
    const base = { prompt: "z", max_tokens: 40, seed: 8, drift_guard: false };
    const free = (await (await post(app, "/v1/completions", base)).json()).choices[0].text as string;
    const stop = free.slice(20, 24); // four tokens, so four chunks if it were sent
    const events = await readSse(await post(app, "/v1/completions", { ...base, stop, stream: true }));
    const pieces = (events.slice(0, -1) as Chunk[]).map((c) => c.choices[0]!);
    expect(pieces.map((c) => c.text).join("")).toBe(free.slice(0, free.indexOf(stop)));
    expect(pieces.at(-1)!.finish_reason).toBe("stop");
  });

  it("echo streams the prompt first; a guarded stream sends the accepted candidate", async () => {
    const { app } = testApp();
    const events = (await readSse(await post(app, "/v1/completions", { prompt: "q=", max_tokens: 4, echo: true, seed: 2, stream: true }))).slice(0, -1) as Chunk[];
    expect(events[0]!.choices[0]).toMatchObject({ text: "q=", finish_reason: null });
    const plain = await (await post(app, "/v1/completions", { prompt: "q=", max_tokens: 4, echo: true, seed: 2 })).json();
    expect(events.map((c) => c.choices[0]!.text).join("")).toBe(plain.choices[0].text);
    expect(events.at(-1)!.choices[0]!.drift).toEqual(plain.choices[0].drift);
  });

  it("a guard rejection before the first chunk is a plain 422; a full drift log ends the stream without [DONE]", async () => {
    const { app, store } = testApp();
    const rejected = await post(app, "/v1/completions", { prompt: "a", max_tokens: 8, stream: true, drift_guard: { max_kl: 1e-9, fallback: "reject" } });
    expect(rejected.status).toBe(422);
    expect((await rejected.json()).error).toMatchObject({ type: "drift_error", code: "drift_limit_exceeded" });
    store.full = true;
    const events = await readSse(await post(app, "/v1/completions", { prompt: "a", max_tokens: 3, stream: true }));
    expect(events).not.toContain("[DONE]");
    expect(events.at(-1)).toMatchObject({ error: { code: "drift_log_full" } });
  });

  it("stops generating when the client cancels the stream", async () => {
    const { app, store, policy } = testApp({ policy: { ...TEXT_ONLY, delayMs: 5 }, reference: TEXT_ONLY });
    const res = await post(app, "/v1/completions", { prompt: "a", max_tokens: 100, stream: true, drift_guard: false });
    const reader = res.body!.getReader();
    await reader.read(); // first chunk
    await reader.cancel();
    await until(() => store.entries.length === 1);
    expect(store.entries[0]!.request).toMatchObject({ status: 499, errorCode: "client_closed_request" });
    expect(policy.openSessions).toBe(0);
    expect(policy.calls.filter((c) => c.op === "step").length).toBeLessThan(50);
  });

  it("stops generating when the request's signal aborts (non-streaming)", async () => {
    const { app, store, policy } = testApp({ policy: { ...TEXT_ONLY, delayMs: 5 }, reference: TEXT_ONLY });
    const controller = new AbortController();
    const pending = post(app, "/v1/completions", { prompt: "a", max_tokens: 100 }, { signal: controller.signal });
    await until(() => policy.calls.length > 2);
    controller.abort();
    await pending.catch(() => undefined);
    await until(() => store.entries.length === 1);
    expect(store.entries[0]!.request.status).toBe(499);
    expect(policy.openSessions).toBe(0);
    expect(policy.calls.filter((c) => c.op === "step").length).toBeLessThan(50);
  });
});
