// Hostile input, generated (fast-check): random JSON, wrong types, unicode edge cases (lone surrogates, NUL,
// RTL overrides, emoji, combining marks, template syntax), deep nesting, huge numbers, NaN/Infinity, a 10 MB
// body and a body that trickles in. Whatever arrives, the request schemas never throw and the HTTP layer
// answers with an OpenAI-shaped 4xx or a valid completion — never a 500, never a hang (per-test timeouts).
import fc from "fast-check";
import { chatCompletionRequest, completionRequest } from "@tether/shared/schemas/openai";
import { openAIErrorBody, zodIssueToOpenAIError } from "@tether/shared/schemas/openai-error";
import { chatCompletionResponse, completionResponse, completionChunk, chatCompletionChunk } from "@tether/shared/schemas/openai-response";
import { describe, expect, it } from "vitest";
import { readSse, testApp, TEXT_ONLY } from "../../../test/support/gateway-app";

const MODEL = "fake-policy";
const NASTY = ["\uD800", "\uDFFF", "a\uDC00b", "\u0000", "\u202E12+7=", "\u200F\u05E9\u05DC\u05D5\u05DD", "😀👩‍👩‍👧", "e\u0301\u0301\u0301", "\uFEFF", "{{ messages }}", "{% for m in messages %}x{% endfor %}", "<|im_start|>system\n", "<|endoftext|>", "<|unk|>", "\r\n\t"];
const nastyString = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ unit: fc.constantFrom(...NASTY, "1", "+", "=", " ") }),
  fc.string({ unit: "binary", maxLength: 40 }), // any code point, surrogate pairs included
  fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), maxLength: 4 }), // lone surrogates
);
const weirdNumber = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(1e308, -1e308, 2 ** 53 + 2, -0, 5e-324, 1e21), fc.bigInt().map((b) => Number(b)));
const anyValue = fc.oneof(nastyString, weirdNumber, fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 3 }));

/** Mostly a valid value, sometimes anything at all. */
const mostly = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ arbitrary: valid, weight: 15 }, { arbitrary: anyValue, weight: 1 });
const shortNasty = fc.oneof(fc.constantFrom(...NASTY), fc.string({ unit: fc.constantFrom(...NASTY, "1", "+", "=", " "), maxLength: 3 }), fc.string({ unit: "binary", maxLength: 12 }));

/** Requests close to valid: each field usually right, sometimes of a wrong type or out of range. */
const nearlyValid = (chat: boolean) =>
  fc.record<Record<string, unknown>>(
    {
      model: mostly(fc.constant(MODEL)),
      ...(chat
        ? { messages: mostly(fc.array(fc.record({ role: mostly(fc.constantFrom("system", "user", "assistant", "developer")), content: mostly(shortNasty) }), { minLength: 1, maxLength: 3 })) }
        : { prompt: mostly(fc.oneof(shortNasty.filter((p) => p !== ""), fc.array(fc.integer({ min: 4, max: 99 }), { minLength: 1, maxLength: 6 }), fc.array(shortNasty.filter((p) => p !== ""), { minLength: 1, maxLength: 2 }))) }),
      max_tokens: mostly(fc.integer({ min: chat ? 1 : 0, max: 4 })),
      temperature: mostly(fc.double({ min: 0, max: 2, noNaN: true })),
      top_p: mostly(fc.double({ min: 0.01, max: 1, noNaN: true })),
      n: mostly(fc.integer({ min: 1, max: 2 })),
      stop: mostly(fc.array(shortNasty.filter((p) => p !== ""), { maxLength: 2 })),
      seed: mostly(fc.integer()),
      logprobs: chat ? mostly(fc.boolean()) : mostly(fc.integer({ min: 0, max: 3 })),
      stream: mostly(fc.boolean()),
      drift_guard: mostly(
        fc.oneof(
          fc.constant(false),
          fc.record({ candidates: fc.integer({ min: 1, max: 3 }), max_kl: fc.double({ min: 0.001, max: 1, noNaN: true }), mode: fc.constantFrom("hard", "soft"), fallback: fc.constantFrom("reference", "least_kl", "reject") }, { requiredKeys: [] }),
        ),
      ),
      repetition_penalty: fc.oneof({ arbitrary: fc.constant(1), weight: 5 }, { arbitrary: weirdNumber, weight: 1 }),
      metadata: fc.jsonValue({ maxDepth: 4 }),
    },
    { requiredKeys: chat ? ["model", "messages"] : ["model", "prompt"] },
  );

describe("request schemas under hostile input", () => {
  it("never throw; a refusal always converts to an OpenAI 400 naming a field", () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything(), nearlyValid(false), nearlyValid(true)), (body) => {
        for (const schema of [completionRequest, chatCompletionRequest]) {
          const parsed = schema.safeParse(body);
          if (parsed.success) continue;
          const error = zodIssueToOpenAIError(parsed.error);
          expect(error.status).toBe(400);
          expect(openAIErrorBody.parse(error.body).error.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("the HTTP layer under hostile input", () => {
  const { app, errors } = testApp({ policy: TEXT_ONLY, reference: TEXT_ONLY, config: { limits: { max_body_bytes: 16 * 1024 * 1024, max_n: 3 }, drift_guard: { max_kl: 0.05, allow_disable: true, max_rounds: 2 } } });
  const send = (path: string, body: BodyInit, type = "application/json") => app.request(path, { method: "POST", body, headers: { "content-type": type } });

  /** 200 with a valid completion (JSON or SSE) or an OpenAI-shaped 4xx; anything else fails the property. */
  async function expectWellFormed(res: Response, chat: boolean): Promise<void> {
    expect(res.status === 200 || (res.status >= 400 && res.status < 500), `status ${res.status}`).toBe(true);
    if (res.status !== 200) {
      openAIErrorBody.parse(await res.json());
      return;
    }
    if ((res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
      const events = await readSse(res);
      expect(events.at(-1)).toBe("[DONE]");
      for (const e of events.slice(0, -1)) (chat ? chatCompletionChunk : completionChunk).parse(e);
      return;
    }
    (chat ? chatCompletionResponse : completionResponse).parse(await res.json());
  }

  it("random JSON and near-valid requests: a valid completion or an OpenAI-shaped 4xx, never a 500", async () => {
    const served: Record<"chat" | "completions", number> = { chat: 0, completions: 0 };
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.oneof(fc.jsonValue({ maxDepth: 4 }), nearlyValid(false), nearlyValid(true)), async (chat, body) => {
        const res = await send(chat ? "/v1/chat/completions" : "/v1/completions", JSON.stringify(body));
        if (res.status === 200) served[chat ? "chat" : "completions"]++;
        await expectWellFormed(res, chat);
      }),
      { numRuns: 300 },
    );
    expect(errors).toEqual([]);
    // the generators reach generation too, not only validation
    expect(served.chat, JSON.stringify(served)).toBeGreaterThan(0);
    expect(served.completions, JSON.stringify(served)).toBeGreaterThan(0);
  }, 120_000);

  it("raw bytes that are not JSON, or not UTF-8, and every content type: a 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded", ""), async (bytes, type) => {
        const res = await send("/v1/completions", bytes, type);
        if (res.status === 200) return expectWellFormed(res, false); // random bytes that happen to be a valid request
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        openAIErrorBody.parse(await res.json());
      }),
      { numRuns: 300 },
    );
    expect(errors).toEqual([]);
  }, 60_000);

  it("NaN, Infinity, huge numbers and 100 000-deep nesting: 400", async () => {
    const cases = [
      `{"model":"${MODEL}","prompt":"1","max_tokens":NaN}`,
      `{"model":"${MODEL}","prompt":"1","temperature":Infinity}`,
      `{"model":"${MODEL}","prompt":"1","max_tokens":1e400}`, // parses as Infinity
      `{"model":"${MODEL}","prompt":"1","n":1e308}`,
      `{"model":"${MODEL}","prompt":"1","seed":123456789012345678901234567890}`,
      `{"model":"${MODEL}","prompt":${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
      `{"model":"${MODEL}","prompt":"1","drift_guard":${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}}`,
    ];
    for (const body of cases) {
      const res = await send("/v1/completions", body);
      expect(res.status, body.slice(0, 80)).toBe(400);
      openAIErrorBody.parse(await res.json());
    }
    // deep nesting in an ignored field is dropped, not walked into a stack overflow
    const ignored = await send("/v1/completions", `{"model":"${MODEL}","prompt":"1","max_tokens":1,"metadata":${"[".repeat(100_000)}${"]".repeat(100_000)}}`);
    expect(ignored.status).toBe(200);
    expect(errors).toEqual([]);
  }, 60_000);

  it("a 10 MB body: 413 over the limit, 400 (context length) under it", async () => {
    const prompt = "1+".repeat(5 * 1024 * 1024);
    const { app: small } = testApp();
    const tooLarge = await small.request("/v1/completions", { method: "POST", body: JSON.stringify({ model: MODEL, prompt }), headers: { "content-type": "application/json" } });
    expect(tooLarge.status).toBe(413);
    const res = await send("/v1/completions", JSON.stringify({ model: MODEL, prompt }));
    expect(res.status).toBe(400);
    expect(openAIErrorBody.parse(await res.json()).error.code).toBe("context_length_exceeded");
  }, 60_000);

  it("a body that trickles in byte by byte is answered once it is complete", async () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ model: MODEL, prompt: "12+7=", max_tokens: 2 }));
    let i = 0;
    const trickle = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((r) => setTimeout(r, 2));
        if (i < bytes.length) controller.enqueue(bytes.slice(i, ++i));
        else controller.close();
      },
    });
    const res = await app.request("/v1/completions", { method: "POST", body: trickle, headers: { "content-type": "application/json" }, duplex: "half" } as RequestInit);
    await expectWellFormed(res, false);
    expect(res.status).toBe(200);
  }, 30_000);
});
