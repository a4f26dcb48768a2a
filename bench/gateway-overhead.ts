// Gateway overhead with the instant fake engine: requests/s and latency percentiles of POST /v1/completions
// through a real HTTP server (@hono/node-server on 127.0.0.1, port 0), drift log ON (BatchedDriftWriter into a
// fresh database: `tether_bench_<pid>` created on TEST_DATABASE_URL / DATABASE_URL and dropped after, else an
// in-memory PGlite) with drift_log.durability "fsync" (write-ahead log, group fsync before each response) and
// "memory", vs OFF (a store that discards). Prints each on/off requests/s ratio (goal ≥ 0.95), the p99 latency
// each adds (goal < 1 ms), the load, and the rows that landed (checked against the requests made). The client is a fetch loop with IN_FLIGHT requests outstanding, in a worker thread so that it does
// not share the server's event loop (autocannon is not installed). `npm run bench -- gateway`
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
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

async function drive(url: string, seconds: number): Promise<Run> {
  const cpu0 = process.cpuUsage();
  const worker = new Worker(CLIENT, { eval: true, workerData: { url: `${url}/v1/completions`, body: BODY, inFlight: IN_FLIGHT, durationMs: seconds * 1000 } });
  const msg = await new Promise<{ lat: number[]; statuses: Record<string, number>; seconds: number; error?: string }>((ok, fail) => {
    worker.once("message", ok);
    worker.once("error", fail);
  });
  const cpu = process.cpuUsage(cpu0);
  await worker.terminate();
  if (msg.error) throw new Error(`bench gateway: client: ${msg.error}`);
  const lat = msg.lat.sort((a, b) => a - b);
  return { rps: lat.length / msg.seconds, requests: lat.length, p50: quantile(lat, 0.5), p90: quantile(lat, 0.9), p99: quantile(lat, 0.99), cpuMs: (cpu.user + cpu.system) / 1000 / lat.length, statuses: msg.statuses };
}

/** A fresh database: its own on the PostgreSQL server (dropped by `drop`), else an in-memory PGlite. */
async function freshDatabase(): Promise<{ handle: DbHandle; drop: () => Promise<void> }> {
  const url = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (!url) {
    const handle = await createDb("memory://");
    return { handle, drop: () => handle.close() };
  }
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

export async function benchGateway(): Promise<void> {
  const { handle, drop } = await freshDatabase();
  const spillDir = mkdtempSync(join(tmpdir(), "tether-bench-gateway-spill-"));
  const servers: Array<{ close: () => Promise<void> }> = [];
  const writers: BatchedDriftWriter[] = [];
  try {
    await migrate(handle);
    // max_kl far above the fakes' KL (≈ 0.04 nats/token): every request is one round of 4 candidates, 5 rows
    const config = loadGatewayConfig({ drift_guard: { max_kl: 10 } }, {});
    const open = async (durability: "fsync" | "memory") => {
      const w = await BatchedDriftWriter.open({ write: (b) => insertDriftBatch(handle.db, b), log: { ...config.drift_log, durability }, spillDir: join(spillDir, durability) });
      writers.push(w);
      return w;
    };
    const engines = () => ({
      policy: new FakeEngine({ id: "fake-policy", seed: 7, drift: 0.3, eosBias: -Infinity, specialBias: -Infinity }),
      reference: new FakeEngine({ id: "fake-reference", seed: 7, eosBias: -Infinity, specialBias: -Infinity }),
    });
    const VARIANTS = ["off", "memory", "fsync"] as const;
    type Variant = (typeof VARIANTS)[number];
    const urls = {} as Record<Variant, string>;
    for (const v of VARIANTS) {
      const store = v === "off" ? new DiscardingStore() : await open(v);
      const server = await listen(createApp({ ...engines(), store, config, logError: (m, e) => console.error(m, e) }).fetch);
      servers.push(server);
      urls[v] = server.url;
    }

    console.log(`gateway overhead · fake engine · @hono/node-server · ${IN_FLIGHT} in flight · drift log ${handle.label} · load ${load()}`);
    console.log(`POST /v1/completions ${BODY} · ${REPEATS} runs of ${RUN_S} s per variant, alternating, after ${WARMUP_S} s warm-up each`);
    let onRequests = 0;
    for (const v of VARIANTS) {
      const warm = await drive(urls[v], WARMUP_S);
      if (v !== "off") onRequests += warm.requests;
    }
    const runs = { off: [] as Run[], memory: [] as Run[], fsync: [] as Run[] };
    console.log("variant      run  requests   req/s   p50 ms  p90 ms  p99 ms  CPU ms/req  statuses");
    for (let r = 0; r < REPEATS; r++) {
      // Rotate the order each repeat so that no variant always runs first after another.
      for (const variant of VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length]!)) {
        const run = await drive(urls[variant], RUN_S);
        runs[variant].push(run);
        if (variant !== "off") onRequests += run.requests;
        console.log(
          `${`log ${variant}`.padEnd(11)} ${String(r + 1).padStart(4)} ${String(run.requests).padStart(9)} ${run.rps.toFixed(0).padStart(7)} ${ms(run.p50)} ${ms(run.p90)} ${ms(run.p99)} ${run.cpuMs.toFixed(2).padStart(11)}  ${JSON.stringify(run.statuses)}`,
        );
      }
    }
    const med = (v: Variant, k: "rps" | "p50" | "p99" | "cpuMs") => median(runs[v].map((x) => x[k]));
    for (const w of writers) await w.flush();
    const stats = writers.map((w) => w.stats());
    const count = async (table: "requests" | "drift_samples") => (await selectRows<{ n: number }>(handle.db, sql.raw(`select count(*)::int as n from ${table}`)))[0]!.n;
    const [requestRows, sampleRows] = [await count("requests"), await count("drift_samples")];
    const summary = (v: Variant) =>
      `${v} ${med(v, "rps").toFixed(0)} req/s, p50 ${med(v, "p50").toFixed(2)} ms, p99 ${med(v, "p99").toFixed(2)} ms, ${med(v, "cpuMs").toFixed(2)} CPU ms/req`;
    console.log(`medians: ${VARIANTS.map(summary).join(" · ")}`);
    for (const v of ["memory", "fsync"] as const) {
      console.log(
        `durability ${v}: req/s on/off ${(med(v, "rps") / med("off", "rps")).toFixed(2)}× (goal ≥ 0.95) · p99 added ${(med(v, "p99") - med("off", "p99")).toFixed(2)} ms (goal < 1 ms)` +
          ` · CPU on/off ${(med(v, "cpuMs") / med("off", "cpuMs")).toFixed(2)}×`,
      );
    }
    console.log(`load ${load()}`);
    const total = (k: "rowsWritten" | "batches" | "spilledRows" | "retries" | "refused") => stats.reduce((a, x) => a + x[k], 0);
    console.log(
      `drift log: ${requestRows} request rows for ${onRequests} requests made${requestRows === onRequests ? " (all landed)" : " — MISMATCH"}, ${sampleRows} sample rows · ` +
        `writers: ${total("rowsWritten")} rows in ${total("batches")} batches, ${total("spilledRows")} spilled, ${total("retries")} retries, ${total("refused")} refused`,
    );
    if (requestRows !== onRequests) process.exitCode = 1;
  } finally {
    for (const s of servers) await s.close();
    for (const w of writers) await w.close();
    await drop();
    rmSync(spillDir, { recursive: true, force: true });
  }
}
