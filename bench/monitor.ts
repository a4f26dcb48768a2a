// Drift monitor cost (`npm run bench -- monitor`).
// 1) Window + rule cost per request at 1,000 requests/s: 60 simulated seconds of traffic (k = 4 candidates
//    × 4 sketch layers per request, both arms) observed into the windows, with the default rules evaluated
//    every 5 simulated seconds as the Node entry does; CPU time ÷ requests (goal < 50 µs). The clock is
//    simulated so the machine's speed does not change the traffic pattern.
// 2) Added latency of the request path: p99 of one observe() call (it runs inside finishRequest), the
//    duration of one evaluation (it runs on the event loop between requests, so a request that arrives
//    during it waits at most that long), and an A/B of POST /v1/completions through app.request with the
//    monitor's observe on vs off (fake instant engine; goal: p99 added < 1 ms).
// Prints medians over repeats and the machine's load (2 shared cores: read the numbers as directions).
import { loadavg } from "node:os";
import { evalReport } from "@tether/shared/schemas/eval";
import { loadGatewayConfig } from "@tether/shared/schemas/gateway-config";
import { policyEval } from "../test/support/schema-documents";
import { createApp } from "../apps/gateway/src/app";
import { FakeEngine } from "../test/support/fake-engine";
import { AlertBus } from "../apps/gateway/src/monitor/alert-bus";
import { defaultAlertRules } from "../apps/gateway/src/monitor/default-rules";
import { MemoryAlertStore } from "../apps/gateway/src/monitor/memory-alert-store";
import { DriftMonitor } from "../apps/gateway/src/monitor/monitor";
import { compileRule } from "../apps/gateway/src/monitor/rules";
import type { RequestRowLike, SampleRowLike } from "../apps/gateway/src/monitor/observation";
import { MemoryDriftStore } from "../apps/gateway/src/store/memory-store";

const RATE = 1000; // requests per simulated second
const SECONDS = 60;
const EVAL_EVERY_S = 5;
const REPEATS = 5;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
const median = (xs: number[]) => quantile([...xs].sort((a, b) => a - b), 0.5);

/** A request as the gateway logs it: 4 candidates (one returned) × 4 layers. */
function requestRows(i: number, at: number): { request: RequestRowLike; samples: SampleRowLike[] } {
  const kl = 0.02 + ((i * 7919) % 1000) / 10_000;
  const samples: SampleRowLike[] = [];
  for (let c = 0; c < 4; c++) for (let l = 0; l < 4; l++) samples.push({ layer: l, choiceIndex: c === 0 ? 0 : null, klMax: 3 * kl, accepted: c === 0, sketchPercentile: (i * 37 + l * 11) % 100 });
  return { request: { createdAt: new Date(at), policyId: "pol", arm: i % 10 === 0 ? "canary" : "active", guardMode: "hard", fallback: null, errorCode: null, klMean: kl, totalMs: 20 + (i % 50) }, samples };
}

async function windowCost(): Promise<{ perRequestUs: number; observeP99Us: number; evalMs: number }> {
  const ev = evalReport.parse(policyEval());
  const clock = { t: 1_700_000_000_000, now() { return this.t; } };
  const monitor = new DriftMonitor({
    rules: defaultAlertRules(ev, true).map(compileRule), references: () => ({ eval: ev, guardMaxKl: 0.15, hasSketch: true }),
    store: new MemoryAlertStore(), bus: new AlertBus(), clock, logError: () => {},
  });
  const rows = Array.from({ length: RATE * SECONDS }, (_, i) => requestRows(i, clock.t + (i * 1000) / RATE));
  const observeNs: number[] = [];
  const evalMs: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < rows.length; i++) {
    const t0 = process.hrtime.bigint();
    monitor.observe(rows[i]!.request, rows[i]!.samples);
    observeNs.push(Number(process.hrtime.bigint() - t0));
    clock.t = rows[i]!.request.createdAt.getTime();
    if ((i + 1) % (RATE * EVAL_EVERY_S) === 0) {
      const e0 = performance.now();
      await monitor.evaluate();
      evalMs.push(performance.now() - e0);
    }
  }
  const cpu = process.cpuUsage(cpu0);
  observeNs.sort((a, b) => a - b);
  return { perRequestUs: (cpu.user + cpu.system) / rows.length, observeP99Us: quantile(observeNs, 0.99) / 1000, evalMs: median(evalMs) };
}

function gatewayApp(observe: boolean) {
  const policy = new FakeEngine({ id: "pol", seed: 7, drift: 0.3 });
  const reference = new FakeEngine({ id: "ref", seed: 7 });
  const app = createApp({ policy, reference, store: new MemoryDriftStore(), config: loadGatewayConfig({ drift_guard: { max_kl: 0.05 } }, {}), logLine: () => {} });
  if (!observe) app.context.monitoring.monitor.observe = () => {};
  return app;
}

/** p99 of each app, requests interleaved one by one so that both see the same background load. */
async function requestP99s(n: number): Promise<{ on: number; off: number }> {
  const apps = { on: gatewayApp(true), off: gatewayApp(false) };
  const body = JSON.stringify({ model: apps.on.context.modelName, prompt: "1+1=", max_tokens: 8 });
  const lat: Record<"on" | "off", number[]> = { on: [], off: [] };
  for (let i = 0; i < 2 * n; i++) {
    const which = i % 2 ? "on" : "off";
    const t0 = performance.now();
    const res = await apps[which].request("/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body });
    await res.arrayBuffer();
    lat[which].push(performance.now() - t0);
  }
  return { on: quantile(lat.on.sort((a, b) => a - b), 0.99), off: quantile(lat.off.sort((a, b) => a - b), 0.99) };
}

export async function benchMonitor(): Promise<void> {
  console.log(`bench monitor: load ${loadavg().map((x) => x.toFixed(2)).join(" ")} (1/5/15 min), ${REPEATS} repeats, medians`);
  const costs = [];
  for (let r = 0; r < REPEATS; r++) costs.push(await windowCost());
  console.log(`  windows + default rules at ${RATE} req/s for ${SECONDS} s simulated: ${median(costs.map((c) => c.perRequestUs)).toFixed(2)} µs CPU per request (goal < 50)`);
  console.log(`  observe() p99 ${median(costs.map((c) => c.observeP99Us)).toFixed(2)} µs; one evaluation of ${defaultAlertRules(evalReport.parse(policyEval()), true).length} rules × 2 arms ${median(costs.map((c) => c.evalMs)).toFixed(2)} ms every ${EVAL_EVERY_S} s`);
  const on: number[] = [];
  const off: number[] = [];
  await requestP99s(100); // warm-up
  for (let r = 0; r < REPEATS; r++) {
    const p = await requestP99s(1000);
    on.push(p.on);
    off.push(p.off);
  }
  const added = median(on) - median(off);
  console.log(`  POST /v1/completions p99 (app.request, fake engine): observe off ${median(off).toFixed(3)} ms, on ${median(on).toFixed(3)} ms (interleaved), added ${added.toFixed(3)} ms (goal < 1 ms)`);
  console.log(`  load after: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
}
