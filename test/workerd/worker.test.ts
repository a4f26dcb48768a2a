// The Worker entry inside workerd (miniflare, @cloudflare/vitest-pool-workers) against the Node gateway on the
// same demo pair: global-setup.ts answered every case of cases.ts with createApp on onnxruntime-node; here the
// Worker (onnxruntime-web, bundled checkpoints verified with Web Crypto) must answer with the same tokens,
// the same finish reasons and usage, and the same drift statistics to 1e-5 — and with the same OpenAI-shaped
// 4xx for each client mistake. Drift-log rows land in a real PostgreSQL (TEST_DATABASE_URL) via waitUntil.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, inject, it } from "vitest";
import { selectRows } from "@tether/db/core";
import { openAIErrorBody } from "@tether/shared/schemas/openai-error";
import worker from "../../apps/gateway/src/worker";
import { openDb } from "../../apps/gateway/src/worker/database";
import type { WorkerEnv } from "../../apps/gateway/src/worker/env";
import { BAD, GOLDEN, readAnswer, requestInit, STREAMED, type Answer, type Case } from "./cases";

const TOL = 1e-5; // float32 wasm vs float32 native kernels: same graph, other summation orders
const node = inject("nodeAnswers");
const databaseUrl = inject("databaseUrl");

/** One request through the Worker's fetch handler; resolves after its waitUntil work (drift writes) is done. */
async function call(c: Case): Promise<{ answer: Answer; requestId: string | null }> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://worker${c.path}`, requestInit(c, inject("model"))), env as WorkerEnv, ctx);
  const answer = await readAnswer(res);
  await waitOnExecutionContext(ctx);
  return { answer, requestId: res.headers.get("x-tether-request-id") };
}

/** Same JSON tree; numbers within TOL (absolute, relative past 1). Strings, tokens, ids: exactly equal. */
function expectSame(actual: unknown, expected: unknown, at: string): void {
  if (typeof expected === "number" && typeof actual === "number") {
    expect(Math.abs(actual - expected), `${at}: ${actual} vs ${expected}`).toBeLessThanOrEqual(TOL * Math.max(1, Math.abs(expected)));
    return;
  }
  if (expected === null || typeof expected !== "object") return void expect(actual, at).toEqual(expected);
  expect(typeof actual, at).toBe("object");
  expect(Object.keys(actual as object).sort(), at).toEqual(Object.keys(expected).sort());
  for (const [k, v] of Object.entries(expected)) expectSame((actual as Record<string, unknown>)[k], v, `${at}.${k}`);
}

describe.skipIf(databaseUrl === null)("the Worker in workerd answers as the Node gateway", () => {
  it("lists the demo policy on /v1/models", async () => {
    const { answer } = await call({ name: "models", method: "GET", path: "/v1/models" });
    expect(answer.status).toBe(200);
    expect((answer.body as { data: { id: string }[] }).data.map((m) => m.id)).toEqual([inject("model")]);
  });

  it("serves /dashboard and every asset with the bytes Node reads from disk", async () => {
    const page = await worker.fetch(new Request("http://worker/dashboard"), env as WorkerEnv, createExecutionContext());
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/dashboard/assets/dashboard.js");
    const assets = inject("dashboardAssets");
    expect(Object.keys(assets).length).toBeGreaterThan(5);
    for (const [name, text] of Object.entries(assets)) {
      const res = await worker.fetch(new Request(`http://worker/dashboard/assets/${name}`), env as WorkerEnv, createExecutionContext());
      expect(res.status, name).toBe(200);
      expect(await res.text(), name).toBe(text);
    }
  });

  it.each(GOLDEN.map((c) => [c.name, c] as const))("%s: same tokens, finish, usage, logprobs and drift as Node", async (_, c) => {
    const { answer } = await call(c);
    const want = node[c.name]!;
    expect(want.status).toBe(200);
    expect(answer.status).toBe(200);
    expectSame(answer.body, want.body, c.name);
    // every choice carries the guard's drift statistics
    for (const choice of (answer.body as { choices: { drift?: { kl_mean: number } }[] }).choices) expect(choice.drift?.kl_mean).toBeGreaterThanOrEqual(0);
  });

  it.each(STREAMED.map((c) => [c.name, c] as const))("%s: the same SSE chunks as Node, ending in [DONE]", async (_, c) => {
    const { answer } = await call(c);
    const want = node[c.name]!;
    expect(answer.status).toBe(200);
    expect(answer.chunks!.at(-1)).toBe("[DONE]");
    expect(answer.chunks!.length).toBeGreaterThan(3);
    expectSame(answer.chunks, want.chunks, c.name);
  });

  it.each(BAD.map((c) => [c.name, c] as const))("%s: the same OpenAI-shaped 4xx as Node", async (_, c) => {
    const { answer } = await call(c);
    const want = node[c.name]!;
    expect(want.status).toBeGreaterThanOrEqual(400);
    expect(want.status).toBeLessThan(500);
    const [got, expected] = [openAIErrorBody.parse(answer.body).error, openAIErrorBody.parse(want.body).error];
    expect({ ...answer, body: null }).toEqual({ ...want, body: null });
    if (expected.code === "invalid_json") {
      // The message quotes the JS engine's JSON.parse error, worded differently by workerd's newer V8.
      expect({ ...got, message: got.message.split(" (")[0] }).toEqual({ ...expected, message: expected.message.split(" (")[0] });
    } else expect(got).toEqual(expected);
  });
});

describe("the Worker's drift log in PostgreSQL", () => {
  it.skipIf(databaseUrl === null)("writes the request row and its drift samples after the response (waitUntil), idempotent keys from arrival", async () => {
    const c = GOLDEN[0]!; // guarded: k = 4 candidates, one sample row per candidate per monitored layer
    const { answer, requestId } = await call(c);
    expect(answer.status).toBe(200);
    const db = openDb(databaseUrl!);
    const [row] = await selectRows<{ status: number; endpoint: string; policy_id: string; rounds: number }>(
      db,
      sql`select status, endpoint, policy_id, rounds from requests where id = ${requestId}`,
    );
    expect(row).toEqual({ status: 200, endpoint: "completions", policy_id: inject("model"), rounds: expect.any(Number) });
    const [{ n }] = await selectRows<{ n: number }>(db, sql`select count(*)::int as n from drift_samples where request_id = ${requestId}`);
    expect(n).toBe(row!.rounds * 4 * inject("sketchLayers"));
  });

  it("says why it is skipped without TEST_DATABASE_URL", () => {
    if (databaseUrl === null) console.warn("workerd tests skipped: set TEST_DATABASE_URL=postgres://… (the Worker keeps its drift log in PostgreSQL only)");
    expect(databaseUrl === null || databaseUrl.startsWith("postgres")).toBe(true);
  });
});
