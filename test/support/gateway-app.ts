// Test-only: an app over two fake engines and an in-memory drift log, request helpers, an SSE reader, and
// float64 reference computations (written from the definitions, independent of packages/shared/src/math).
import { loadGatewayConfig, type GatewayConfigInput } from "@tether/shared/schemas/gateway-config";
import type { EvalReport } from "@tether/shared/schemas/eval";
import type { SketchReference } from "@tether/shared/sketch/reference";
import { createApp } from "../../apps/gateway/src/app";
import { FakeEngine, type FakeEngineOptions } from "./fake-engine";
import { MemoryDriftStore } from "../../apps/gateway/src/store/memory-store";
import { kl64, logSoftmax64 } from "../float64-math";

export { kl64, logSoftmax64 };

export interface TestAppOptions {
  config?: GatewayConfigInput;
  policy?: FakeEngineOptions;
  reference?: FakeEngineOptions;
  evalReport?: EvalReport | null;
  sketch?: SketchReference | null;
  /** Replace the engines (e.g. a failing subclass). */
  policyEngine?: FakeEngine;
  /** Structured alert log lines (default: collected in the returned `logLines`). */
  logLine?: (line: string) => void;
}

/** Engines that only emit printable text (no eos, no special tokens): text ↔ ids is exact. */
export const TEXT_ONLY: FakeEngineOptions = { eosBias: -Infinity, specialBias: -Infinity };

/**
 * Policy = seed 7 with drift 0.3 (KL ≈ 0.04 nats/token), reference = seed 7; guard max_kl 0.05 unless set.
 * @example const { app, store, policy } = testApp({ config: { limits: { max_n: 2 } } });
 */
export function testApp(options: TestAppOptions = {}) {
  const policy = options.policyEngine ?? new FakeEngine({ id: "fake-policy", seed: 7, drift: 0.3, ...options.policy });
  const reference = new FakeEngine({ id: "fake-reference", seed: 7, ...options.reference });
  const store = new MemoryDriftStore();
  const errors: unknown[] = [];
  const logLines: string[] = [];
  const warnings: string[] = [];
  const config = loadGatewayConfig({ drift_guard: { max_kl: 0.05, allow_disable: true }, ...options.config }, {});
  const app = createApp({
    policy,
    reference,
    store,
    config,
    evalReport: options.evalReport ?? null,
    sketch: options.sketch ?? null,
    logError: (_message, error) => void errors.push(error),
    logWarning: (line) => void warnings.push(line),
    randomSeed: () => 12345n,
    logLine: options.logLine ?? ((line) => void logLines.push(line)),
  });
  return { app, store, policy, reference, errors, warnings, config, logLines };
}

type App = ReturnType<typeof testApp>["app"];

/** POST a JSON body; an object without `model` gets the served model's id (required, as at OpenAI). */
export function post(app: App, path: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  const withModel = body !== null && typeof body === "object" && !Array.isArray(body) && !("model" in body) ? { model: app.context.modelName, ...body } : body;
  return Promise.resolve(app.request(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(withModel), ...init }));
}

/** The `data:` payloads of an SSE body, JSON-parsed except the final "[DONE]". */
export async function readSse(res: Response): Promise<unknown[]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      if (!block.startsWith("data: ")) throw new Error(`not an SSE data block: ${JSON.stringify(block)}`);
      const data = block.slice("data: ".length);
      return data === "[DONE]" ? data : JSON.parse(data);
    });
}

/** Waits until `predicate()` holds (polling every 2 ms, up to `ms`). */
export async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * kl_mean, kl_max, kl_sum and log_ratio of completion `tokens` after `prompt` under two bigram fakes,
 * recomputed in float64 from their logit tables.
 */
export function expectedDrift(policy: FakeEngine, reference: FakeEngine, prompt: number[], tokens: number[]) {
  let sum = 0;
  let max = 0;
  let logRatio = 0;
  tokens.forEach((y, t) => {
    const prev = t === 0 ? prompt[prompt.length - 1]! : tokens[t - 1]!;
    const p = policy.logitsAfter(prev);
    const q = reference.logitsAfter(prev);
    const kl = kl64(p, q);
    sum += kl;
    max = Math.max(max, kl);
    logRatio += logSoftmax64(p)[y]! - logSoftmax64(q)[y]!;
  });
  return { kl_mean: tokens.length ? sum / tokens.length : 0, kl_max: max, kl_sum: sum, log_ratio: logRatio };
}
