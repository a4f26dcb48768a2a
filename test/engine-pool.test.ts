// The engine pool (apps/gateway/src/engine/pool-node.ts) on the demo pair's real ONNX graphs, against the
// in-process engine it replaces (OrtNodeEngine at one intra-op thread, jobs run on the calling thread):
//   - same requests and seeds → byte-identical bodies (tokens, text, logprobs, drift KL) and drift-log entries,
//     guarded and unguarded, n > 1, echo, streaming (the SSE payloads);
//   - a job cancelled after its first streamed step rejects with the abort reason before max_tokens, and the
//     worker takes the next job;
//   - a worker thread killed mid-request: that request gets a 500 in OpenAI's error shape, /readyz reports the
//     reduced pool, a replacement loads the models, and the next request succeeds;
//   - /healthz and /v1/models answer while every worker runs a job.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadGatewayConfig, type GatewayConfigInput } from "@tether/shared/schemas/gateway-config";
import { StopSequences } from "@tether/shared/sampling/stop";
import { createApp } from "../apps/gateway/src/app";
import { systemClock } from "../apps/gateway/src/clock";
import { OrtNodeEngine } from "../apps/gateway/src/engine/ort-node";
import { EnginePool, type PoolEngine } from "../apps/gateway/src/engine/pool-node";
import type { PromptJob } from "../apps/gateway/src/guard/job";
import { MemoryDriftStore } from "../apps/gateway/src/store/memory-store";
import { DEMO_POLICY, DEMO_REFERENCE, sleep } from "./gateway-helpers";

type Engines = { policy: OrtNodeEngine | PoolEngine; reference: OrtNodeEngine | PoolEngine };

function appOver(engines: Engines, pool: EnginePool | null, config: GatewayConfigInput = {}) {
  const store = new MemoryDriftStore();
  const errors: unknown[] = [];
  const app = createApp({
    ...engines,
    store,
    config: loadGatewayConfig(config, {}),
    evalReport: engines.policy.checkpoint.evalReport,
    sketch: engines.reference.checkpoint.sketch ?? engines.policy.checkpoint.sketch,
    logError: (_m, e) => void errors.push(e),
    logWarning: () => {},
    logLine: () => {},
    randomSeed: () => 99n,
    newRequestId: () => "req",
    ...(pool ? { runJob: pool.runJob, enginePool: pool } : {}),
  });
  const post = (body: object, init: RequestInit = {}) =>
    app.request("/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: app.context.modelName, ...body }), ...init });
  return { app, store, errors, post };
}

// Fields that name the request or the moment, not the model's output.
function stable(text: string): unknown {
  return JSON.parse(text.replace(/"created":\d+/g, '"created":0'));
}

const REQUESTS: object[] = [
  { prompt: "1+1=", max_tokens: 12, seed: 1, logprobs: 3 }, // guarded, k = 4 (demo default)
  { prompt: "47*6=", max_tokens: 16, seed: 2, temperature: 1.3, n: 3, drift_guard: { candidates: 3, max_rounds: 2, max_kl: 0.05, fallback: "least_kl" } }, // the reference never learnt `*`: every candidate is over max_kl
  { prompt: "3+4=", max_tokens: 16, seed: 3, temperature: 1.5, drift_guard: { max_kl: 0.0001, max_rounds: 2, fallback: "reference" } }, // the reference answers
  { prompt: "5+5=", max_tokens: 8, seed: 4, temperature: 0, echo: true, logprobs: 2 },
  { prompt: ["2+2=", "9+1="], max_tokens: 10, seed: 5, n: 2, temperature: 0.9 },
];

describe("engine pool on the demo pair (real ONNX)", () => {
  let pool: EnginePool;
  let pooled: Engines;
  let inProcess: Engines;

  beforeAll(async () => {
    pool = await EnginePool.start({ workers: 2, log: () => {} });
    pooled = { policy: await pool.load(DEMO_POLICY), reference: await pool.load(DEMO_REFERENCE) };
    inProcess = { policy: await OrtNodeEngine.load(DEMO_POLICY, { intraOpNumThreads: 1 }), reference: await OrtNodeEngine.load(DEMO_REFERENCE, { intraOpNumThreads: 1 }) };
  });
  afterAll(async () => {
    await Promise.all([inProcess?.policy.dispose(), inProcess?.reference.dispose()]);
    await pool?.close();
  });

  it("gives the single-thread engine's exact bodies and drift-log entries for the same seeds (JSON and SSE)", async () => {
    const config = { drift_guard: { allow_disable: true } }; // lets a request turn the guard off or raise max_kl
    const a = appOver(inProcess, null, config);
    const b = appOver(pooled, pool, config);
    const before = pool.dispatched;
    const bodies: string[] = [];
    for (const body of [...REQUESTS, { ...REQUESTS[0], stream: true }, { ...REQUESTS[4], stream: true, drift_guard: false }]) {
      const [ra, rb] = [await a.post(body), await b.post(body)];
      const [ta, tb] = [await ra.text(), await rb.text()];
      bodies.push(tb);
      expect(rb.status, tb).toBe(ra.status);
      expect(ra.status, ta).toBe(200);
      if ("stream" in body) expect(tb.split("\n\n").map((l) => l.replace(/"created":\d+/g, ""))).toEqual(ta.split("\n\n").map((l) => l.replace(/"created":\d+/g, "")));
      else expect(stable(tb)).toEqual(stable(ta));
    }
    expect(pool.dispatched - before).toBe(9); // one job per prompt: the workers ran them, not this thread
    expect(bodies.join()).toContain('"fallback":"reference"'); // the reference's answer path ran too
    expect(bodies.join()).toContain('"fallback":"least_kl"');
    // drift-log entries: every candidate's kl_mean / kl_max / kl_sum / log_ratio and sketch scores, identical
    const strip = (e: (typeof a.store.entries)[number]) => ({
      request: { ...e.request, createdAt: undefined, queueMs: undefined, generateMs: undefined, guardMs: undefined, totalMs: undefined },
      samples: e.samples.map((s) => ({ ...s, createdAt: undefined })),
    });
    expect(b.store.entries.length).toBe(REQUESTS.length + 2);
    expect(b.store.entries.length).toBe(a.store.entries.length);
    expect(b.store.entries.map(strip)).toEqual(a.store.entries.map(strip));
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  it("cancels a job between graph runs: it rejects with the abort reason before max_tokens and the worker runs the next job", async () => {
    const policy = pooled.policy;
    const controller = new AbortController();
    const steps: number[] = [];
    const maxTokens = policy.info.contextWindow - 4;
    const job: PromptJob = {
      policy,
      reference: pooled.reference,
      prompt: policy.tokenizer.encode("1+1="),
      // no eos ids: only max_tokens could end these sequences, so stopping early is the cancellation's doing
      settings: { sampling: { temperature: 1, topP: 1, topK: 0, minP: 0 } as never, maxTokens, stop: new StopSequences(null), eosIds: new Set(), topLogprobs: null, keepLogits: true, sketchWidth: 0 },
      n: 1, firstChoice: 0, seed: 7n, signal: controller.signal, sketch: null, clock: systemClock,
      timings: { queueMs: 0, generateMs: 0, guardMs: 0 }, ledger: [],
      onStep: (_first, seqs) => {
        steps.push(seqs[0]!.tokens.length);
        if (steps.length === 1) controller.abort(new Error("client went away"));
      },
    };
    await expect(pool.runJob(job, { enabled: false } as never)).rejects.toThrow("client went away");
    expect(steps[0]).toBe(1);
    expect(Math.max(...steps)).toBeLessThan(maxTokens);
    expect(pool.status().busy).toBe(0);
    const next = appOver(pooled, pool);
    expect((await next.post(REQUESTS[0]!)).status).toBe(200);
  });

  it("answers /healthz and /v1/models while every worker runs a job", async () => {
    const { app, post } = appOver(pooled, pool, { limits: { max_concurrent: 4 } });
    // long jobs: 8 × 8 candidates, 4 rounds that cannot pass, then the reference's fallback
    const heavy = { prompt: "7+8=", max_tokens: 100, temperature: 2, n: 8, seed: 11, drift_guard: { candidates: 8, max_rounds: 4, max_kl: 1e-6, fallback: "reference" } };
    const running = [post(heavy), post({ ...heavy, seed: 12 })];
    const end = Date.now() + 30_000;
    while (pool.status().busy < 2 && Date.now() < end) await sleep(1);
    expect(pool.status().busy).toBe(2);
    let answered = 0;
    while (pool.status().busy === 2 && answered < 20) {
      const [h, m] = await Promise.all([app.request("/healthz"), app.request("/v1/models")]);
      expect(h.status).toBe(200);
      expect(m.status).toBe(200);
      answered++;
    }
    expect(answered).toBeGreaterThan(0); // at least one round trip finished with both workers still busy
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toMatch(/^tether_engine_workers\{state="configured"\} 2$/m);
    expect(metrics).toMatch(/^tether_engine_workers\{state="ready"\} 2$/m);
    for (const r of await Promise.all(running)) expect(r.status).toBe(200);
  });
});

describe("engine pool: a worker thread that dies", () => {
  let pool: EnginePool;
  const lines: string[] = [];
  afterAll(async () => pool?.close());

  it("fails its request with a 500 in OpenAI's shape, reports the reduced pool, and the replacement serves the next request", async () => {
    pool = await EnginePool.start({ workers: 1, log: (l) => void lines.push(l) });
    const engines = { policy: await pool.load(DEMO_POLICY), reference: await pool.load(DEMO_REFERENCE) };
    const { app, post, errors } = appOver(engines, pool);
    const heavy = { prompt: "7+8=", max_tokens: 100, temperature: 2, n: 8, seed: 11, drift_guard: { candidates: 8, max_rounds: 4, max_kl: 1e-6, fallback: "reference" } };
    const doomed = post(heavy);
    const end = Date.now() + 30_000;
    while (pool.status().busy < 1 && Date.now() < end) await sleep(1);
    const victim = pool.workers[0]!;
    await victim.terminate(); // as a thread that died: 'exit' with code 1
    const res = await doomed;
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { message: string; type: string; param: null; code: string } };
    expect(body.error.code).toBe("engine_worker_crashed");
    expect(body.error.type).toBe("server_error");
    expect(body.error.message).toMatch(/engine worker thread .* exited/);
    expect(errors).toEqual([]); // a known failure, not an internal error
    expect(lines.some((l) => /engine worker \d+ exited with code 1; starting a replacement/.test(l))).toBe(true);
    // the replacement loads both models; until then /readyz says the pool has no ready worker
    const ready = await app.request("/readyz");
    const readyBody = (await ready.json()) as { engines: { workers: number; ready: number } };
    expect(readyBody.engines).toEqual({ workers: 1, ready: 0, busy: 0 });
    expect(ready.status).toBe(503);
    const next = await post({ prompt: "1+1=", max_tokens: 8, seed: 1 }); // waits for the replacement
    expect(next.status).toBe(200);
    expect(pool.workers[0]).not.toBe(victim);
    expect(pool.status()).toEqual({ workers: 1, ready: 1, busy: 0 });
  });
});
