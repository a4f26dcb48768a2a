// Gateway overhead with the instant fake engine: requests/s and latency percentiles of POST /v1/completions
// through a real HTTP server (@hono/node-server on 127.0.0.1, port 0), drift log OFF (a store that discards) vs ON
// (BatchedDriftWriter) with drift_log.durability "memory" and "fsync" (write-ahead log, group fsync before each
// response), into PGlite as the gateway ships it (a fresh data dir, in its own worker thread, server.node.ts) and,
// when TEST_DATABASE_URL / DATABASE_URL is set, PostgreSQL (`tether_bench_<pid>`, created and dropped), all
// servers side by side and driven in turn. Prints each on/off requests/s ratio (goal ≥ 0.95), the p99 latency
// each adds (goal < 1 ms), CPU per request of the process and of the main thread alone (event-loop utilisation),
// the fdatasync latency of the disk, the load, and the rows that landed (checked against the requests made). The
// client is a fetch loop with IN_FLIGHT requests outstanding, in a worker thread so that it does not share the
// server's event loop (autocannon is not installed). `npm run bench -- gateway [--pglite-inproc] [--variants=off,pglite-fsync,…]`
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance as nodePerformance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { serve, type ServerType } from "@hono/node-server";
import { sql } from "drizzle-orm";
import { createDb, insertDriftBatch, migrate, selectRows, type DbHandle } from "@tether/db";
import { loadGatewayConfig } from "@tether/shared/schemas/gateway-config";
import { createApp } from "../apps/gateway/src/app";
import { FakeEngine } from "../test/support/fake-engine";
import { BatchedDriftWriter } from "../apps/gateway/src/store/batched-writer";
import type { DriftStore, DriftStoreStats } from "../apps/gateway/src/store/drift-store";

const IN_FLIGHT = 8; // concurrent client requests (the gateway runs max_concurrent 4 and queues the rest)
const RUN_S = 2; // seconds per timed run: short, so that alternating runs see the same background load
const WARMUP_S = 1; // one untimed run per server first
const REPEATS = 7; // timed runs per variant, alternating off/on
const BODY = JSON.stringify({ model: "fake-policy", prompt: "1+1=", max_tokens: 8 }); // default guard: k = 4 candidates, 1 round (max_kl below)

/** Drift log OFF: takes every entry and keeps nothing. */
class DiscardingStore implements DriftStore {
  record(): void {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  stats(): DriftStoreStats {
    return {
      rowsWritten: 0, rowsDuplicate: 0, batches: 0, retries: 0, spilledRows: 0, replayedRows: 0, rejectedRows: 0,
      skippedLines: 0, refused: 0, bufferRows: 0, spillBytes: 0, spillFiles: 0, backoffMs: 0, lastError: null,
    };
  }
}

interface Run {
  rps: number;
  requests: number;
  p50: number;
  p90: number;
  p99: number;
  /** CPU time of this whole process (server, drift log client, load generator) per request: less sensitive to other processes than req/s. */
  cpuMs: number;
  /** Busy time of the main thread's event loop (the server and the drift log's writer; not the client or PGlite's worker) per request. */
  mainMs: number;
  /** On-CPU time of the main thread alone per request (Linux schedstat): unlike mainMs, not inflated while other processes hold the cores. */
  mainCpuMs: number;
  statuses: Record<string, number>;
}

// The load generator, plain JS for an eval'd worker: IN_FLIGHT loops, each awaiting its response body.
const CLIENT = `
const { parentPort, workerData: w } = require("node:worker_threads");
const lat = [];
const statuses = {};
const end = performance.now() + w.durationMs;
const loop = async () => {
  while (performance.now() < end) {
    const t0 = performance.now();
    const res = await fetch(w.url, { method: "POST", headers: { "content-type": "application/json" }, body: w.body });
    await res.arrayBuffer();
    lat.push(performance.now() - t0);
    statuses[res.status] = (statuses[res.status] || 0) + 1;
  }
};
const t0 = performance.now();
Promise.all(Array.from({ length: w.inFlight }, loop)).then(
  () => parentPort.postMessage({ lat, statuses, seconds: (performance.now() - t0) / 1000 }),
  (e) => parentPort.postMessage({ error: String(e && e.stack || e) }),
);`;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

function median(xs: number[]): number {
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

/** The main thread's on-CPU nanoseconds (Linux: /proc/<pid>/task/<pid>/schedstat); null elsewhere. */
function mainSchedstat(): { cpuNs: number } | null {
  try {
    const [cpuNs] = readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, "utf8").split(" ").map(Number);
    return { cpuNs: cpuNs! };
  } catch {
    return null;
  }
}

async function drive(url: string, seconds: number): Promise<Run> {
  const cpu0 = process.cpuUsage();
  const elu0 = nodePerformance.eventLoopUtilization();
  const sched0 = mainSchedstat();
  const worker = new Worker(CLIENT, { eval: true, workerData: { url: `${url}/v1/completions`, body: BODY, inFlight: IN_FLIGHT, durationMs: seconds * 1000 } });
  const msg = await new Promise<{ lat: number[]; statuses: Record<string, number>; seconds: number; error?: string }>((ok, fail) => {
    worker.once("message", ok);
    worker.once("error", fail);
  });
  const cpu = process.cpuUsage(cpu0);
  const elu = nodePerformance.eventLoopUtilization(elu0);
  const sched1 = mainSchedstat();
  await worker.terminate();
  if (msg.error) throw new Error(`bench gateway: client: ${msg.error}`);
  const lat = msg.lat.sort((a, b) => a - b);
  return { rps: lat.length / msg.seconds, requests: lat.length, p50: quantile(lat, 0.5), p90: quantile(lat, 0.9), p99: quantile(lat, 0.99), cpuMs: (cpu.user + cpu.system) / 1000 / lat.length, mainMs: elu.active / lat.length, mainCpuMs: sched0 && sched1 ? (sched1.cpuNs - sched0.cpuNs) / 1e6 / lat.length : NaN, statuses: msg.statuses };
}

/** A fresh database: its own on the PostgreSQL server (dropped by `drop`). */
async function freshPostgres(url: string): Promise<{ handle: DbHandle; drop: () => Promise<void> }> {
  const name = `tether_bench_${process.pid}`;
  const admin = await createDb(url);
  await admin.db.execute(sql.raw(`create database ${name}`));
  const own = new URL(url);
  own.pathname = `/${name}`;
  const handle = await createDb(own.toString());
  return {
    handle,
    drop: async () => {
      await handle.close();
      await admin.db.execute(sql.raw(`drop database if exists ${name} with (force)`));
      await admin.close();
    },
  };
}

/** PGlite as the gateway opens it (server.node.ts): a data dir, in its own worker thread unless `thread` is false. */
async function freshPglite(dir: string, thread: boolean): Promise<{ handle: DbHandle; drop: () => Promise<void> }> {
  const handle = await createDb(dir, { thread });
  return { handle, drop: () => handle.close() };
}

/** Median ms of `n` sequential 200-byte appends + fdatasync in `dir`: the physical floor of a group fsync on this disk. */
async function fdatasyncMs(dir: string, n = 200): Promise<{ p50: number; p99: number }> {
  const fh = await open(join(dir, "fdatasync-probe"), "w");
  const line = Buffer.alloc(200, 0x61);
  const lat: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await fh.write(line);
      await fh.datasync();
      lat.push(performance.now() - t0);
    }
  } finally {
    await fh.close();
  }
  lat.sort((a, b) => a - b);
  return { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99) };
}

async function listen(fetch: (req: Request) => Response | Promise<Response>): Promise<{ url: string; close: () => Promise<void> }> {
  const server: ServerType = await new Promise((ready) => {
    const s = serve({ fetch, port: 0, hostname: "127.0.0.1" }, () => ready(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        if ("closeAllConnections" in server) server.closeAllConnections();
      }),
  };
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");
const ms = (x: number) => x.toFixed(2).padStart(7);

type Durability = "memory" | "fsync";
interface Backend {
  key: string; // "pglite", "pglite-inproc", "postgres"
  handle: DbHandle;
  drop: () => Promise<void>;
  writers: BatchedDriftWriter[];
  requests: number; // made against this backend's servers (warm-up included)
}

/**
 * `npm run bench -- gateway [--pglite-inproc]`: drift log off vs on for PGlite in its worker thread (a data dir, as
 * server.node.ts opens it) and, when TEST_DATABASE_URL / DATABASE_URL is set, PostgreSQL, all in one alternating run;
 * `--pglite-inproc` adds PGlite on the serving thread (`TETHER_PGLITE_THREAD=0`).
 */
export async function benchGateway(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), "tether-bench-gateway-"));
  const backends: Backend[] = [];
  const servers: Array<{ close: () => Promise<void> }> = [];
  try {
    const url = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
    const open = async (key: string, db: Promise<{ handle: DbHandle; drop: () => Promise<void> }>) => {
      const { handle, drop } = await db;
      const b: Backend = { key, handle, drop, writers: [], requests: 0 };
      backends.push(b);
      await migrate(handle);
      return b;
    };
    await open("pglite", freshPglite(join(tmp, "pgdata"), true));
    if (process.argv.includes("--pglite-inproc")) await open("pglite-inproc", freshPglite(join(tmp, "pgdata-inproc"), false));
    if (url) await open("postgres", freshPostgres(url));

    // max_kl far above the fakes' KL (≈ 0.04 nats/token): every request is one round of 4 candidates, 5 rows
    const config = loadGatewayConfig({ drift_guard: { max_kl: 10 } }, {});
    const engines = () => ({
      policy: new FakeEngine({ id: "fake-policy", seed: 7, drift: 0.3, eosBias: -Infinity, specialBias: -Infinity }),
      reference: new FakeEngine({ id: "fake-reference", seed: 7, eosBias: -Infinity, specialBias: -Infinity }),
    });
    interface Variant { name: string; url: string; backend: Backend | null }
    const variants: Variant[] = [];
    const serveWith = async (name: string, store: DriftStore, backend: Backend | null) => {
      const server = await listen(createApp({ ...engines(), store, config, logError: (m, e) => console.error(m, e) }).fetch);
      servers.push(server);
      variants.push({ name, url: server.url, backend });
    };
    await serveWith("off", new DiscardingStore(), null);
    for (const b of backends) {
      for (const durability of ["memory", "fsync"] as Durability[]) {
        const w = await BatchedDriftWriter.open({
          write: (batch) => insertDriftBatch(b.handle.db, batch),
          log: { ...config.drift_log, durability },
          spillDir: join(tmp, `spill-${b.key}-${durability}`),
        });
        b.writers.push(w);
        await serveWith(`${b.key} ${durability}`, w, b);
      }
    }

    // `--variants=off,pglite-fsync`: only these servers are driven (e.g. under node --cpu-prof)
    const only = process.argv.find((a) => a.startsWith("--variants="))?.slice("--variants=".length).split(",");
    if (only) variants.splice(0, variants.length, ...variants.filter((v) => only.includes(v.name.replace(" ", "-"))));
    const sync = await fdatasyncMs(tmp);
    console.log(`gateway overhead · fake engine · @hono/node-server · ${IN_FLIGHT} in flight · load ${load()}`);
    console.log(`drift log: ${backends.map((b) => `${b.key} = ${b.handle.label}${b.key === "pglite" ? " (worker thread, as server.node.ts)" : ""}`).join(" · ")}`);
    console.log(`fdatasync of a 200-byte append in ${tmpdir()}: p50 ${sync.p50.toFixed(2)} ms, p99 ${sync.p99.toFixed(2)} ms (the floor a group fsync adds)`);
    console.log(`POST /v1/completions ${BODY} · ${REPEATS} runs of ${RUN_S} s per variant, alternating, after ${WARMUP_S} s warm-up each`);
    for (const v of variants) {
      const warm = await drive(v.url, WARMUP_S);
      if (v.backend) v.backend.requests += warm.requests;
    }
    const runs = new Map<string, Run[]>(variants.map((v) => [v.name, []]));
    const width = Math.max(...variants.map((v) => v.name.length)) + 1;
    console.log(`${"variant".padEnd(width)}  run  requests   req/s   p50 ms  p90 ms  p99 ms  CPU ms/req  main busy/CPU ms/req  statuses`);
    for (let r = 0; r < REPEATS; r++) {
      // Rotate the order each repeat so that no variant always runs first after another.
      for (const v of variants.map((_, i) => variants[(i + r) % variants.length]!)) {
        const run = await drive(v.url, RUN_S);
        runs.get(v.name)!.push(run);
        if (v.backend) v.backend.requests += run.requests;
        console.log(
          `${v.name.padEnd(width)} ${String(r + 1).padStart(4)} ${String(run.requests).padStart(9)} ${run.rps.toFixed(0).padStart(7)} ${ms(run.p50)} ${ms(run.p90)} ${ms(run.p99)} ${run.cpuMs.toFixed(2).padStart(11)} ${run.mainMs.toFixed(2).padStart(10)} ${run.mainCpuMs.toFixed(2).padStart(5)}  ${JSON.stringify(run.statuses)}`,
        );
      }
    }
    const med = (name: string, k: "rps" | "p50" | "p99" | "cpuMs" | "mainMs" | "mainCpuMs") => median(runs.get(name)!.map((x) => x[k]));
    console.log("medians:");
    for (const v of variants) {
      console.log(
        `  ${v.name.padEnd(width)} ${med(v.name, "rps").toFixed(0).padStart(6)} req/s, p50 ${med(v.name, "p50").toFixed(2)} ms, p99 ${med(v.name, "p99").toFixed(2)} ms, ` +
          `${med(v.name, "cpuMs").toFixed(2)} CPU ms/req (process), main thread ${med(v.name, "mainMs").toFixed(2)} ms/req busy (event loop), ${med(v.name, "mainCpuMs").toFixed(2)} on CPU`,
      );
    }
    for (const v of variants.filter((x) => x.backend && runs.has("off"))) {
      console.log(
        `${v.name.padEnd(width)}: req/s on/off ${(med(v.name, "rps") / med("off", "rps")).toFixed(2)}× (goal ≥ 0.95) · p99 added ${(med(v.name, "p99") - med("off", "p99")).toFixed(2)} ms (goal < 1 ms)` +
          ` · CPU on/off ${(med(v.name, "cpuMs") / med("off", "cpuMs")).toFixed(2)}× · main thread +${(med(v.name, "mainMs") - med("off", "mainMs")).toFixed(3)} ms/req busy, +${(med(v.name, "mainCpuMs") - med("off", "mainCpuMs")).toFixed(3)} on CPU`,
      );
    }
    console.log(`load ${load()}`);
    for (const b of backends) {
      for (const w of b.writers) await w.flush();
      const stats = b.writers.map((w) => w.stats());
      const count = async (table: "requests" | "drift_samples") => (await selectRows<{ n: number }>(b.handle.db, sql.raw(`select count(*)::int as n from ${table}`)))[0]!.n;
      const [requestRows, sampleRows] = [await count("requests"), await count("drift_samples")];
      const total = (k: "rowsWritten" | "batches" | "spilledRows" | "retries" | "refused") => stats.reduce((a, x) => a + x[k], 0);
      console.log(
        `${b.key}: ${requestRows} request rows for ${b.requests} requests made${requestRows === b.requests ? " (all landed)" : " — MISMATCH"}, ${sampleRows} sample rows · ` +
          `writers: ${total("rowsWritten")} rows in ${total("batches")} batches, ${total("spilledRows")} spilled, ${total("retries")} retries, ${total("refused")} refused`,
      );
      if (requestRows !== b.requests) process.exitCode = 1;
    }
  } finally {
    for (const s of servers) await s.close();
    for (const b of backends) {
      for (const w of b.writers) await w.close();
      await b.drop();
    }
    rmSync(tmp, { recursive: true, force: true });
  }
}
