// The drift log seam: what the HTTP layer hands over after each request, and the typed refusal it maps to 503.
//
// One implementation per file: batched-writer.ts (PostgreSQL/PGlite, memory buffer, spill files),
// memory-store.ts (tests of the HTTP layer).
import type { NewDriftSample, NewRequest } from "@tether/db/schema";
import type { DriftBatch } from "@tether/db/writes";

/** A drift sample without the columns it copies from its request (same partition, same request id). */
export type DriftSampleRow = Omit<NewDriftSample, "requestId" | "createdAt">;

/**
 * One request's log: its `requests` row and its `drift_samples` rows (candidates × layers).
 * `request.createdAt` must be set when the request arrives (not when it is written): it is part of both
 * primary keys, so a replayed entry is recognised (ON CONFLICT DO NOTHING) instead of duplicated.
 */
export interface DriftLogEntry {
  request: NewRequest;
  samples: DriftSampleRow[];
}

/** Counters and gauges for /metrics; counters only ever grow during a process' life. */
export interface DriftStoreStats {
  /** Rows (requests + samples) inserted by committed transactions. */
  rowsWritten: number;
  /** Rows a committed transaction found already present (a replay after a commit whose reply was lost). */
  rowsDuplicate: number;
  /** Committed transactions. */
  batches: number;
  /** Failed write attempts, each followed by a backoff. */
  retries: number;
  /** Rows appended to spill files (acknowledged: fsync'd). */
  spilledRows: number;
  /** Rows committed from spill files, including those spilled by an earlier process. */
  replayedRows: number;
  /** Rows the database refused for good (constraint or data errors), kept in the dead-letter file. */
  rejectedRows: number;
  /** Spill lines skipped on replay (torn by a crash, or failing their checksum). */
  skippedLines: number;
  /** record() calls refused with DriftLogFullError. */
  refused: number;
  /** Rows waiting in memory now (gauge). */
  bufferRows: number;
  /** Bytes in spill files now, including appends not yet fsync'd (gauge). */
  spillBytes: number;
  /** Spill files not yet replayed (gauge). */
  spillFiles: number;
  /** Milliseconds until the next write attempt while backing off, else 0 (gauge). */
  backoffMs: number;
  /** Message of the last write failure since the last success, else null. */
  lastError: string | null;
}

/**
 * Where the gateway logs every request's drift. Writes leave the request path: `record` never waits
 * for the database.
 *
 * @example
 * try {
 *   await store.record({ request, samples }); // held in memory, or fsync'd to a spill file
 * } catch (err) {
 *   if (err instanceof DriftLogFullError) return c.json(openAiError(err.message, "service_unavailable"), 503);
 *   throw err;
 * }
 * process.on("SIGTERM", () => void store.close()); // flushes, then spills what the database would not take
 */
export interface DriftStore {
  /**
   * Takes ownership of one entry. Returns a promise that settles once the entry is fsync'd: always with
   * durability "fsync" (write-ahead log), and with "memory" only when the buffer is full (spill file);
   * otherwise `undefined` (synchronously: the entry went to the memory buffer). Throws or rejects with DriftLogFullError when it cannot be held (spill cap reached, spill
   * write failed, store closed): answer 503 and do not acknowledge the request. Throws RangeError for an
   * entry that could never be written (no valid `createdAt`, empty `id`).
   */
  record(entry: DriftLogEntry): void | Promise<void>;
  /** Writes everything buffered and spilled that the database takes now (one attempt, no backoff wait). */
  flush(): Promise<void>;
  /** Stops accepting, flushes, and leaves whatever the database did not take in a spill file for the next start. Idempotent. */
  close(): Promise<void>;
  stats(): DriftStoreStats;
}

export type DriftLogFullReason = "spill_full" | "spill_failed" | "closed";

/** The drift log cannot hold another entry; the request must be answered 503 without acknowledging it. */
export class DriftLogFullError extends Error {
  override readonly name = "DriftLogFullError";
  readonly code = "drift_log_full";
  constructor(
    readonly reason: DriftLogFullReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Rows an entry adds to the database: its request row and its samples. */
export function entryRows(entry: DriftLogEntry): number {
  return 1 + entry.samples.length;
}

/**
 * Refuses an entry that no database could ever take (it would otherwise sit in a spill file for good).
 * Column constraints (CHECKs, enums) are left to the database; a row it refuses is dead-lettered.
 */
export function assertLoggable(entry: DriftLogEntry): void {
  const request = entry?.request;
  if (!request || typeof request.id !== "string" || request.id === "") {
    throw new RangeError("DriftStore.record: entry.request.id must be a non-empty string");
  }
  const at = request.createdAt;
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
    throw new RangeError(`DriftStore.record: entry.request.createdAt must be a valid Date (request ${request.id})`);
  }
  if (!Array.isArray(entry.samples)) {
    throw new RangeError(`DriftStore.record: entry.samples must be an array (request ${request.id})`);
  }
}

/**
 * The rows of some entries as insertDriftBatch takes them; samples get their request's id and createdAt.
 * @example toDriftBatch([{ request, samples: [s0, s1] }]) // { requests: [request], samples: [{ ...s0, requestId, createdAt }, …] }
 */
export function toDriftBatch(entries: readonly DriftLogEntry[]): DriftBatch {
  const batch: DriftBatch = { requests: [], samples: [] };
  for (const { request, samples } of entries) {
    batch.requests.push(request);
    for (const sample of samples) batch.samples.push({ ...sample, requestId: request.id, createdAt: request.createdAt });
  }
  return batch;
}
