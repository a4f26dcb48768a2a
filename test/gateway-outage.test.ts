// A database outage under HTTP load, on real PostgreSQL: the gateway (startGateway, ONNX demo pair) logs to a
// private throwaway PostgreSQL 15 cluster; concurrent clients drive /v1/completions; mid-load the cluster is
// crashed with `pg_ctl stop -m immediate`, load continues (every request must still succeed: the drift log
// buffers, then spills to disk), the cluster restarts, the gateway closes (drain + flush), and the database
// must hold exactly the acknowledged requests: one `requests` row per 200 response, none missing, none twice,
// and for each of them the drift_samples rows its returned drift implies (k candidates per round drawn).
//
// The cluster is our own (test/support/throwaway-cluster.ts: initdb in a temp dir, a free port): stopping the shared
// TEST_DATABASE_URL server would break other suites. Skipped only when PostgreSQL 15's server binaries (or, as
// root, a postgres user and runuser) are absent — the same condition as apps/gateway/src/store/outage.test.ts.
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createDb, selectRows } from "@tether/db";
import { findPostgresBinaries, startThrowawayCluster, type ThrowawayCluster } from "./support/throwaway-cluster";
import { loadGatewayConfig } from "@tether/shared/schemas/gateway-config";
import { drift as driftSchema } from "@tether/shared/schemas/openai-response";
import { startGateway, type RunningGateway } from "../apps/gateway/src/server.node.ts";
import { driftLogCounts } from "./support/drift-log-helpers.ts";
import { DEMO_POLICY, DEMO_REFERENCE, manifestId, metricValue, sketchLayerCount, sleep, tempDir } from "./gateway-helpers";

const MODEL = manifestId(DEMO_POLICY);

const found = findPostgresBinaries(15);
const skipReason = "reason" in found ? found.reason : "";

// Load shape: CLIENTS callers in a loop; the database is down from DOWN_AT_MS to UP_AT_MS; load stops at LOAD_MS.
const CLIENTS = 6;
const DOWN_AT_MS = 2000;
const UP_AT_MS = 5000;
const LOAD_MS = 6500;
const K = 2; // drift_guard.candidates
const LAYERS = sketchLayerCount(DEMO_REFERENCE); // the gateway scores sketches against the reference's sketch.json
const PROMPTS = ["12+7=", "23*4=", "Hello", "x", "7*8=", "40+2="];

interface Answer {
  id: string;
  status: number;
  samples: number; // drift_samples rows implied by the returned drift
  phase: "before" | "down" | "after";
}

describe.skipIf(skipReason !== "")(`gateway under a database outage [postgres]${skipReason ? ` — skipped: ${skipReason}` : ""}`, () => {
  const data = tempDir("tether-gw-outage-");
  let cluster: ThrowawayCluster;
  let gateway: RunningGateway;
  // An exception nobody can catch would have killed a gateway process (vitest reports it too; this names it).
  const uncaught: string[] = [];
  let stage = "start";
  const onUncaught = (e: Error) => void uncaught.push(`${stage}: ${e.stack?.split("\n").slice(0, 2).join(" ") ?? String(e)}`);

  beforeAll(async () => {
    process.on("uncaughtException", onUncaught);
    cluster = await startThrowawayCluster({ version: 15 });
    const config = loadGatewayConfig(
      {
        port: 0,
        data_dir: data.dir,
        database_url: cluster.url,
        policy: DEMO_POLICY,
        reference: DEMO_REFERENCE,
        drift_guard: { candidates: K, max_rounds: 2 },
        limits: { max_concurrent: 4, queue_size: 256 },
        // a small memory buffer, so that a few seconds of outage overflow it into the spill directory
        drift_log: { batch_rows: 40, flush_interval_ms: 50, buffer_rows: 80 },
      },
      {},
    );
    gateway = await startGateway(config, () => {});
  });
  afterAll(async () => {
    await gateway?.close();
    await cluster?.destroy();
    data.remove();
    process.off("uncaughtException", onUncaught);
  });

  test("pg_ctl stop -m immediate mid-load: every request still succeeds; afterwards rows = acknowledged, no duplicates", async () => {
    const answers: Answer[] = [];
    const failures: string[] = [];
    let phase: Answer["phase"] = "before";
    let running = true;
    let notReadySeen = false;
    const t0 = performance.now();

    async function client(c: number): Promise<void> {
      for (let k = 0; running; k++) {
        const body = { model: MODEL, prompt: PROMPTS[(c + k) % PROMPTS.length], max_tokens: 8, temperature: 1, seed: c * 100_000 + k };
        const sentIn = phase;
        try {
          const res = await fetch(`${gateway.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
          const json = (await res.json()) as { choices?: { drift: unknown }[] };
          let samples = 0;
          if (res.status === 200) {
            const d = driftSchema.parse(json.choices![0]!.drift);
            samples = d.rounds * K * LAYERS + (d.fallback === "reference" ? 1 : 0);
          }
          answers.push({ id: res.headers.get("x-tether-request-id")!, status: res.status, samples, phase: sentIn });
        } catch (e) {
          failures.push(`${sentIn}: ${String((e as Error).cause ?? e)}`);
        }
      }
    }

    async function outage(): Promise<void> {
      await sleep(DOWN_AT_MS);
      stage = "crash";
      await cluster.stop("immediate");
      phase = "down";
      stage = "down";
      for (const until = performance.now() + (UP_AT_MS - DOWN_AT_MS); performance.now() < until; ) {
        if ((await fetch(`${gateway.url}/readyz`)).status === 503) notReadySeen = true; // the failing writes show
        await sleep(100);
      }
      stage = "restart";
      await cluster.start();
      phase = "after";
      stage = "after";
      await sleep(LOAD_MS - UP_AT_MS);
      running = false;
    }

    await Promise.all([outage(), ...Array.from({ length: CLIENTS }, (_, c) => client(c))]);
    const loadMs = performance.now() - t0;
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    const spilledRows = metricValue(metrics, "tether_drift_log_spilled_rows_total");
    stage = "close";
    await gateway.close(); // drain + flush: memory buffer and spill files to the restarted database

    stage = "count";
    const handle = await createDb(cluster.url);
    try {
      const counts = await driftLogCounts(handle.db);
      const perRequest = await selectRows<{ id: string; status: number; n: number }>(
        handle.db,
        sql`select r.id, r.status, count(s.request_id)::int as n from requests r
            left join drift_samples s on s.created_at = r.created_at and s.request_id = r.id group by r.id, r.status`,
      );
      const ok = answers.filter((a) => a.status === 200);
      const byPhase = (p: Answer["phase"]) => ok.filter((a) => a.phase === p).length;
      const expectedSamples = ok.reduce((a, b) => a + b.samples, 0);
      console.log(
        `gateway outage test: ${answers.length} answered (${ok.length} × 200: ${byPhase("before")} before the crash, ${byPhase("down")} while down, ` +
          `${byPhase("after")} after the restart), ${failures.length} failed; spilled ${spilledRows} rows; load ${Math.round(loadMs)} ms\n` +
          `gateway outage test: in the database ${counts.requests} requests (${counts.distinct_ids} distinct), ` +
          `${counts.samples} drift_samples (${counts.distinct_samples} distinct); expected ${ok.length} / ${expectedSamples}`,
      );

      expect(failures).toEqual([]);
      expect(answers.filter((a) => a.status !== 200)).toEqual([]); // the outage never reached a client
      expect(byPhase("down")).toBeGreaterThan(0);
      expect(spilledRows).toBeGreaterThan(0); // the memory buffer overflowed to disk while the database was down
      expect(notReadySeen).toBe(true); // /readyz reported the unreachable database
      expect(counts).toEqual({ requests: ok.length, distinct_ids: ok.length, samples: expectedSamples, distinct_samples: expectedSamples });
      // exactly the acknowledged ids, each with its own samples
      const want = new Map(ok.map((a) => [a.id, a.samples]));
      expect(perRequest.filter((r) => r.status !== 200 || want.get(r.id) !== r.n)).toEqual([]);
      // Last, so that the counts above are checked either way. postgres.js 3.4.9 can throw from a setImmediate
      // (nextWrite on a socket closed by the crash: porsager/postgres#1154, #1208), which no caller can catch.
      expect(uncaught, "uncaught exceptions (each would have killed a gateway process)").toEqual([]);
    } finally {
      await handle.close();
    }
  }, 120_000);
});
