// Which Workers plan the gateway needs: the deployed bundle's size (`wrangler deploy --dry-run`, raw and
// gzip) against the script-size limits, and the CPU time per request of the demo pair against the CPU limits,
// measured on a local Worker (`wrangler dev`: the same workerd) as the CPU its workerd processes used
// (/proc, 10-ms ticks) around each request, averaged over REQUESTS requests per kind — an upper bound on
// what Cloudflare bills: it includes wrangler dev's local proxy worker. Prints markdown (docs/workers.md quotes it).
// `npm run bench -- worker-limits` (needs TEST_DATABASE_URL or DATABASE_URL: the drift log is written too).
import { loadavg } from "node:os";
import { bundleWorker } from "./worker-bundle";
import { startLocalWorker, type LocalWorker } from "./worker-dev";
import { DEMO_POLICY, manifestId } from "../test/gateway-helpers";

const MODEL = manifestId(DEMO_POLICY); // the served name (model is required)

const MiB = 2 ** 20;
/** Cloudflare's limits (developers.cloudflare.com/workers/platform/limits), sizes after gzip. */
const LIMITS = {
  free: { scriptGzip: 3 * MiB, cpuMs: 10 },
  paid: { scriptGzip: 10 * MiB, cpuMs: 30_000 }, // paid: 30 s by default, configurable to 5 min
};
const REQUESTS = 40; // per request kind, after one warm-up each (CPU ticks are 10 ms: averages need many)
const SETTLE_MS = 100;

const KINDS: { name: string; body: object }[] = [
  { name: "completion, guard on (k = 4), max_tokens 16", body: { prompt: "12+7=", max_tokens: 16, temperature: 1 } },
  { name: "completion, guard off, max_tokens 16", body: { prompt: "12+7=", max_tokens: 16, temperature: 1, drift_guard: false } },
  { name: "chat, guard on (k = 4), max_tokens 16", body: { messages: [{ role: "user", content: "Hello" }], max_tokens: 16, temperature: 1 } },
];

async function post(w: LocalWorker, body: object, seed: number): Promise<{ ms: number; tokens: number }> {
  const path = "messages" in body ? "/v1/chat/completions" : "/v1/completions";
  const t0 = performance.now();
  const res = await fetch(`${w.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, ...body, seed }) });
  const json = (await res.json()) as { usage?: { completion_tokens: number }; error?: { message: string } };
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${json.error?.message}`);
  return { ms: performance.now() - t0, tokens: json.usage!.completion_tokens };
}

const fmtMiB = (bytes: number) => `${(bytes / MiB).toFixed(2)} MiB`;

export async function benchWorkerLimits(): Promise<void> {
  const bundle = bundleWorker();
  const wasm = bundle.files.filter((f) => f.name.endsWith(".wasm")).reduce((s, f) => s + f.gzipBytes, 0);
  const models = bundle.files.filter((f) => !f.name.endsWith(".wasm") && f.name !== "worker.js").reduce((s, f) => s + f.gzipBytes, 0);
  const script = bundle.files.find((f) => f.name === "worker.js")!;
  const sizePlan = bundle.gzipBytes <= LIMITS.free.scriptGzip ? "free" : bundle.gzipBytes <= LIMITS.paid.scriptGzip ? "paid" : "neither";

  const w = await startLocalWorker({ drift_guard: { allow_disable: true } });
  const rows: string[] = [];
  let worstCpuMs = 0;
  try {
    const cold0 = w.cpuSeconds();
    const first = await post(w, { prompt: "1", max_tokens: 1 }, 0); // builds the gateway: verify + open both checkpoints
    const coldCpuMs = (w.cpuSeconds() - cold0) * 1000;
    rows.push(`| first request (cold: checkpoints verified and opened) | ${coldCpuMs.toFixed(0)} | ${first.ms.toFixed(0)} | — |`);
    // Kinds interleaved request by request (the same background for each); each request's CPU is the
    // workerd time from sending it until SETTLE_MS after its answer, so its waitUntil drift-log pass counts.
    const totals = KINDS.map(() => ({ cpuMs: 0, ms: 0, tokens: 0 }));
    for (const kind of KINDS) await post(w, kind.body, 1);
    for (let i = 0; i < REQUESTS; i++) {
      for (const [k, kind] of KINDS.entries()) {
        const cpu0 = w.cpuSeconds();
        const r = await post(w, kind.body, 100 + i);
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        totals[k]!.cpuMs += (w.cpuSeconds() - cpu0) * 1000;
        totals[k]!.ms += r.ms;
        totals[k]!.tokens += r.tokens;
      }
    }
    for (const [k, kind] of KINDS.entries()) {
      const t = totals[k]!;
      worstCpuMs = Math.max(worstCpuMs, t.cpuMs / REQUESTS);
      rows.push(`| ${kind.name} | ${(t.cpuMs / REQUESTS).toFixed(1)} | ${(t.ms / REQUESTS).toFixed(1)} | ${(t.tokens / REQUESTS).toFixed(1)} |`);
    }
  } finally {
    await w.close();
  }
  const cpuPlan = worstCpuMs <= LIMITS.free.cpuMs ? "free" : "paid";
  const plan = sizePlan === "neither" ? "neither (bundle over 10 MiB gzip)" : sizePlan === "paid" || cpuPlan === "paid" ? "paid (Workers Standard)" : "free";
  const [load1] = loadavg();
  console.log(`worker-limits (load ${load1!.toFixed(2)}, ${REQUESTS} requests per kind, CPU = workerd user+system time / request)\n`);
  console.log("| bundle | raw | gzip |\n|---|---|---|");
  console.log(`| total upload | ${fmtMiB(bundle.rawBytes)} | ${fmtMiB(bundle.gzipBytes)} |`);
  console.log(`| onnxruntime-web .wasm | ${fmtMiB(bundle.files.filter((f) => f.name.endsWith(".wasm")).reduce((s, f) => s + f.rawBytes, 0))} | ${fmtMiB(wasm)} |`);
  console.log(`| demo pair (bundled checkpoints) | ${fmtMiB(bundle.files.filter((f) => !f.name.endsWith(".wasm") && f.name !== "worker.js").reduce((s, f) => s + f.rawBytes, 0))} | ${fmtMiB(models)} |`);
  console.log(`| worker.js (gateway + libraries) | ${fmtMiB(script.rawBytes)} | ${fmtMiB(script.gzipBytes)} |`);
  console.log(`\nlimits (gzip): free ${fmtMiB(LIMITS.free.scriptGzip)}, paid ${fmtMiB(LIMITS.paid.scriptGzip)} → size needs: ${sizePlan}\n`);
  console.log("| request | CPU ms / request | wall ms / request | completion tokens |\n|---|---|---|---|");
  for (const row of rows) console.log(row);
  console.log(`\nCPU limits: free ${LIMITS.free.cpuMs} ms, paid ${LIMITS.paid.cpuMs / 1000} s (default) → CPU needs: ${cpuPlan}`);
  console.log(`plan needed: ${plan}`);
}
