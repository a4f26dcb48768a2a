// `npm run soak [-- --seconds 120 --connections 96]`: a real gateway (server.node.ts, child process) on the demo
// pair under autocannon with far more connections than it serves at once (limits: 4 running, 16 queued, so
// the rest get 429), while faults are injected in turn:
//   1) steady        — load only (warm-up; RSS measured at its end)
//   2) pg-outage     — the throwaway PostgreSQL cluster stopped (pg_ctl -m immediate) for a while, then started
//   3) sigkill       — the gateway SIGKILLed mid-load and restarted on the same data dir (the kill window)
//   4) sigterm       — SIGTERM mid-load (drain) and restarted
//   5) steady        — load only; RSS at the end
// Then the gateway is stopped and the drift log compared with what was answered: every 2xx request id must be
// a `requests` row, once. PostgreSQL is a throwaway cluster (test/support/throwaway-cluster.ts), never
// the machine's server; without PostgreSQL binaries the gateway uses PGlite and phase 2 is skipped.
// Goals: only 2xx and 429 outside the kill window, rows found == answered, RSS end ≤ 1.2× after warm-up.
import { mkdtempSync, rmSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { sql } from "drizzle-orm";
import { selectRows } from "@tether/db";
import { findPostgresBinaries, startThrowawayCluster, type ThrowawayCluster } from "../test/support/throwaway-cluster";
import { DEMO_POLICY, manifestId } from "../test/gateway-helpers";
import { openGatewayDb, rssBytes, spawnGateway, type GatewayProcess } from "../test/gateway-process";

export interface SoakOptions {
  seconds: number; // total load time, split over the phases
  connections: number; // autocannon connections (capacity is 4 running + 16 queued)
  log?: (line: string) => void;
}

export interface PhaseRow {
  phase: string;
  requests: number;
  ok: number; // 2xx
  limited: number; // 429
  server: number; // 5xx
  errors: number; // connection errors and timeouts (the kill window)
  p50: number;
  p99: number;
  rssStartMb: number;
  rssEndMb: number;
}

export interface SoakResult {
  phases: PhaseRow[];
  answered: number;
  rowsFound: number;
  duplicates: number;
  missing: number;
  database: string;
}

const BODY = JSON.stringify({ model: manifestId(DEMO_POLICY), prompt: "12+7=", max_tokens: 6, temperature: 1 });
const CONFIG = { limits: { max_concurrent: 4, queue_size: 16 } };
const mb = (b: number) => Math.round(b / 2 ** 20);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Load `url` for `seconds` (or until `stop` is called); the ids answered 2xx go into `answered`. */
function load(url: string, seconds: number, connections: number, answered: Set<string>): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${url}/v1/completions`,
        connections,
        duration: seconds,
        timeout: 30,
        requests: [
          {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: BODY,
            onResponse: (status: number, _body: string, _ctx: object, headers?: IncomingHttpHeaders) => {
              const id = headers?.["x-tether-request-id"];
              if (status >= 200 && status < 300 && typeof id === "string") answered.add(id);
            },
          },
        ],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

function row(phase: string, r: autocannon.Result, rssStart: number, rssEnd: number): PhaseRow {
  return {
    phase, requests: r.requests.total + r.errors, ok: r["2xx"], limited: r.statusCodeStats?.["429"]?.count ?? 0, server: r["5xx"], errors: r.errors + r.timeouts,
    p50: r.latency.p50, p99: r.latency.p99, rssStartMb: mb(rssStart), rssEndMb: mb(rssEnd),
  };
}

/** Runs the five phases; returns the table and the drift-log comparison. */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? console.log;
  const slice = Math.max(2, Math.round(options.seconds / 5)); // seconds of load per phase
  const dataRoot = mkdtempSync(join(tmpdir(), "tether-soak-"));
  const dataDir = join(dataRoot, "data");
  const found = findPostgresBinaries(15);
  let cluster: ThrowawayCluster | null = null;
  let gateway: GatewayProcess | null = null;
  const answered = new Set<string>();
  const phases: PhaseRow[] = [];
  try {
    if (!("reason" in found)) cluster = await startThrowawayCluster();
    else log(`soak: ${found.reason}: PGlite, no PostgreSQL outage phase`);
    const databaseUrl = cluster?.url;
    const start = async () => (gateway = await spawnGateway({ dataDir, databaseUrl, config: CONFIG }));
    await start();

    const phase = async (name: string, fault?: (g: GatewayProcess) => Promise<void>) => {
      const g = gateway!;
      const rss0 = rssBytes(g.proc.pid);
      const run = load(g.url, slice, options.connections, answered);
      if (fault) {
        await sleep((slice * 1000) / 3);
        await fault(g);
      }
      const result = await run;
      phases.push(row(name, result, rss0, rssBytes(g.proc.pid)));
      log(`soak: ${name} done (${result.requests.total} requests)`);
      if (gateway !== g) {
        // Restarted on a new port: load it too (the rows above include the window with no server).
        const h = gateway!;
        const rss2 = rssBytes(h.proc.pid);
        phases.push(row(`  after restart`, await load(h.url, slice, options.connections, answered), rss2, rssBytes(h.proc.pid)));
      }
    };

    await phase("steady (warm-up)");
    if (cluster) {
      await phase("pg-outage", async () => {
        await cluster!.stop("immediate");
        await sleep(Math.min(20_000, (slice * 1000) / 2));
        await cluster!.start();
      });
    }
    await phase("sigkill + restart", async (g) => {
      g.proc.kill("SIGKILL");
      await g.exited;
      await start(); // the load keeps hitting the dead port until its slice ends: the kill window
    });
    await phase("sigterm + restart", async (g) => {
      g.proc.kill("SIGTERM");
      const exit = await g.exited;
      if (exit.code !== 0) log(`soak: SIGTERM exit ${JSON.stringify(exit)}`);
      await start();
    });
    await phase("steady (end)");
    gateway!.proc.kill("SIGTERM");
    await gateway!.exited;
    gateway = null;

    const handle = await openGatewayDb(dataDir, databaseUrl);
    try {
      const ids = (await selectRows<{ id: string }>(handle.db, sql`select id from requests where status between 200 and 299`)).map((r) => r.id);
      const inLog = new Set(ids);
      return {
        phases, answered: answered.size, rowsFound: ids.length, duplicates: ids.length - inLog.size,
        missing: [...answered].filter((id) => !inLog.has(id)).length, database: cluster ? "PostgreSQL 15 (throwaway cluster)" : "PGlite",
      };
    } finally {
      await handle.close();
    }
  } finally {
    (gateway as GatewayProcess | null)?.proc.kill("SIGKILL");
    await cluster?.destroy();
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

export function formatSoak(r: SoakResult): string {
  const head = "phase               requests     2xx     429     5xx  errors   p50 ms   p99 ms  RSS start→end MB";
  const lines = r.phases.map(
    (p) =>
      `${p.phase.padEnd(19)} ${String(p.requests).padStart(8)} ${String(p.ok).padStart(7)} ${String(p.limited).padStart(7)} ${String(p.server).padStart(7)} ${String(p.errors).padStart(7)} ${String(p.p50).padStart(8)} ${String(p.p99).padStart(8)}  ${p.rssStartMb}→${p.rssEndMb}`,
  );
  const warm = r.phases[0]!.rssEndMb;
  const end = r.phases.at(-1)!.rssEndMb;
  return [
    head,
    ...lines,
    `drift log (${r.database}): rows expected (2xx answered) ${r.answered}, found ${r.rowsFound}, missing ${r.missing}, duplicates ${r.duplicates}` +
      ` (found may exceed answered by requests durable when the kill cut their response)`,
    `RSS end / after warm-up: ${(end / warm).toFixed(2)}× (goal ≤ 1.2; the last phase runs in a restarted process) · load ${loadavg().map((x) => x.toFixed(2)).join(" ")}`,
  ].join("\n");
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`--${name} must be a positive number, got ${process.argv[i + 1]}`);
  return value;
}

if (import.meta.filename === process.argv[1]) {
  const seconds = flag("seconds", 120);
  const connections = flag("connections", 96);
  console.log(`soak: ${seconds} s of load over 5 phases, ${connections} connections (capacity 4 running + 16 queued), load ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  const result = await runSoak({ seconds, connections });
  console.log(formatSoak(result));
  // Connection errors are expected only while a process is gone (kill and SIGTERM rows); a 5xx only in the kill row.
  const bad = result.missing > 0 || result.duplicates > 0 || result.phases.some((p) => (!p.phase.startsWith("sig") && p.errors > 0) || (!p.phase.startsWith("sigkill") && p.server > 0));
  process.exitCode = bad ? 1 : 0;
}
