// Drift-log write throughput: the batched writer vs one transaction per request, into TEST_DATABASE_URL or
// DATABASE_URL (else in-memory PGlite), printed as rows/s and their ratio with the load; `npm run bench -- drift-log`.
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { createDb, migrate, insertDriftBatch, type Db } from "@tether/db";
import { BatchedDriftWriter } from "../apps/gateway/src/store/batched-writer";
import { entryRows, toDriftBatch, type DriftLogEntry, type DriftSampleRow } from "../apps/gateway/src/store/drift-store";

const REQUESTS = 3000;
const CANDIDATES = 4; // × LAYERS samples per request: 9 rows with its request row
const LAYERS = 2;
const NAIVE_IN_FLIGHT = 8; // concurrent requests, each awaiting its own insert

function makeEntries(prefix: string): DriftLogEntry[] {
  const t0 = Date.now();
  return Array.from({ length: REQUESTS }, (_, i) => {
    const samples: DriftSampleRow[] = [];
    for (let c = 0; c < CANDIDATES; c++) {
      for (let layer = 0; layer < LAYERS; layer++) {
        samples.push({
          round: 0, candidate: c, choiceIndex: c === 0 ? 0 : null, layer, klMean: 0.01 * c, klMax: 0.2, klSum: 0.64,
          logRatio: 0.1, accepted: c === 0, sketchScore: 1.5, sketchPercentile: 42,
        });
      }
    }
    return {
      request: {
        id: `${prefix}-${i}`, createdAt: new Date(t0 + i), endpoint: "completions", model: "demo", policyId: "pol", referenceId: "ref",
        promptTokens: 20, completionTokens: 64, status: 200, guardMode: "hard", guardMaxKl: 0.1, guardCandidates: CANDIDATES,
        guardMaxRounds: 2, rounds: 1, accepted: 1, klMean: 0.01, totalMs: 50,
      },
      samples,
    };
  });
}

async function naive(db: Db, entries: DriftLogEntry[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < entries.length) await insertDriftBatch(db, toDriftBatch([entries[next++]!]));
  };
  await Promise.all(Array.from({ length: NAIVE_IN_FLIGHT }, worker));
}

async function batched(db: Db, entries: DriftLogEntry[], batchRows: number, spillDir: string): Promise<void> {
  const rows = entries.reduce((sum, e) => sum + entryRows(e), 0);
  const writer = await BatchedDriftWriter.open({
    write: (batch) => insertDriftBatch(db, batch),
    // Room for every row in memory: this measures the database path, not the spill file.
    log: { batch_rows: batchRows, flush_interval_ms: 200, buffer_rows: rows, spill_max_bytes: 0 },
    spillDir,
  });
  for (const e of entries) writer.record(e);
  await writer.flush();
  const { rowsWritten, bufferRows } = writer.stats();
  await writer.close();
  if (rowsWritten !== rows || bufferRows !== 0) throw new Error(`bench drift-log: wrote ${rowsWritten} of ${rows} rows`);
}

export async function benchDriftLog(): Promise<void> {
  const url = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || "memory://";
  const handle = await createDb(url);
  const spillRoot = mkdtempSync(join(tmpdir(), "tether-bench-spill-"));
  const run = `bench${process.pid.toString(36)}${Date.now().toString(36)}`;
  try {
    await migrate(handle);
    console.log(`drift-log write throughput · ${handle.label} · load ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
    console.log(`${REQUESTS} requests × (1 + ${CANDIDATES}×${LAYERS} samples) = ${REQUESTS * (1 + CANDIDATES * LAYERS)} rows per variant`);
    console.log("variant                               ms      rows/s");
    const variants: Array<[string, (db: Db, entries: DriftLogEntry[], prefix: string) => Promise<void>]> = [
      [`naive: 1 tx per request, ${NAIVE_IN_FLIGHT} in flight`, (db, e) => naive(db, e)],
      ["batched writer, batch_rows 500", (db, e, p) => batched(db, e, 500, join(spillRoot, p))],
      ["batched writer, batch_rows 5000", (db, e, p) => batched(db, e, 5000, join(spillRoot, p))],
    ];
    const rates: number[] = [];
    for (const [index, [name, fn]] of variants.entries()) {
      const prefix = `${run}-${index}`;
      const entries = makeEntries(prefix);
      const rows = entries.reduce((sum, e) => sum + entryRows(e), 0);
      const t0 = performance.now();
      await fn(handle.db, entries, prefix);
      const ms = performance.now() - t0;
      rates.push(rows / (ms / 1000));
      console.log(`${name.padEnd(34)} ${ms.toFixed(0).padStart(7)} ${Math.round(rates.at(-1)!).toString().padStart(11)}`);
      await handle.db.execute(sql`delete from drift_samples where request_id like ${`${prefix}-%`}`);
      await handle.db.execute(sql`delete from requests where id like ${`${prefix}-%`}`);
    }
    console.log(
      `batched / naive: ${(rates[1]! / rates[0]!).toFixed(1)}× (batch_rows 500), ${(rates[2]! / rates[0]!).toFixed(1)}× (batch_rows 5000)` +
        ` · load ${loadavg().map((x) => x.toFixed(2)).join(" ")}`,
    );
  } finally {
    rmSync(spillRoot, { recursive: true, force: true });
    await handle.close();
  }
}
