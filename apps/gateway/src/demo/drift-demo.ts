// `npm run drift:demo`: watch a drift alert fire. Serves the deliberately over-tuned models/demo/drifted (β = 0,
// apps/trainer/src/demo/train-drifted.ts) against the demo reference, with alert rules whose thresholds come
// from the APPROVED demo policy's eval.json (what a healthy policy does to the reference), sends arithmetic
// traffic, and prints the alert from /admin/alerts/stream and the dashboard URL — then keeps serving until
// Ctrl-C, or exits after the alert with --exit-after-alert (the test runs it that way).
//
// 1) temporary data dir + a random admin token (printed once) → 2) gateway → 3) read the alert stream
// 4) traffic: a few concurrent clients, addition/subtraction (the base task the reference knows) and
//    multiplication (the task the policy was tuned on) → 5) first `firing` event: print it
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { AlertRuleConfig } from "@tether/shared/schemas/alerts";
import { loadGatewayConfig } from "@tether/shared/schemas/gateway-config";
import { createSseParser } from "../dashboard/client/sse-parser.js";
import type { AlertJson } from "../monitor/alert-bus";
import { startGateway } from "../server.node.ts";

const REPO = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../../..");
const APPROVED = join(REPO, "models/demo/policy"); // whose eval.json is the budget
const DRIFTED = join(REPO, "models/demo/drifted");
const REFERENCE = join(REPO, "models/demo/reference");

/** The approved policy's held-out per-request KL percentiles (eval.json), nats/token. */
function approvedBudget(): { p50: number; p75: number; p95: number; p99: number } {
  const ev = JSON.parse(readFileSync(join(APPROVED, "eval.json"), "utf8")) as { kl: { per_request_kl_mean: { quantiles: { q: number; value: number }[] } } };
  const q = (p: number) => ev.kl.per_request_kl_mean.quantiles.find((x) => x.q === p)!.value;
  return { p50: q(0.5), p75: q(0.75), p95: q(0.95), p99: q(0.99) };
}

/**
 * The rule that fires within a minute on a drifted policy: the 1-minute window's MEDIAN request drifts further
 * than half of the approved policy's held-out requests (its eval.json p50). The held-out set is the new task
 * (multiplication), where the reference never learnt `*` and an approved policy that did learn it already sits
 * high (p50 7.48, p75 9.61 nats/token for the committed pair). On the demo's arithmetic traffic the approved
 * policy's median request is a base-task one with KL ≈ 0 (it kept the base task), while the drifted policy's
 * window median is ≈ 9.2–9.5 (it forgot it): the p50 line sits between the two with room on both sides, where the
 * earlier p75 line (chosen for a pair whose policy had not learnt `*`) is crossed by only 2–6%. A median
 * crosses with the bulk of the traffic, not with a tail, so the alert holds steady instead of flickering the
 * way a p95-vs-p99 rule does on a policy whose held-out tail is long. 1-minute window, 10-s for-duration (a
 * newcomer need not wait five minutes), after 20 requests.
 */
export function demoRules(budget: { p50: number }): AlertRuleConfig[] {
  return [{ name: "demo-kl-median-over-budget", metric: "kl_mean", window: "1m", statistic: "p50", comparison: ">", threshold: budget.p50, min_samples: 20, for: "10s", hysteresis: 0.1, severity: "warning", arm: "any", auto_rollback: false }];
}

/** Seeded arithmetic prompts in the demo models' format ("47+8=", "23*6="). */
function* prompts(seed: number): Generator<string> {
  let s = seed >>> 0;
  const next = (n: number) => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s % n); // LCG: reproducible traffic
  for (;;) {
    const a = next(100);
    const kind = next(3);
    yield kind === 0 ? `${a}+${next(100)}=` : kind === 1 ? `${a}-${next(a + 1)}=` : `${a}*${next(10)}=`;
  }
}

function describeAlert(a: AlertJson): string {
  return `${a.state.toUpperCase()} ${a.severity} "${a.rule}": ${a.statistic}(${a.metric}, ${a.window}) = ${a.value?.toFixed(3)} ${a.comparison} ${a.threshold.toFixed(3)} nats/token over ${a.samples} requests (${a.arm}, ${a.checkpoint_id})`;
}

/** Reads the alert stream until the first `firing` event (or the signal aborts). */
async function firstFiring(url: string, token: string, signal: AbortSignal, log: (line: string) => void): Promise<AlertJson> {
  const res = await fetch(`${url}/admin/alerts/stream`, { headers: { authorization: `Bearer ${token}` }, signal });
  if (!res.ok || !res.body) throw new Error(`alert stream: HTTP ${res.status}`);
  let found: AlertJson | null = null;
  const parser = createSseParser((e) => {
    if (e.event !== "alert" || found) return;
    const alert = JSON.parse(e.data) as AlertJson;
    if (alert.state === "pending") log(`drift:demo: ${describeAlert(alert)}`);
    if (alert.state === "firing") found = alert;
  });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.push(value);
    if (found) {
      await reader.cancel();
      return found;
    }
  }
  throw new Error("alert stream ended before an alert fired");
}

/**
 * `clients` loops of completions until `signal` aborts; resolves to the number of answered requests. A request
 * in flight is let finish (not aborted), so the gateway's drain sees no half-served request.
 */
async function traffic(url: string, model: string, clients: number, pauseMs: () => number, signal: AbortSignal): Promise<number> {
  const gen = prompts(7);
  let answered = 0;
  const client = async () => {
    while (!signal.aborted) {
      const body = { model, prompt: gen.next().value, max_tokens: 6, temperature: 1 };
      try {
        const res = await fetch(`${url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
        await res.arrayBuffer();
        answered++;
      } catch {
        if (signal.aborted) break;
      }
      if (signal.aborted) break;
      await new Promise((r) => setTimeout(r, pauseMs()));
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return answered;
}

export async function main(argv: string[], log: (line: string) => void = console.log): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { "exit-after-alert": { type: "boolean" }, "timeout-s": { type: "string" } } });
  const timeoutS = Number(values["timeout-s"] ?? 90);
  const started = Date.now();
  const dataDir = mkdtempSync(join(tmpdir(), "tether-drift-demo-"));
  const token = randomBytes(24).toString("base64url");
  const budget = approvedBudget();
  const config = loadGatewayConfig(
    {
      port: Number(process.env.PORT ?? 0),
      policy: DRIFTED,
      reference: REFERENCE,
      data_dir: dataDir,
      admin_token: token,
      // The guard stays on (k = 2, one round, least-KL answer) so the rejection chart has something to show.
      drift_guard: { max_kl: budget.p99, candidates: 2, max_rounds: 1, fallback: "least_kl" },
      alerts: { rules: demoRules(budget), evaluate_interval_s: 1, stream_interval_s: 1 },
    },
    {},
  );
  const gateway = await startGateway(config, (line) => log(line));
  const stop = new AbortController();
  let heavy = true;
  const load = traffic(gateway.url, JSON.parse(readFileSync(join(DRIFTED, "manifest.json"), "utf8")).id as string, 3, () => (heavy ? 0 : 500), stop.signal);
  // --exit-after-alert (tests) leaves nothing behind; an interactive run keeps its drift log for `npm run drift`.
  const shutdown = async (keep: boolean) => {
    stop.abort();
    await load;
    await gateway.close();
    if (!keep) rmSync(dataDir, { recursive: true, force: true });
  };
  log(`drift:demo: serving models/demo/drifted against models/demo/reference on ${gateway.url}`);
  log(`drift:demo: budget from models/demo/policy/eval.json: held-out per-request KL p50 ${budget.p50.toFixed(3)}, p75 ${budget.p75.toFixed(3)}, p99 ${budget.p99.toFixed(3)} nats/token`);
  log(`drift:demo: admin token for this run (shown once): ${token}`);
  log(`drift:demo: sending arithmetic traffic; waiting for an alert (rules: ${config.alerts.rules!.map((r) => r.name).join(", ")})`);
  const timer = setTimeout(() => stop.abort(), timeoutS * 1000);
  let alert: AlertJson;
  try {
    alert = await firstFiring(gateway.url, token, stop.signal, log);
  } catch (e) {
    log(`drift:demo: no alert fired within ${timeoutS} s (${(e as Error).message})`);
    await shutdown(false);
    return 1;
  } finally {
    clearTimeout(timer);
  }
  log(`drift:demo: ALERT after ${((Date.now() - started) / 1000).toFixed(1)} s — ${describeAlert(alert)}`);
  log(`drift:demo: dashboard: ${gateway.url}/dashboard (paste the admin token above)`);
  if (values["exit-after-alert"]) {
    await shutdown(false);
    return 0;
  }
  log(`drift:demo: after Ctrl-C, read its drift log with: TETHER_DATA_DIR=${dataDir} npm run drift -- summary`);
  heavy = false; // keep the charts moving at a gentle rate
  log("drift:demo: serving until Ctrl-C");
  await new Promise<void>((done) => process.once("SIGINT", () => done()));
  log("drift:demo: stopping");
  await shutdown(true);
  log(`drift:demo: drift log kept in ${dataDir} (TETHER_DATA_DIR=${dataDir} npm run drift -- summary; delete it when done)`);
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  process.exitCode = await main(process.argv.slice(2));
}
