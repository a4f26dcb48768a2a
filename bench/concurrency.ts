// A real server under load: what `npm start` runs (apps/gateway/dist/node/server.node.js, bench/server-process.ts) on the demo
// pair with PGlite in a temp data dir, driven by autocannon (in this process) at 1, 2, 4 and 16 connections, each
// posting the default guarded completion. Two servers started side by side: the engine pool (engine.workers unset
// = the cores) and the named peer, the same server with engine.workers = 0 (engines on the main thread, as before
// issue #12), driven in turn (ABBA: the machine's load drifts, each pair of runs shares it). Printed per run:
// req/s, latency p50/p99, status counts (only 200 and 429 are allowed), and /healthz p50/p99 sampled by a separate
// process during the 16-connection runs. Also the idle RSS of each right after it listens (first start on a new
// data dir, then a restart), read from /proc/<pid>/smaps_rollup; `npm run bench -- idle-rss` breaks it down.
// Goals (issue #12): throughput at 4 connections ≥ 1.6× that at 1 on 2 cores; /healthz p99 < 20 ms while the
// pool is saturated; idle RSS < 300 MB. `npm run bench -- concurrency [--seconds 6] [--pglite-peer]`
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { buildBundle, memory, mib, startServer, type ServerProcess as Server } from "./server-process";

const BODY = { prompt: "1+1=", max_tokens: 16, temperature: 1 }; // default guard: k = 4 candidates
const CONNECTIONS = [1, 2, 4, 16];
const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");

// Sequential GET /healthz from a child process of its own (autocannon keeps this one's event loop busy).
const SAMPLER = `
const http = require("node:http");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const [url, seconds] = [process.argv[1], Number(process.argv[2])];
const end = Date.now() + seconds * 1000, ms = [];
(function next() {
  if (Date.now() > end) return console.log(JSON.stringify(ms));
  const t = performance.now();
  http.get(url + "/healthz", { agent }, (res) => { res.resume(); res.on("end", () => { ms.push(performance.now() - t); setTimeout(next, 5); }); });
})();`;

function sampleHealthz(url: string, seconds: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", SAMPLER, url, String(seconds)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`healthz sampler exited ${code}`))));
  });
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

interface Run {
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
  healthz: number[] | null;
}

async function drive(server: Server, connections: number, seconds: number, withHealthz: boolean): Promise<Run> {
  const healthz = withHealthz ? sampleHealthz(server.url, seconds - 1) : null;
  const result = await autocannon({
    url: `${server.url}/v1/completions`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: server.model, ...BODY }),
    connections,
    duration: seconds,
  });
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [code, (s as { count: number }).count]));
  if (result.errors > 0) statuses.errors = result.errors;
  return { connections, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, statuses, healthz: healthz ? await healthz : null };
}

/** First start (a new data dir: PGlite runs initdb), then a restart on the same dir, which takes the load. */
async function prepare(label: string, config: object, env: Record<string, string>): Promise<Server & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "tether-concurrency-"));
  const first = await startServer(dir, config, env);
  await new Promise((r) => setTimeout(r, 2000)); // let start-up work settle before reading memory
  const firstMemory = memory(first.pid);
  await first.stop();
  const server = await startServer(dir, config, env);
  await new Promise((r) => setTimeout(r, 2000));
  console.log(`${label}\n  idle after start: first start ${mib(firstMemory)}; restart ${mib(memory(server.pid))}   load ${load()}`);
  const idle = await sampleHealthz(server.url, 3);
  console.log(`  /healthz with no load: p50 ${quantile(idle, 0.5).toFixed(2)} ms p99 ${quantile(idle, 0.99).toFixed(2)} ms (${idle.length} samples)`);
  await drive(server, 4, 2, false); // warm-up
  return { ...server, dir };
}

function line(name: string, run: Run): string {
  const h = run.healthz ? `  /healthz p50 ${quantile(run.healthz, 0.5).toFixed(2)} p99 ${quantile(run.healthz, 0.99).toFixed(2)} ms (${run.healthz.length})` : "";
  const bad = Object.keys(run.statuses).filter((s) => s !== "200" && s !== "429");
  return `  ${name} ${String(run.connections).padStart(2)} conn: ${run.rps.toFixed(1).padStart(6)} req/s  p50 ${String(run.p50).padStart(3)} ms  p99 ${String(run.p99).padStart(4)} ms  ${JSON.stringify(run.statuses)}${bad.length ? " NOT ALLOWED" : ""}${h}   load ${load()}`;
}

export async function benchConcurrency(): Promise<void> {
  const i = process.argv.indexOf("--seconds");
  const seconds = i > 0 ? Number(process.argv[i + 1]) : 6;
  buildBundle();
  console.log(`concurrency: demo pair, ${JSON.stringify(BODY)}, ${seconds} s per run, ${availableParallelism()} cores, load ${load()}`);
  const servers = {
    pool: await prepare(`pool: engine.workers unset = ${availableParallelism()} worker threads × 1 ORT thread, PGlite in its worker thread`, {}, {}),
    // `--pglite-peer`: the peer is the same pool with PGlite in process instead of in its worker thread
    peer: process.argv.includes("--pglite-peer")
      ? await prepare("peer: the same pool, PGlite in process (TETHER_PGLITE_THREAD=0)", {}, { TETHER_PGLITE_THREAD: "0" })
      : await prepare("peer: engines on the main thread (engine.workers = 0, TETHER_ORT_THREADS=1)", { engine: { workers: 0 } }, { TETHER_ORT_THREADS: "1" }),
  };
  const runs: Record<"pool" | "peer", Run[]> = { pool: [], peer: [] };
  try {
    // interleaved, ABBA: the machine's load drifts, so each pair of runs shares it
    for (const order of [["pool", "peer"], ["peer", "pool"]] as const) {
      for (const c of CONNECTIONS) {
        for (const name of order) {
          const run = await drive(servers[name], c, seconds, c === 16);
          runs[name].push(run);
          console.log(line(name, run));
        }
      }
    }
  } finally {
    for (const s of Object.values(servers)) {
      await s.stop();
      rmSync(s.dir, { recursive: true, force: true });
    }
  }
  const rps = (name: "pool" | "peer", c: number) => mean(runs[name].filter((r) => r.connections === c).map((r) => r.rps));
  const h99 = (name: "pool" | "peer") => quantile(runs[name].filter((r) => r.healthz).flatMap((r) => r.healthz!), 0.99);
  const bad = [...runs.pool, ...runs.peer].flatMap((r) => Object.keys(r.statuses)).filter((s) => s !== "200" && s !== "429");
  console.log(`\nmeans of the two runs each:`);
  for (const name of ["pool", "peer"] as const) console.log(`  ${name}: ${CONNECTIONS.map((c) => `${c} conn ${rps(name, c).toFixed(1)}`).join(", ")} req/s`);
  console.log(`throughput 4 conn / 1 conn: pool ${(rps("pool", 4) / rps("pool", 1)).toFixed(2)}× (goal ≥ 1.6× on 2 cores), peer ${(rps("peer", 4) / rps("peer", 1)).toFixed(2)}×`);
  console.log(`pool / peer req/s: ${CONNECTIONS.map((c) => `${c} conn ${(rps("pool", c) / rps("peer", c)).toFixed(2)}×`).join(", ")}`);
  console.log(`/healthz p99 at 16 conn: pool ${h99("pool").toFixed(2)} ms (goal < 20 ms), peer ${h99("peer").toFixed(2)} ms; statuses other than 200/429: ${bad.length ? bad.join(",") : "none"}   load ${load()}`);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
