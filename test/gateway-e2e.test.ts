// The real gateway (startGateway: onnxruntime-node engines on the committed demo pair, PGlite drift log, a real
// socket) driven by the official `openai` npm client (v6), its answers checked against independent float64
// computations: the trainer's plain-loop Qwen2 forward pass (referenceLogits) over model.safetensors, greedy
// decoding, log-softmax and exact token KL written in test/float64-model.ts — not the gateway's math.
//
// Which tokens the drift statistics count (apps/gateway/src/guard/drift-stats.ts, guard/job.ts): every token
// the model sampled for the returned choice, i.e. the choice's text re-encoded PLUS the stop id when
// finish_reason is "stop" (an eos is drawn from π_θ like any token; its KL is that of the position it was
// drawn at, so it does not matter which of the stop ids it was — only log_ratio depends on that). Their number
// is usage.completion_tokens. A reference-fallback answer is scored the same way on the reference's tokens.
//
// The last test closes the gateway (drain + flush) and reads the drift log from the PGlite directory: one
// `requests` row per request the server answered (any status), and per request the drift_samples rows the
// guard's ledger implies.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, selectRows } from "@tether/db";
import { drift as driftSchema, type Drift } from "@tether/shared/schemas/openai-response";
import { loadGatewayConfig } from "@tether/shared/schemas/gateway-config";
import { readTokenizerDir } from "../apps/trainer/src/tokenizer/tokenizer";
import { startGateway, type RunningGateway } from "../apps/gateway/src/server.node.ts";
import { eosIdsOf, greedyDecode, klStats, loadFloat64Model, tokenLogprobs } from "./float64-model";
import { DEMO_POLICY, DEMO_REFERENCE, expectRel, manifestId, recordingFetch, sketchLayerCount, tempDir, type Answered } from "./gateway-helpers";

const policy64 = loadFloat64Model(DEMO_POLICY);
const reference64 = loadFloat64Model(DEMO_REFERENCE);
const tokenizer = readTokenizerDir(DEMO_POLICY); // the trainer's tokenizer, not the gateway's
const EOS = eosIdsOf(DEMO_POLICY); // generation_config.json: <|endoftext|> and <|im_end|>
const MODEL = manifestId(DEMO_POLICY);
// Monitored layers: the gateway scores sketches against the reference's sketch.json; one drift_samples row
// per candidate per layer.
const LAYERS = sketchLayerCount(DEMO_REFERENCE);
// The default max_kl: the 99th percentile of eval.json's held-out per-request kl_mean (a stored quantile).
const P99 = (() => {
  const ev = JSON.parse(readFileSync(join(DEMO_POLICY, "eval.json"), "utf8")) as { kl: { per_request_kl_mean: { quantiles: { q: number; value: number }[] } } };
  return ev.kl.per_request_kl_mean.quantiles.find((x) => x.q === 0.99)!.value;
})();
const K = 4; // drift_guard.candidates in the config below
const ROUNDS = 2; // drift_guard.max_rounds
const REL = 1e-4; // float32 ONNX vs float64 loops

type GuardBody = { drift_guard?: unknown };
/** The request body with Tether's drift_guard extension (not in the client's types). */
function guarded<T extends object>(body: T, guard: unknown): T {
  return { ...body, drift_guard: guard } as T & GuardBody;
}
/** A choice's `drift`, validated with the shared wire schema. */
function driftOf(choice: object): Drift {
  return driftSchema.parse((choice as { drift?: unknown }).drift);
}
/** Token ids the gateway sampled for a choice: its text re-encoded, plus the stop id when it stopped on one. */
function sampledIds(text: string, finish: string | null, eos = EOS[0]!): number[] {
  return [...tokenizer.encode(text), ...(finish === "stop" ? [eos] : [])];
}
/** drift vs the float64 KL over `completion` (log_ratio: the final stop id may be any of EOS). */
function expectDriftMatches(d: Drift, prompt: number[], completion: number[], stoppedOnEos: boolean, label: string): void {
  const want = klStats(policy64, reference64, prompt, completion);
  expectRel(d.kl_mean, want.klMean, REL, `${label} kl_mean`);
  expectRel(d.kl_max, want.klMax, REL, `${label} kl_max`);
  expectRel(d.kl_sum, want.klSum, REL, `${label} kl_sum`);
  const candidates = stoppedOnEos ? EOS.map((e) => klStats(policy64, reference64, prompt, [...completion.slice(0, -1), e]).logRatio) : [want.logRatio];
  const nearest = candidates.reduce((a, b) => (Math.abs(b - d.log_ratio) < Math.abs(a - d.log_ratio) ? b : a));
  expect(Math.abs(d.log_ratio - nearest), `${label} log_ratio ${d.log_ratio} vs one of ${candidates}`).toBeLessThanOrEqual(REL * Math.abs(nearest) + 1e-6);
}
/** drift_samples rows a choice leaves: guard off → one candidate; guarded → k per round drawn, + 1 token-only row for a reference answer. */
function sampleRows(d: Drift, k: number): number {
  if (d.rounds === 0) return LAYERS;
  return d.rounds * k * LAYERS + (d.fallback === "reference" ? 1 : 0);
}

describe("gateway end to end: openai client → startGateway (ONNX demo pair, PGlite)", () => {
  const data = tempDir("tether-e2e-");
  const answered: Answered[] = []; // every generation request the server answered
  const expectedSamples = new Map<string, number>(); // request id → drift_samples rows
  const leastKl: { id: string; klMean: number }[] = [];
  let gateway: RunningGateway;
  let client: OpenAI;
  const idOf = (responseId: string) => responseId.replace(/^(chat)?cmpl-/, "");

  beforeAll(async () => {
    const config = loadGatewayConfig(
      { port: 0, data_dir: data.dir, policy: DEMO_POLICY, reference: DEMO_REFERENCE, drift_guard: { allow_disable: true, max_kl_percentile: 99, candidates: K, max_rounds: ROUNDS } },
      {}, // not process.env: a DATABASE_URL there must not redirect this test's drift log
    );
    gateway = await startGateway(config, () => {});
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "x", maxRetries: 0, fetch: recordingFetch(answered) });
  });
  afterAll(async () => {
    try {
      await gateway?.close();
    } finally {
      data.remove(); // also when close() fails: no /tmp/tether-e2e-* left behind
    }
  });

  it("lists the served model", async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => ({ id: m.id, object: m.object }))).toEqual([{ id: MODEL, object: "model" }]);
  });

  it("golden: temperature 0 with the guard off returns exactly the float64 greedy decode of the policy, with its logprobs and drift", async () => {
    const cases: { prompt: string; asIds: boolean; maxTokens?: number }[] = [
      { prompt: "12+7=", asIds: false },
      { prompt: "23*4=", asIds: true },
      { prompt: "40+2=", asIds: false },
      { prompt: "Hello", asIds: true },
      { prompt: "abc", asIds: false },
      { prompt: "123*4=", asIds: false, maxTokens: 2 }, // runs to max_tokens: 492 is three digits before the eos
    ];
    const finishes = new Set<string>();
    for (const { prompt, asIds, maxTokens = 8 } of cases) {
      const ids = tokenizer.encode(prompt);
      const want = greedyDecode(policy64, ids, maxTokens, EOS);
      const res = await client.completions.create(guarded({ model: MODEL, prompt: asIds ? ids : prompt, max_tokens: maxTokens, temperature: 0, logprobs: 1 }, false));
      const choice = res.choices[0]!;
      const stopped = EOS.includes(want.at(-1)!);
      expect(res.usage!.prompt_tokens, prompt).toBe(ids.length);
      expect(res.usage!.completion_tokens, prompt).toBe(want.length);
      expect(choice.finish_reason, prompt).toBe(stopped ? "stop" : "length");
      expect(tokenizer.encode(choice.text), `${prompt} → ${JSON.stringify(choice.text)}`).toEqual(stopped ? want.slice(0, -1) : want);
      finishes.add(choice.finish_reason);
      // logprobs: the visible tokens (the eos has no text), natural logs of the raw policy distribution
      const visible = stopped ? want.slice(0, -1) : want;
      expect(choice.logprobs!.tokens!.join("")).toBe(choice.text);
      const lp = tokenLogprobs(policy64, ids, visible);
      choice.logprobs!.token_logprobs!.forEach((v, t) => expect(Math.abs(v - lp[t]!), `${prompt} logprob ${t}`).toBeLessThan(1e-4));
      const d = driftOf(choice);
      expect(d).toMatchObject({ accepted: true, rounds: 0, fallback: null });
      expectDriftMatches(d, ids, want, stopped, prompt);
      expectedSamples.set(idOf(res.id), sampleRows(d, 1));
    }
    expect([...finishes].sort()).toEqual(["length", "stop"]);
  });

  it("golden: chat at temperature 0 is the greedy decode of the ChatML-rendered conversation", async () => {
    const messages = [{ role: "user" as const, content: "12+7=" }];
    // tokenizer_config.json chat_template, rendered by hand with add_generation_prompt
    const rendered = "<|im_start|>user\n12+7=<|im_end|>\n<|im_start|>assistant\n";
    const ids = tokenizer.encode(rendered);
    const want = greedyDecode(policy64, ids, 8, EOS);
    const stopped = EOS.includes(want.at(-1)!);
    const res = await client.chat.completions.create(guarded({ model: MODEL, messages, max_tokens: 8, temperature: 0 }, false));
    expect(res.object).toBe("chat.completion");
    expect(res.choices[0]!.message.role).toBe("assistant");
    expect(res.usage).toEqual({ prompt_tokens: ids.length, completion_tokens: want.length, total_tokens: ids.length + want.length });
    expect(tokenizer.encode(res.choices[0]!.message.content!)).toEqual(stopped ? want.slice(0, -1) : want);
    expect(res.choices[0]!.finish_reason).toBe(stopped ? "stop" : "length");
    const d = driftOf(res.choices[0]!);
    expectDriftMatches(d, ids, want, stopped, "chat");
    expectedSamples.set(idOf(res.id), sampleRows(d, 1));
  });

  it("default guard at temperature 0: the policy's greedy answer when its kl_mean ≤ max_kl (eval.json p99), else the reference's greedy answer", async () => {
    const cases = [
      { prompt: "12+7=", maxTokens: 8 },
      { prompt: "Hello", maxTokens: 8 },
      { prompt: "56*7=39", maxTokens: 1 }, // the policy's next token here is ~17 nats from the reference (p99 ≈ 14)
    ];
    const outcomes: boolean[] = [];
    for (const { prompt, maxTokens } of cases) {
      const ids = tokenizer.encode(prompt);
      const policyGreedy = greedyDecode(policy64, ids, maxTokens, EOS);
      const accept = klStats(policy64, reference64, ids, policyGreedy).klMean <= P99;
      outcomes.push(accept);
      const res = await client.completions.create({ model: MODEL, prompt, max_tokens: maxTokens, temperature: 0 });
      const choice = res.choices[0]!;
      const d = driftOf(choice);
      const want = accept ? policyGreedy : greedyDecode(reference64, ids, maxTokens, EOS);
      const stopped = EOS.includes(want.at(-1)!);
      // at temperature 0 every candidate is the same greedy sequence: one candidate, one round
      expect(d, prompt).toMatchObject(accept ? { accepted: true, rounds: 1, fallback: null } : { accepted: false, rounds: 1, fallback: "reference" });
      expect(tokenizer.encode(choice.text), prompt).toEqual(stopped ? want.slice(0, -1) : want);
      expect(res.usage!.completion_tokens).toBe(want.length);
      expectDriftMatches(d, ids, want, stopped, prompt); // a reference answer's drift: KL(π_θ‖π_ref) on its tokens
      expectedSamples.set(idOf(res.id), sampleRows(d, 1));
    }
    expect(outcomes).toEqual([true, true, false]); // both outcomes are exercised
  });

  it("seed: the same seed at temperature 1 gives the same text twice; another seed gives other text", async () => {
    const prompts = ["Hello", "x", "1", "abc", "7*8="];
    let differs = 0;
    for (const prompt of prompts) {
      const body = { model: MODEL, prompt, max_tokens: 8, temperature: 1 };
      const [a, b, c] = [await client.completions.create({ ...body, seed: 1 }), await client.completions.create({ ...body, seed: 1 }), await client.completions.create({ ...body, seed: 2 })];
      expect(b.choices[0]!.text, prompt).toBe(a.choices[0]!.text);
      expect(driftOf(b.choices[0]!), prompt).toEqual(driftOf(a.choices[0]!));
      if (c.choices[0]!.text !== a.choices[0]!.text) differs++;
      for (const r of [a, b, c]) expectedSamples.set(idOf(r.id), sampleRows(driftOf(r.choices[0]!), K));
    }
    expect(differs).toBeGreaterThan(0);
  });

  it("drift of sampled choices (n = 3, temperature 1, guard off) equals the float64 KL over the sampled tokens", async () => {
    for (const [prompt, seed] of [["x", 7], ["Hello", 8], ["23*4=", 9]] as const) {
      const ids = tokenizer.encode(prompt);
      const res = await client.completions.create(guarded({ model: MODEL, prompt, max_tokens: 8, temperature: 1, n: 3, seed }, false));
      expect(res.choices.map((c) => c.index)).toEqual([0, 1, 2]);
      let tokens = 0;
      for (const choice of res.choices) {
        const completion = sampledIds(choice.text, choice.finish_reason);
        tokens += completion.length;
        const d = driftOf(choice);
        expect(d).toMatchObject({ accepted: true, rounds: 0, fallback: null });
        expectDriftMatches(d, ids, completion, choice.finish_reason === "stop", `${prompt} #${choice.index}`);
      }
      // the re-encoded text accounts for every sampled token (no invisible special token was drawn)
      expect(res.usage!.completion_tokens, prompt).toBe(tokens);
      expectedSamples.set(idOf(res.id), 3 * LAYERS);
    }
  });

  it("streams completions (guard off, live): OpenAI chunk shapes, same text and drift as the non-stream call, a usage chunk", async () => {
    // a product the policy learnt: several answer tokens, so the stream has several content chunks
    const body = guarded({ model: MODEL, prompt: "47*6=", max_tokens: 12, temperature: 1, seed: 21 }, false);
    const plain = await client.completions.create(body);
    const stream = await client.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Completion[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const id = chunks[0]!.id;
    expect(id).toMatch(/^cmpl-/);
    for (const c of chunks) expect(c).toMatchObject({ id, object: "text_completion", model: MODEL, created: expect.any(Number) });
    const usageChunk = chunks.at(-1)!;
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toEqual(plain.usage);
    const content = chunks.slice(0, -1);
    for (const c of content) expect(c.usage).toBeNull(); // include_usage: null on every other chunk, as OpenAI
    expect(content.length).toBeGreaterThan(2); // live: token by token
    const closing = content.at(-1)!.choices[0]!;
    expect(closing.finish_reason).toBe(plain.choices[0]!.finish_reason);
    expect(driftOf(closing)).toEqual(driftOf(plain.choices[0]!));
    for (const c of content.slice(0, -1)) expect(c.choices).toEqual([{ index: 0, text: expect.any(String), logprobs: null, finish_reason: null }]);
    expect(content.map((c) => c.choices[0]!.text).join("")).toBe(plain.choices[0]!.text);
    expectedSamples.set(idOf(plain.id), LAYERS);
    expectedSamples.set(idOf(id), LAYERS);
  });

  it("streams chat (default guard): role first, content deltas, finish_reason + drift, usage; same as the non-stream call", async () => {
    const body = { model: MODEL, messages: [{ role: "user" as const, content: "7*8=" }], max_tokens: 8, temperature: 1, seed: 5 };
    const plain = await client.chat.completions.create(body);
    const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const id = chunks[0]!.id;
    expect(id).toMatch(/^chatcmpl-/);
    for (const c of chunks) expect(c).toMatchObject({ id, object: "chat.completion.chunk", model: MODEL, created: expect.any(Number) });
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: "assistant", content: "" });
    const usageChunk = chunks.at(-1)!;
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toEqual(plain.usage);
    const closing = chunks.at(-2)!.choices[0]!;
    expect(closing.delta).toEqual({});
    expect(closing.finish_reason).toBe(plain.choices[0]!.finish_reason);
    const d = driftOf(closing);
    expect(d).toEqual(driftOf(plain.choices[0]!));
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe(plain.choices[0]!.message.content);
    expectedSamples.set(idOf(plain.id), sampleRows(d, K));
    expectedSamples.set(idOf(id), sampleRows(d, K));
  });

  it('fallback "reference" (max_kl 1e-9): the reference\'s own answer, drift.fallback = "reference"', async () => {
    // temperature 0: the answer is the reference's float64 greedy decode, token for token (a product: the
    // reference never learnt "*", so the two models disagree here; on "12+7=" both answer 19)
    const ids = tokenizer.encode("47*6=");
    const want = greedyDecode(reference64, ids, 8, EOS);
    expect(want).not.toEqual(greedyDecode(policy64, ids, 8, EOS)); // the two models disagree here
    const res = await client.completions.create(guarded({ model: MODEL, prompt: "47*6=", max_tokens: 8, temperature: 0 }, { max_kl: 1e-9, fallback: "reference" }));
    const d = driftOf(res.choices[0]!);
    expect(d).toMatchObject({ accepted: false, rounds: 1, fallback: "reference" });
    const stopped = EOS.includes(want.at(-1)!);
    expect(tokenizer.encode(res.choices[0]!.text)).toEqual(stopped ? want.slice(0, -1) : want);
    expectDriftMatches(d, ids, want, stopped, "reference fallback, greedy");
    expectedSamples.set(idOf(res.id), sampleRows(d, 1));
    // temperature 1: every round drawn, then a sampled reference answer whose drift is measured on its own tokens
    const sampled = await client.completions.create(guarded({ model: MODEL, prompt: "Hello", max_tokens: 8, temperature: 1, seed: 3 }, { max_kl: 1e-9, fallback: "reference", candidates: 2 }));
    const s = sampled.choices[0]!;
    const ds = driftOf(s);
    expect(ds).toMatchObject({ accepted: false, rounds: ROUNDS, fallback: "reference" });
    const completion = sampledIds(s.text, s.finish_reason);
    expect(sampled.usage!.completion_tokens).toBe(completion.length);
    expectDriftMatches(ds, tokenizer.encode("Hello"), completion, s.finish_reason === "stop", "reference fallback, sampled");
    expectedSamples.set(idOf(sampled.id), sampleRows(ds, 2));
  });

  it('fallback "least_kl": the returned candidate has the smallest kl_mean of those drawn (checked in drift_samples at the end)', async () => {
    for (const [prompt, seed] of [["Hello", 11], ["x", 12]] as const) {
      const res = await client.completions.create(guarded({ model: MODEL, prompt, max_tokens: 8, temperature: 1, seed }, { max_kl: 1e-9, fallback: "least_kl" }));
      const c = res.choices[0]!;
      const d = driftOf(c);
      expect(d).toMatchObject({ accepted: false, rounds: ROUNDS, fallback: "least_kl" });
      expectDriftMatches(d, tokenizer.encode(prompt), sampledIds(c.text, c.finish_reason), c.finish_reason === "stop", `least_kl ${prompt}`);
      leastKl.push({ id: idOf(res.id), klMean: d.kl_mean });
      expectedSamples.set(idOf(res.id), sampleRows(d, K));
    }
  });

  it('fallback "reject": 422 APIError with code drift_limit_exceeded, streamed or not', async () => {
    for (const stream of [false, true]) {
      const body = guarded({ model: MODEL, prompt: "Hello", max_tokens: 8, temperature: 1, seed: 4, stream }, { max_kl: 1e-9, fallback: "reject", candidates: 2 });
      const error = await client.completions.create(body as OpenAI.CompletionCreateParams).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(OpenAI.UnprocessableEntityError);
      const e = error as InstanceType<typeof OpenAI.APIError>;
      expect({ status: e.status, code: e.code, type: e.type, param: e.param }).toEqual({ status: 422, code: "drift_limit_exceeded", type: "drift_error", param: "drift_guard" });
      expect(e.message).toMatch(/max_kl/);
      // the rejected candidates are logged too: 2 per round, every round
      expectedSamples.set(e.headers!.get("x-tether-request-id")!, ROUNDS * 2 * LAYERS);
    }
  });

  it("bad input through the client: typed errors naming the parameter", async () => {
    const fail = (p: Promise<unknown>) =>
      p.then(
        () => null,
        (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
      );
    type ErrorClass = new (...args: never[]) => InstanceType<typeof OpenAI.APIError>;
    const cases: [Promise<unknown>, ErrorClass, { status: number; param: string | null; code?: string }][] = [
      [client.completions.create({ model: "no-such-model", prompt: "1+1=" }), OpenAI.NotFoundError, { status: 404, param: "model", code: "model_not_found" }],
      [client.completions.create({ model: MODEL, prompt: "1+1=", temperature: -1 }), OpenAI.BadRequestError, { status: 400, param: "temperature" }],
      [client.completions.create({ model: MODEL, prompt: "1+".repeat(70) }), OpenAI.BadRequestError, { status: 400, param: "prompt", code: "context_length_exceeded" }],
      [client.completions.create({ model: MODEL, prompt: "1+1=", max_tokens: 500 }), OpenAI.BadRequestError, { status: 400, param: "max_tokens", code: "context_length_exceeded" }],
      [client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }], n: 0 }), OpenAI.BadRequestError, { status: 400, param: "n" }],
    ];
    for (const [call, type, want] of cases) {
      const e = await fail(call);
      expect(e, JSON.stringify(want)).toBeInstanceOf(type);
      expect(e!.status).toBe(want.status);
      expect(e!.param).toBe(want.param);
      if (want.code) expect(e!.code).toBe(want.code);
      expect(e!.message.length).toBeGreaterThan(0);
      expectedSamples.set(e!.headers!.get("x-tether-request-id")!, 0); // refused before any decoding
    }
  });

  it("after close (drain + flush): one requests row per answered request, and the drift_samples each implies", async () => {
    await gateway.close();
    const handle = await createDb(join(data.dir, "pgdata")); // PGlite allows one opener: the gateway's is closed
    try {
      const requests = await selectRows<{ id: string; status: number; error_code: string | null; guard_max_kl: number | null; fallback: string | null }>(
        handle.db,
        sql`select id, status, error_code, guard_max_kl, fallback from requests`,
      );
      const samples = await selectRows<{ request_id: string; n: number }>(handle.db, sql`select request_id, count(*)::int as n from drift_samples group by request_id`);
      console.log(`gateway e2e: ${answered.length} answered generation requests; ${requests.length} requests rows, ${samples.reduce((a, s) => a + s.n, 0)} drift_samples rows`);
      expect(new Set(requests.map((r) => r.id)).size).toBe(requests.length); // no duplicates
      expect(requests.map((r) => ({ id: r.id, status: r.status })).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
        answered.map((a) => ({ id: a.id, status: a.status })).sort((a, b) => a.id.localeCompare(b.id)),
      );
      // every answered request has its expected number of samples (those not named above: none missing)
      expect([...expectedSamples.keys()].filter((id) => !answered.some((a) => a.id === id))).toEqual([]);
      expect(answered.filter((a) => !expectedSamples.has(a.id))).toEqual([]);
      const counted = new Map(samples.map((s) => [s.request_id, s.n]));
      expect(Object.fromEntries(answered.map((a) => [a.id, counted.get(a.id) ?? 0]))).toEqual(Object.fromEntries(answered.map((a) => [a.id, expectedSamples.get(a.id)])));
      // the default guard ran with max_kl = eval.json's p99
      const byId = new Map(requests.map((r) => [r.id, r]));
      const rejected = requests.filter((r) => r.status === 422);
      expect(rejected.map((r) => r.error_code)).toEqual(["drift_limit_exceeded", "drift_limit_exceeded"]);
      expect(requests.some((r) => r.guard_max_kl !== null && Math.abs(r.guard_max_kl - P99) <= 1e-12 * P99)).toBe(true);
      // least_kl: the returned candidate (choice_index 0) is the one with the smallest kl_mean of the K·ROUNDS drawn
      for (const { id, klMean } of leastKl) {
        expect(byId.get(id)!.fallback).toBe("least_kl");
        const rows = await selectRows<{ round: number; candidate: number; kl_mean: number; choice_index: number | null; accepted: boolean }>(
          handle.db,
          sql`select distinct round, candidate, kl_mean, choice_index, accepted from drift_samples where request_id = ${id}`,
        );
        expect(rows.length).toBe(K * ROUNDS);
        expect(rows.every((r) => !r.accepted)).toBe(true);
        const chosen = rows.filter((r) => r.choice_index === 0);
        expect(chosen.length).toBe(1);
        expect(chosen[0]!.kl_mean).toBe(klMean);
        expect(Math.min(...rows.map((r) => r.kl_mean))).toBe(klMean);
        expect(new Set(rows.map((r) => r.kl_mean)).size).toBeGreaterThan(1); // a real choice among different candidates
      }
    } finally {
      await handle.close();
    }
  });
});
