// Test and bench support: memory across repeated hot swaps, in a process of its own started with --expose-gc
// (`node --expose-gc --import tsx test/swap-memory.ts [--swaps N] [--leak]`; prints one JSON line).
//
// The real registry on the demo engines (promotionApp: ONNX Runtime, in-memory PGlite) alternates
// promote(variant) and rollback, each swap made while completions are running on the engine it replaces, and
// waits until every engine that left the set was released (in-flight 0). RSS is read after forced GCs:
//   1) after WARMUP swaps (allocator and JIT at steady state): the baseline;
//   2) after `swaps` more swaps: the growth over the baseline.
// The unit a leak is measured in is the size of the served ONNX file: a session that is never released holds
// at least its weights. (Measuring one session by loading more and reading ΔRSS under-counts: after the
// swaps the allocator hands freed pages to the new sessions.) `--leak` makes every engine's dispose a no-op
// (each swap strands one warmed session, kept reachable), the failure the test must be able to see.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { InferenceEngine } from "../apps/gateway/src/engine/engine";
import type { CheckpointLoader } from "../apps/gateway/src/serving/checkpoint-loader";
import { DEMO_POLICY } from "./gateway-helpers";
import { policyVariant, promotionApp } from "./promotion-fixtures";

export interface SwapMemoryResult {
  swaps: number;
  leak: boolean;
  baselineRss: number; // bytes, after WARMUP swaps
  finalRss: number; // bytes, after `swaps` more
  growth: number; // finalRss − baselineRss
  modelBytes: number; // size of the served onnx/model.onnx
  baselineExternal: number; // process.memoryUsage().external at the baseline
  finalExternal: number;
  failedRequests: number;
  msPerSwap: number; // wall time of one swap, load + warm + commit + release (for the bench)
}

export const WARMUP = 4;

const gc = (globalThis as { gc?: () => void }).gc;

/** RSS and external after the garbage collector ran to a fixed point (ORT frees sessions synchronously on release). */
async function settled(): Promise<{ rss: number; external: number }> {
  if (!gc) throw new Error("run with node --expose-gc");
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  const m = process.memoryUsage();
  return { rss: m.rss, external: m.external };
}

/** A loader whose engines are never released (the leak under test), kept reachable so no finalizer frees them. */
function leaking(loader: CheckpointLoader, stranded: InferenceEngine[]): CheckpointLoader {
  return {
    resolve: (path) => loader.resolve(path),
    async load(dir) {
      const loaded = await loader.load(dir);
      stranded.push(loaded.engine);
      return { ...loaded, engine: { ...bind(loaded.engine), dispose: async () => {} } };
    },
  };
}

function bind(e: InferenceEngine): InferenceEngine {
  return { info: e.info, tokenizer: e.tokenizer, startDecode: e.startDecode.bind(e), score: e.score.bind(e), dispose: e.dispose.bind(e) };
}

export async function swapMemory(swaps: number, leak: boolean): Promise<SwapMemoryResult> {
  const root = mkdtempSync(join(tmpdir(), "tether-swap-memory-"));
  const stranded: InferenceEngine[] = [];
  const variant = policyVariant(root, "variant", "policy-swap-variant", { klMean: 0.5, retention: 0.95 });
  const t = await promotionApp(root, { promotion: { kl_budget: 1.0, retention_floor: 0.9 } }, leak ? (l) => leaking(l, stranded) : undefined);
  try {
    const headers = { authorization: "Bearer bootstrap-token-0123456789", "content-type": "application/json" };
    const reg = await Promise.resolve(t.app.request("/admin/checkpoints", { method: "POST", headers, body: JSON.stringify({ path: variant }) }));
    const variantId = ((await reg.json()) as { id: string }).id;
    let failed = 0;
    const complete = async () => {
      const res = await Promise.resolve(t.app.request("/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: t.app.context.modelName, prompt: "12*3=", max_tokens: 4 }) }));
      await res.text();
      if (res.status !== 200) failed++;
    };
    let swapMs = 0;
    const swap = async (i: number) => {
      const running = Array.from({ length: 4 }, complete); // in flight on the engine about to leave
      const t0 = performance.now();
      const path = i % 2 === 0 ? `/admin/checkpoints/${variantId}/promote` : "/admin/rollback";
      const res = await Promise.resolve(t.app.request(path, { method: "POST", headers, body: JSON.stringify({ reason: `swap ${i}` }) }));
      if (res.status !== 200) throw new Error(`swap ${i}: ${res.status} ${await res.text()}`);
      await Promise.all(running);
      await t.app.context.serving.drained(); // the engine that left was released once its requests ended
      swapMs += performance.now() - t0;
    };
    for (let i = 0; i < WARMUP; i++) await swap(i);
    const base = await settled();
    swapMs = 0;
    for (let i = WARMUP; i < WARMUP + swaps; i++) await swap(i);
    const end = await settled();
    return {
      swaps, leak, baselineRss: base.rss, finalRss: end.rss, growth: end.rss - base.rss, modelBytes: statSync(join(DEMO_POLICY, "onnx", "model.onnx")).size,
      baselineExternal: base.external, finalExternal: end.external, failedRequests: failed, msPerSwap: swapMs / swaps,
    };
  } finally {
    for (const e of stranded) await e.dispose();
    await t.close();
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith("swap-memory.ts")) {
  const { values } = parseArgs({ options: { swaps: { type: "string", default: "20" }, leak: { type: "boolean", default: false } } });
  const result = await swapMemory(Number(values.swaps), values.leak);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
