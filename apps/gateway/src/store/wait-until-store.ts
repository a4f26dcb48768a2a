// DriftStore for the Worker: entries held in the isolate's memory and written by a pass that each request
// hands to ctx.waitUntil, so the response never waits for PostgreSQL. Same rows, batches and idempotent keys
// as Node's BatchedDriftWriter (toDriftBatch → insertDriftBatch, ON CONFLICT DO NOTHING on keys fixed at
// arrival), so a batch written twice after an unknown outcome is not duplicated.
//
// 1) record() buffers the entry (buffer_rows at most; past that DriftLogFullError → 503, as Node past its
//    spill cap: a Worker has no disk to spill to) and defers a pass to the current request's waitUntil.
// 2) A pass starts after the response is handed back (one macrotask later), takes everything buffered and
//    writes it in batches of about batch_rows rows, each one transaction; entries of requests that ended
//    meanwhile share its batches. A failed write is retried with backoff (`attempts` times within the pass); what still fails stays
//    buffered for the next request's pass or the Cron Trigger's flush().
// 3) A batch the database refuses for good (a constraint) is retried entry by entry; refused entries are
//    logged in full (Workers Logs keeps them) and dropped, as Node dead-letters them.
import type { DriftBatch, DriftBatchResult } from "@tether/db/core";
import type { DriftLogConfig } from "@tether/shared/schemas/gateway-config";
import { assertLoggable, DriftLogFullError, entryRows, toDriftBatch, type DriftLogEntry, type DriftStore, type DriftStoreStats } from "./drift-store";
import { backoffDelay, describeError, isRowError } from "./retry";

export interface WaitUntilStoreOptions {
  /** Commits one batch in one transaction, idempotently (a Worker opens its client per pass: per request). */
  write: (batch: DriftBatch) => Promise<DriftBatchResult>;
  /** The gateway config's `log` section: batch_rows and buffer_rows are used. */
  log: Pick<DriftLogConfig, "batch_rows" | "buffer_rows">;
  /** Keeps a pass alive after the response: the current request's ctx.waitUntil. */
  defer: (pass: Promise<void>) => void;
  /** Write attempts per batch within one pass (default 3), backoff from backoffBaseMs (default 100). */
  attempts?: number;
  backoffBaseMs?: number;
  warn?: (message: string) => void;
}

/**
 * @example
 * const store = new WaitUntilDriftStore({ write: (b) => insertDriftBatch(db(), b), log: config.drift_log, defer: (p) => ctx.waitUntil(p) });
 */
export class WaitUntilDriftStore implements DriftStore {
  private buffer: DriftLogEntry[] = [];
  private bufferRows = 0;
  private closed = false;
  private lastError: string | null = null;
  private readonly counters = { rowsWritten: 0, rowsDuplicate: 0, batches: 0, retries: 0, rejectedRows: 0, refused: 0 };
  private readonly warn: (message: string) => void;

  constructor(private readonly options: WaitUntilStoreOptions) {
    this.warn = options.warn ?? ((message) => console.warn(message));
  }

  record(entry: DriftLogEntry): void {
    if (this.closed || this.bufferRows + entryRows(entry) > this.options.log.buffer_rows) {
      this.counters.refused++;
      const reason = this.closed ? "closed" : "spill_full";
      throw new DriftLogFullError(reason, this.closed ? "drift log is closed" : `drift log buffer is full (${this.bufferRows} rows waiting for the database)`);
    }
    assertLoggable(entry);
    this.buffer.push(entry);
    this.bufferRows += entryRows(entry);
    this.options.defer(this.flush());
  }

  /**
   * One pass over what is buffered now. Passes are not chained: each takes the entries buffered when it
   * starts, so concurrent passes write disjoint entries, and each opens its own database client inside the
   * request that deferred it (workerd refuses I/O on one request's objects from another).
   */
  flush(): Promise<void> {
    return this.writeBuffered();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  stats(): DriftStoreStats {
    return {
      ...this.counters, spilledRows: 0, replayedRows: 0, skippedLines: 0, bufferRows: this.bufferRows, spillBytes: 0, spillFiles: 0,
      backoffMs: 0, lastError: this.lastError,
    };
  }

  private async writeBuffered(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 0)); // let the response leave first
    if (this.buffer.length === 0) return;
    const entries = this.buffer;
    this.buffer = [];
    this.bufferRows = 0;
    const failed: DriftLogEntry[] = [];
    for (const batch of batches(entries, this.options.log.batch_rows)) failed.push(...(await this.writeBatch(batch)));
    if (failed.length) {
      this.buffer.unshift(...failed); // the next pass writes them first
      this.bufferRows += failed.reduce((sum, e) => sum + entryRows(e), 0);
    }
  }

  /** Writes one batch; returns the entries to keep for a later pass (the database was unreachable). */
  private async writeBatch(entries: DriftLogEntry[]): Promise<DriftLogEntry[]> {
    const attempts = this.options.attempts ?? 3;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        this.commit(entries, await this.options.write(toDriftBatch(entries)));
        return [];
      } catch (e) {
        if (isRowError(e)) return this.isolate(entries, e);
        this.lastError = describeError(e);
        if (attempt === attempts) break;
        this.counters.retries++;
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, this.options.backoffBaseMs ?? 100, 5000, Math.random())));
      }
    }
    this.warn(`drift log: ${entries.length} request(s) kept in memory for the next pass: ${this.lastError}`);
    return entries;
  }

  // A refused batch: each entry alone, so one bad row does not block the others; a refused entry is logged in full.
  private async isolate(entries: DriftLogEntry[], error: unknown): Promise<DriftLogEntry[]> {
    if (entries.length > 1) {
      const kept: DriftLogEntry[] = [];
      for (const entry of entries) kept.push(...(await this.writeBatch([entry])));
      return kept;
    }
    this.counters.rejectedRows += entryRows(entries[0]!);
    console.error(`drift log: the database refused request ${entries[0]!.request.id} for good (${describeError(error)}): ${JSON.stringify(entries[0])}`);
    return [];
  }

  private commit(entries: DriftLogEntry[], result: DriftBatchResult): void {
    const rows = entries.reduce((sum, e) => sum + entryRows(e), 0);
    const written = result.requests + result.samples;
    this.counters.batches++;
    this.counters.rowsWritten += written;
    this.counters.rowsDuplicate += rows - written;
    this.lastError = null;
  }
}

/** Consecutive entries grouped into batches of about `rows` rows (an entry is never split). */
function batches(entries: DriftLogEntry[], rows: number): DriftLogEntry[][] {
  const out: DriftLogEntry[][] = [];
  let current: DriftLogEntry[] = [];
  let size = 0;
  for (const entry of entries) {
    if (current.length > 0 && size + entryRows(entry) > rows) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(entry);
    size += entryRows(entry);
  }
  if (current.length) out.push(current);
  return out;
}
