// Retention job for the per-request tables: delete rows older than a cutoff in bounded batches.
//
// Each batch is one short statement of its own, `DELETE … WHERE (pk) IN (SELECT pk … WHERE created_at
// < cutoff ORDER BY created_at LIMIT n)`: the inner scan walks the primary key, which leads with
// created_at, so a batch costs O(n) however large the table, and locks, WAL and the gateway's
// concurrent inserts are never held up by one huge transaction. Selecting by primary key (not ctid)
// keeps the statement valid on a partitioned table, where a ctid is only unique per partition.
//
// With the tables partitioned by month (see schema.ts) retention is metadata only and needs no vacuum:
//   ALTER TABLE drift_samples DETACH PARTITION drift_samples_2025_01;  DROP TABLE drift_samples_2025_01;
//   ALTER TABLE requests DETACH PARTITION requests_2025_01;            DROP TABLE requests_2025_01;
// for every partition whose upper bound is <= the cutoff; rows of the partition straddling the cutoff
// can still be removed with pruneDriftLog.
import { asc, lt, sql } from "drizzle-orm";
import type { Db } from "./db";
import { driftSamples, requests } from "./schema";

const DAY_MS = 86_400_000;

export interface PruneOptions {
  /** Rows with created_at strictly before this instant are deleted. */
  olderThan: Date;
  /** Rows per DELETE statement, 1 … 100000 (default 5000). */
  batchSize?: number;
}

export interface PruneResult {
  requests: number;
  samples: number;
  /** DELETE statements run, both tables together. */
  batches: number;
}

/**
 * Start of the retention window: `now` minus `days` days.
 * @example retentionCutoff(new Date("2025-03-31T00:00:00Z"), 30) // 2025-03-01T00:00:00.000Z
 */
export function retentionCutoff(now: Date, days: number): Date {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new RangeError("retentionCutoff: now must be a valid Date");
  if (!Number.isFinite(days) || days < 0) throw new RangeError(`retentionCutoff: days must be a finite number >= 0, got ${days}`);
  return new Date(now.getTime() - days * DAY_MS);
}

/**
 * Deletes drift samples and requests created before `olderThan`, `batchSize` rows per statement,
 * until none are left. Safe to run while the gateway writes, and to interrupt: it resumes where it stopped.
 * @example
 * const { requests, samples } = await pruneDriftLog(handle.db, { olderThan: retentionCutoff(new Date(), 30) });
 */
export async function pruneDriftLog(db: Db, options: PruneOptions): Promise<PruneResult> {
  const { olderThan, batchSize = 5000 } = options;
  if (!(olderThan instanceof Date) || Number.isNaN(olderThan.getTime())) {
    throw new RangeError("pruneDriftLog: olderThan must be a valid Date");
  }
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
    throw new RangeError(`pruneDriftLog: batchSize must be an integer in [1, 100000], got ${batchSize}`);
  }
  const result: PruneResult = { requests: 0, samples: 0, batches: 0 };
  // Samples first: an interrupted run never leaves samples whose request row is already gone.
  result.samples = await untilDone(result, () => deleteSamplesBatch(db, olderThan, batchSize), batchSize);
  result.requests = await untilDone(result, () => deleteRequestsBatch(db, olderThan, batchSize), batchSize);
  return result;
}

async function untilDone(result: PruneResult, batch: () => Promise<number>, batchSize: number): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await batch();
    result.batches++;
    total += deleted;
    if (deleted < batchSize) return total;
  }
}

async function deleteRequestsBatch(db: Db, olderThan: Date, limit: number): Promise<number> {
  const oldest = db
    .select({ createdAt: requests.createdAt, id: requests.id })
    .from(requests)
    .where(lt(requests.createdAt, olderThan))
    .orderBy(asc(requests.createdAt))
    .limit(limit);
  const deleted = await db
    .delete(requests)
    .where(sql`(${requests.createdAt}, ${requests.id}) in ${oldest}`)
    .returning({ id: requests.id });
  return deleted.length;
}

async function deleteSamplesBatch(db: Db, olderThan: Date, limit: number): Promise<number> {
  const t = driftSamples;
  const oldest = db
    .select({ createdAt: t.createdAt, requestId: t.requestId, round: t.round, candidate: t.candidate, layer: t.layer })
    .from(t)
    .where(lt(t.createdAt, olderThan))
    .orderBy(asc(t.createdAt))
    .limit(limit);
  const deleted = await db
    .delete(t)
    .where(sql`(${t.createdAt}, ${t.requestId}, ${t.round}, ${t.candidate}, ${t.layer}) in ${oldest}`)
    .returning({ layer: t.layer });
  return deleted.length;
}
