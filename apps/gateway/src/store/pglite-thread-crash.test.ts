// The drift writer on PGlite in its worker thread (what the gateway's Node entry opens): the DB worker is killed
// twice under load; the writer sees DB errors (retried, spilled), the process stays up, and every acknowledged
// record lands exactly once after the worker is restarted on the same data dir.
import type { Worker } from "node:worker_threads";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createDb, selectRows, type DbHandle } from "@tether/db/create-db";
import { migrate } from "@tether/db/migrate";
import { insertDriftBatch } from "@tether/db/writes";
import { BatchedDriftWriter } from "./batched-writer";
import type { DriftLogEntry } from "./drift-store";
import { collectWarnings, driftLogCounts, makeEntry, tempDir } from "../../../../test/support/drift-log-helpers";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const CLIENTS = 4;

describe("drift log on PGlite in a worker thread: the DB worker killed under load", () => {
  const root = tempDir("tether-pglite-thread-crash-");
  let handle: DbHandle;
  beforeAll(async () => {
    handle = await createDb(join(root.dir, "pgdata"), { thread: true });
    await migrate(handle);
  }, 120_000);
  afterAll(async () => {
    await handle?.close();
    root.remove();
  });

  test("acknowledged = committed, no duplicates, no process crash", async () => {
    const warnings = collectWarnings();
    const writer = await BatchedDriftWriter.open({
      write: (batch) => insertDriftBatch(handle.db, batch),
      log: { batch_rows: 100, flush_interval_ms: 20, buffer_rows: 2000, spill_max_bytes: 64 << 20 },
      spillDir: join(root.dir, "spill"),
      backoffBaseMs: 25,
      backoffMaxMs: 400,
      writeTimeoutMs: 20_000,
      warn: warnings.warn,
    });
    const acked = new Map<string, number>();
    let running = true;
    const client = async (c: number) => {
      for (let k = 0; running; k++) {
        const base = makeEntry(`k${c}`, k, 1 + (k % 3), k % 2);
        const entry: DriftLogEntry = { request: { ...base.request, createdAt: new Date() }, samples: base.samples };
        await writer.record(entry);
        acked.set(entry.request.id, entry.samples.length);
        await sleep(3);
      }
    };
    const proxy = (handle.db as unknown as { $client: { worker: Worker | null } }).$client;
    const kill = async () => {
      for (let i = 0; i < 2; i++) {
        await sleep(700);
        await proxy.worker?.terminate();
      }
      await sleep(1500);
      running = false;
    };
    await Promise.all([kill(), ...Array.from({ length: CLIENTS }, (_, c) => client(c))]);
    for (let i = 0; i < 100 && (writer.stats().bufferRows > 0 || writer.stats().spillFiles > 0); i++) {
      await writer.flush();
      if (writer.stats().bufferRows > 0 || writer.stats().spillFiles > 0) await sleep(100);
    }
    const stats = writer.stats();
    await writer.close();

    expect(stats.retries).toBeGreaterThan(0); // the kills were seen as failed writes…
    expect(warnings.lines.join("\n")).toMatch(/PGlite worker thread exited/); // …with the DB worker's error
    expect(stats).toMatchObject({ bufferRows: 0, spillFiles: 0, rejectedRows: 0 });
    const counts = await driftLogCounts(handle.db);
    const expectedSamples = [...acked.values()].reduce((a, b) => a + b, 0);
    expect(acked.size).toBeGreaterThan(0);
    expect(counts).toEqual({ requests: acked.size, distinct_ids: acked.size, samples: expectedSamples, distinct_samples: expectedSamples });
    const ids = await selectRows<{ id: string; n: number }>(
      handle.db,
      sql`select r.id, count(s.request_id)::int as n from requests r left join drift_samples s
          on s.created_at = r.created_at and s.request_id = r.id group by r.id`,
    );
    expect(ids.filter((r) => acked.get(r.id) !== r.n)).toEqual([]);
  }, 120_000);
});
