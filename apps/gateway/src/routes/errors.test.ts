// Every client mistake is a 4xx in OpenAI's error shape naming the parameter; capacity gives 429/503/504;
// our own bugs give a 500 in the same shape and the process keeps serving.
import { openAIErrorBody } from "@tether/shared/schemas/openai-error";
import { describe, expect, it } from "vitest";
import { FakeEngine } from "../../../../test/support/fake-engine";
import { post, testApp, until } from "../../../../test/support/gateway-app";

async function error(res: Response | Promise<Response>, status: number) {
  const r = await res;
  expect(r.status).toBe(status);
  expect(r.headers.get("x-tether-request-id")).toBeTruthy();
  return openAIErrorBody.parse(await r.json()).error;
}

describe("client mistakes", () => {
  const { app, store, errors } = testApp({ config: { limits: { max_n: 4, max_candidates: 6, max_body_bytes: 2048, max_prompts: 2 } } });
  const raw = (body: BodyInit, headers: Record<string, string> = {}) => app.request("/v1/completions", { method: "POST", body, headers: { "content-type": "application/json", ...headers } });

  it.each([
    [{ prompt: "a", temperature: -0.5 }, "temperature", "invalid_value"],
    [{ prompt: "a", top_p: 0 }, "top_p", "invalid_value"],
    [{ prompt: "a", top_p: 1.5 }, "top_p", "invalid_value"],
    [{ prompt: "a", max_tokens: "ten" }, "max_tokens", "invalid_value"],
    [{ prompt: 5 }, "prompt", "invalid_value"],
    [{}, "prompt", "missing_required_parameter"],
    [{ prompt: "a", n: 5 }, "n", "invalid_value"],
    [{ prompt: "a", drift_guard: { candidates: 7 } }, "drift_guard.candidates", "invalid_value"],
    [{ prompt: "a", drift_guard: { max_kl: -1 } }, "drift_guard.max_kl", "invalid_value"],
    [{ prompt: "a", drift_guard: { mode: "medium" } }, "drift_guard.mode", "invalid_value"],
    [{ prompt: "a", stop: ["a", "b", "c", "d", "e"] }, "stop", "invalid_value"],
    [{ prompt: ["a", "b", "c"] }, "prompt", "invalid_value"],
    [{ prompt: [1, 100] }, "prompt", "invalid_value"],
    [{ prompt: "" }, "prompt", "invalid_value"],
    [{ prompt: "x".repeat(129) }, "prompt", "context_length_exceeded"],
    [{ prompt: "a", logit_bias: { "5": 1 } }, "logit_bias", "invalid_value"],
  ])("400 for %j, naming %s", async (body, param, code) => {
    const e = await error(post(app, "/v1/completions", body), 400);
    expect(e).toMatchObject({ type: "invalid_request_error", param, code });
    expect(e.message).toContain(param.split(".")[0]);
  });

  it("400 for chat mistakes", async () => {
    expect(await error(post(app, "/v1/chat/completions", { messages: [] }), 400)).toMatchObject({ param: "messages" });
    expect(await error(post(app, "/v1/chat/completions", { messages: [{ role: "robot", content: "x" }] }), 400)).toMatchObject({ param: "messages[0].role" });
    expect(await error(post(app, "/v1/chat/completions", { messages: [{ role: "user", content: "x" }], top_logprobs: 2 }), 400)).toMatchObject({ param: "top_logprobs" });
  });

  it("404 for an unknown model, with the model named", async () => {
    expect(await error(post(app, "/v1/completions", { model: "gpt-4", prompt: "a" }), 404)).toMatchObject({ param: "model", code: "model_not_found", type: "not_found_error" });
  });

  it("400 for malformed JSON, a non-object body and invalid UTF-8", async () => {
    expect(await error(raw("{\"prompt\": "), 400)).toMatchObject({ code: "invalid_json" });
    expect(await error(raw(""), 400)).toMatchObject({ code: "invalid_json" });
    expect(await error(raw("[1, 2]"), 400)).toMatchObject({ code: "invalid_value", param: null });
    expect(await error(raw(Uint8Array.of(0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d)), 400)).toMatchObject({ code: "invalid_encoding" });
  });

  it("413 for a body over max_body_bytes, declared or streamed without content-length", async () => {
    const big = JSON.stringify({ prompt: "a".repeat(3000) });
    expect(await error(raw(big), 413)).toMatchObject({ code: "request_too_large" });
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode("x".repeat(500)));
        c.close();
      },
    });
    const res = await app.request("/v1/completions", { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(res.headers.get("content-length")).toBeNull();
    expect(await error(res, 413)).toMatchObject({ code: "request_too_large" });
  });

  it("404 for an unknown route, 405 with Allow for a wrong method", async () => {
    expect(await error(app.request("/v1/embeddings", { method: "POST" }), 404)).toMatchObject({ code: "not_found" });
    const wrong = await app.request("/v1/completions");
    expect(wrong.headers.get("allow")).toBe("POST");
    expect(await error(wrong, 405)).toMatchObject({ code: "method_not_allowed" });
    expect(await error(app.request("/healthz", { method: "DELETE" }), 405)).toMatchObject({ code: "method_not_allowed" });
  });

  it("logs refused requests too, and never logged an internal error", () => {
    expect(store.entries.length).toBeGreaterThan(20);
    expect(store.entries.every((e) => e.request.status >= 400 && e.request.errorCode !== null && e.samples.length === 0)).toBe(true);
    expect(errors).toEqual([]);
  });
});

describe("drift guard refusals", () => {
  it("422 drift_limit_exceeded with fallback reject; the candidates are still logged", async () => {
    const { app, store } = testApp();
    const e = await error(post(app, "/v1/completions", { prompt: "a", max_tokens: 8, drift_guard: { max_kl: 1e-9, fallback: "reject", candidates: 3, max_rounds: 2 } }), 422);
    expect(e).toMatchObject({ type: "drift_error", code: "drift_limit_exceeded", param: "drift_guard" });
    expect(store.entries[0]!.request).toMatchObject({ status: 422, errorCode: "drift_limit_exceeded" });
    expect(store.entries[0]!.samples).toHaveLength(6);
  });

  it("400 when a request may not turn the guard off or loosen it", async () => {
    const { app } = testApp({ config: { drift_guard: { max_kl: 0.05, allow_disable: false } } });
    expect(await error(post(app, "/v1/completions", { prompt: "a", drift_guard: false }), 400)).toMatchObject({ param: "drift_guard" });
    expect(await error(post(app, "/v1/completions", { prompt: "a", drift_guard: { max_kl: 0.5 } }), 400)).toMatchObject({ param: "drift_guard.max_kl" });
  });
});

describe("capacity and failures", () => {
  it("429 with Retry-After when the queue is full", async () => {
    const { app, policy } = testApp({ policy: { delayMs: 10 }, config: { limits: { max_concurrent: 1, queue_size: 0 } } });
    const first = post(app, "/v1/completions", { prompt: "a", max_tokens: 5 });
    await until(() => policy.calls.length > 0);
    const busy = await post(app, "/v1/completions", { prompt: "a", max_tokens: 5 });
    expect(Number(busy.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await error(busy, 429)).toMatchObject({ type: "rate_limit_error", code: "queue_full" });
    expect((await first).status).toBe(200);
    expect((await post(app, "/v1/completions", { prompt: "a", max_tokens: 1 })).status).toBe(200);
  });

  it("504 when generation passes request_timeout_s", async () => {
    const { app, policy } = testApp({ policy: { delayMs: 20 }, config: { limits: { request_timeout_s: 0.1 } } });
    expect(await error(post(app, "/v1/completions", { prompt: "a", max_tokens: 100, drift_guard: false }), 504)).toMatchObject({ code: "request_timeout" });
    expect(policy.openSessions).toBe(0);
  });

  it("503 when the drift log is full: nothing is acknowledged", async () => {
    const { app, store } = testApp();
    store.full = true;
    const e = await error(post(app, "/v1/completions", { prompt: "a", max_tokens: 2 }), 503);
    expect(e).toMatchObject({ type: "server_error", code: "drift_log_full" });
  });

  it("500 in OpenAI's shape for an engine failure, and the next request is served", async () => {
    class Flaky extends FakeEngine {
      fail = true;
      override async startDecode(...args: Parameters<FakeEngine["startDecode"]>) {
        if (this.fail) throw new Error("onnxruntime: out of memory");
        return super.startDecode(...args);
      }
    }
    const flaky = new Flaky({ seed: 7, drift: 0.3 });
    const { app, errors, store } = testApp({ policyEngine: flaky });
    const e = await error(post(app, "/v1/completions", { prompt: "a", max_tokens: 2 }), 500);
    expect(e).toMatchObject({ type: "server_error", code: "internal_error" });
    expect(e.message).not.toContain("onnxruntime"); // internals stay in the log
    expect(errors).toHaveLength(1);
    expect(store.entries[0]!.request.status).toBe(500);
    flaky.fail = false;
    expect((await post(app, "/v1/completions", { prompt: "a", max_tokens: 2 })).status).toBe(200);
  });
});
