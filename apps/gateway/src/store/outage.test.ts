// A database crash under load, on a private throwaway PostgreSQL 15: every acknowledged record lands exactly once.
//
// The cluster is our own (initdb in a temp dir, a free port, socket in the temp dir): `pg_ctl stop -m
// immediate` must not hit the shared server on 5432 that other suites use at the same time.
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createDb, selectRows, type DbHandle } from "@tether/db/create-db";
import { migrate } from "@tether/db/migrate";
import { findPostgresBinaries, startThrowawayCluster, type ThrowawayCluster } from "../../../../test/support/throwaway-cluster";
import { insertDriftBatch } from "@tether/db/writes";
import { BatchedDriftWriter } from "./batched-writer";
import { DriftLogFullError, type DriftLogEntry } from "./drift-store";
import { collectWarnings, driftLogCounts, makeEntry, tempDir } from "../../../../test/support/drift-log-helpers";

const found = findPostgresBinaries(15);
const skipReason = "reason" in found ? found.reason : "";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Load shape: CLIENTS concurrent callers, each recording one entry every PACE_MS; the database is down
// from DOWN_AT_MS to UP_AT_MS; load stops at LOAD_MS. About 20k rows go through, ~half during the outage.
const CLIENTS = 8;
const PACE_MS = 4;
const DOWN_AT_MS = 1500;
const UP_AT_MS = 4000;
const LOAD_MS = 5500;

describe.skipIf(skipReason !== "")(`drift log outage [postgres]${skipReason ? ` — skipped: ${skipReason}` : ""}`, () => {
  let cluster: ThrowawayCluster;
  let handle: DbHandle;
  const spill = tempDir("tether-outage-");

  beforeAll(async () => {
    cluster = await startThrowawayCluster({ version: 15 });
    handle = await createDb(cluster.url);
    await migrate(handle);
  });
  afterAll(async () => {
    await handle?.close();
    await cluster?.destroy();
    spill.remove();
  });

  test("pg_ctl stop -m immediate in the middle of a load: acknowledged = committed, no duplicates", async () => {
    const warnings = collectWarnings();
    const writer = await BatchedDriftWriter.open({
      write: (batch) => insertDriftBatch(handle.db, batch),
      log: { batch_rows: 200, flush_interval_ms: 25, buffer_rows: 2000, spill_max_bytes: 64 << 20 },
      spillDir: join(spill.dir, "spill"),
      backoffBaseMs: 25,
      backoffMaxMs: 400,
      writeTimeoutMs: 5000,
      warn: warnings.warn,
    });
    const acked = new Map<string, number>(); // request id → samples
    let refused = 0;
    let slowestRecordMs = 0;
    let running = true;
    const t0 = performance.now();

    async function client(c: number): Promise<void> {
      for (let k = 0; running; k++) {
        const base = makeEntry(`o${c}`, k, 1 + (k % 4), k % 3); // 1–4 candidates × (token-only or 1–2 layers)
        const entry: DriftLogEntry = { request: { ...base.request, createdAt: new Date() }, samples: base.samples };
        const start = performance.now();
        try {
          await writer.record(entry);
          acked.set(entry.request.id, entry.samples.length);
        } catch (err) {
          if (!(err instanceof DriftLogFullError)) throw err;
          refused++;
        }
        slowestRecordMs = Math.max(slowestRecordMs, performance.now() - start);
        await sleep(PACE_MS);
      }
    }

    async function outage(): Promise<{ ackedBeforeDown: number; ackedWhileDown: number }> {
      await sleep(DOWN_AT_MS);
      const ackedBeforeDown = acked.size;
      await cluster.stop("immediate");
      await sleep(UP_AT_MS - DOWN_AT_MS);
      const ackedWhileDown = acked.size - ackedBeforeDown;
      expect(writer.stats().spilledRows).toBeGreaterThan(0); // the buffer overflowed to disk while down
      await cluster.start();
      await sleep(LOAD_MS - UP_AT_MS);
      running = false;
      return { ackedBeforeDown, ackedWhileDown };
    }

    const [phases] = await Promise.all([outage(), ...Array.from({ length: CLIENTS }, (_, c) => client(c))]);
    const loadMs = performance.now() - t0;
    // Drain: the first attempts after the restart may still meet dead pooled connections.
    for (let i = 0; i < 40 && (writer.stats().bufferRows > 0 || writer.stats().spillFiles > 0); i++) {
      await writer.flush();
      if (writer.stats().bufferRows > 0 || writer.stats().spillFiles > 0) await sleep(100);
    }
    const stats = writer.stats();
    await writer.close();

    const counts = await driftLogCounts(handle.db);
    const expectedSamples = [...acked.values()].reduce((a, b) => a + b, 0);
    console.log(
      `outage test: acknowledged ${acked.size} requests / ${expectedSamples} samples ` +
        `(${phases.ackedBeforeDown} before the crash, ${phases.ackedWhileDown} while down), refused ${refused}; ` +
        `in the database ${counts.requests} requests (${counts.distinct_ids} distinct) / ${counts.samples} samples (${counts.distinct_samples} distinct); ` +
        `load ${Math.round(loadMs)} ms, slowest record() ${slowestRecordMs.toFixed(1)} ms\n` +
        `outage test: writer stats ${JSON.stringify(stats)}`,
    );

    expect(phases.ackedWhileDown).toBeGreaterThan(0);
    expect(stats.retries).toBeGreaterThan(0);
    expect(stats.replayedRows).toBeGreaterThan(0);
    expect(stats).toMatchObject({ bufferRows: 0, spillFiles: 0, rejectedRows: 0 });
    expect(counts).toEqual({ requests: acked.size, distinct_ids: acked.size, samples: expectedSamples, distinct_samples: expectedSamples });
    // Not only the counts: exactly the acknowledged ids.
    const ids = await selectRows<{ id: string; n: number }>(
      handle.db,
      sql`select r.id, count(s.request_id)::int as n from requests r left join drift_samples s
          on s.created_at = r.created_at and s.request_id = r.id group by r.id`,
    );
    const missingOrWrong = ids.filter((r) => acked.get(r.id) !== r.n);
    expect(missingOrWrong).toEqual([]);
    expect(ids.length).toBe(acked.size);
  }, 90_000);
});
