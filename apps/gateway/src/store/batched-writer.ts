// DriftStore over PostgreSQL or PGlite: a bounded memory buffer written in batches, a spill directory when it is full.
//
// 1) record() puts the entry in memory (buffer_rows rows at most) or, past that, appends it to a spill
//    file and resolves after the fsync; past spill_max_bytes it throws DriftLogFullError (→ 503).
//    With durability "fsync" every entry is first appended to the write-ahead log (wal.ts, same files and
//    format) and record() resolves after its group fsync; the memory copy only saves reading it back.
// 2) One pass at a time writes batches of about batch_rows rows, each one transaction
//    (insertDriftBatch: unnest inserts, ON CONFLICT DO NOTHING), taking turns between the memory buffer
//    and the oldest spill file, every flush_interval_ms or as soon as a full batch is buffered.
// 3) A failed write keeps its rows and backs off (exponential, jittered); rows the database refuses for
//    good (constraint violations) are isolated entry by entry and dead-lettered instead of blocking the log.
// 4) close() flushes, spills what is left in memory and leaves it for the next open(), which replays it.
import { join } from "node:path";
import type { DriftBatch, DriftBatchResult } from "@tether/db/writes";
import type { DriftLogConfig } from "@tether/shared/schemas/gateway-config";
import {
  assertLoggable,
  DriftLogFullError,
  entryRows,
  toDriftBatch,
  type DriftLogEntry,
  type DriftStore,
  type DriftStoreStats,
} from "./drift-store";
import { backoffDelay, describeError, isRowError, withTimeout } from "./retry";
import { encodeSpillBytes, encodeSpillLine } from "./spill-codec";
import { SpillQueue } from "./spill-queue";
import { DriftWal, type WalTicket } from "./wal";

export interface BatchedWriterOptions {
  /** Commits one batch in one transaction, idempotently; usually `(b) => insertDriftBatch(handle.db, b)`. */
  write: (batch: DriftBatch) => Promise<DriftBatchResult>;
  /** The `drift_log` section of the gateway config; durability defaults to "memory" here (the config's default is "fsync"). */
  log: Omit<DriftLogConfig, "spill_dir" | "durability"> & { durability?: DriftLogConfig["durability"] };
  /** Spill directory; see spillDirFor(). */
  spillDir: string;
  /** First retry delay, ms (default 100); doubles per failure up to backoffMaxMs (default 30000). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** A write that has not settled after this many ms counts as failed (default 30000). */
  writeTimeoutMs?: number;
  /** Spill file size at which a new one is started (default spill_max_bytes / 8, within 1–64 MiB). */
  rotateBytes?: number;
  /** Write-ahead log segment size at which a new one is started (default 4 MiB): disk held by committed entries. */
  walSegmentBytes?: number;
  /** Jitter source, uniform in [0, 1) (default Math.random). */
  random?: () => number;
  /** Monotonic clock in ms (default performance.now). */
  now?: () => number;
  warn?: (message: string) => void;
}

/**
 * `drift_log.spill_dir`, else `<data_dir>/spill` (spill files and the write-ahead log's segments).
 * @example spillDirFor({ data_dir: ".tether", drift_log: {} }) // ".tether/spill"
 */
export function spillDirFor(config: { data_dir: string; drift_log: { spill_dir?: string } }): string {
  return config.drift_log.spill_dir ?? join(config.data_dir, "spill");
}

interface Buffered {
  entry: DriftLogEntry;
  rows: number;
  ticket: WalTicket | null; // its write-ahead log record (durability "fsync")
}

/**
 * @example
 * const handle = await createDb(config.database_url ?? join(config.data_dir, "pgdata"));
 * const store = await BatchedDriftWriter.open({
 *   write: (batch) => insertDriftBatch(handle.db, batch), log: config.drift_log, spillDir: spillDirFor(config),
 * });
 * store.record({ request, samples });
 * await store.close(); await handle.close();
 */
export class BatchedDriftWriter implements DriftStore {
  private readonly buffer: Buffered[] = [];
  private bufferRows = 0;
  private readonly counters = {
    rowsWritten: 0, rowsDuplicate: 0, batches: 0, retries: 0, spilledRows: 0, replayedRows: 0, rejectedRows: 0, refused: 0,
  };
  private failures = 0; // consecutive failed attempts
  private retryAt = 0; // no write before this (now() ms)
  private lastError: string | null = null;
  private pass: Promise<void> | null = null;
  private rerun: { partial: boolean } | null = null;
  private closed = false; // record() refuses
  private stopped = false; // no pass starts any more
  private closing: Promise<void> | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly warn: (message: string) => void;
  private readonly wal: DriftWal | null;

  private constructor(
    private readonly options: BatchedWriterOptions,
    private readonly spill: SpillQueue,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.warn = options.warn ?? ((message) => console.warn(message));
    this.wal = options.log.durability === "fsync" ? new DriftWal({ queue: spill, segmentBytes: options.walSegmentBytes ?? 4 << 20, warn: this.warn }) : null;
    // A tick writes whatever is buffered, so no row waits much longer than flush_interval_ms.
    this.timer = setInterval(() => {
      this.wal?.sealIdle(this.failures === 0); // a fully committed segment is deleted; one needing replay goes to the queue
      this.schedule(true);
    }, options.log.flush_interval_ms);
    this.timer.unref(); // the owner's close() ends the writer; a timer alone must not keep a process up
  }

  /** Opens the spill directory and starts replaying what an earlier process left there. */
  static async open(options: BatchedWriterOptions): Promise<BatchedDriftWriter> {
    const { batch_rows, flush_interval_ms, buffer_rows, spill_max_bytes } = options.log;
    positiveInt("drift_log.batch_rows", batch_rows);
    positiveInt("drift_log.flush_interval_ms", flush_interval_ms);
    positiveInt("drift_log.buffer_rows", buffer_rows);
    const base = options.backoffBaseMs ?? 100;
    const max = options.backoffMaxMs ?? 30_000;
    backoffDelay(1, base, max, 0); // throws a RangeError naming the bad parameter
    if (!((options.writeTimeoutMs ?? 30_000) > 0)) throw new RangeError(`writeTimeoutMs must be > 0, got ${options.writeTimeoutMs}`);
    const warn = options.warn ?? ((message: string) => console.warn(message));
    const spill = await SpillQueue.open({ dir: options.spillDir, maxBytes: spill_max_bytes, rotateBytes: options.rotateBytes, warn });
    const writer = new BatchedDriftWriter({ ...options, backoffBaseMs: base, backoffMaxMs: max }, spill);
    if (spill.pending) {
      warn(`drift log: replaying ${spill.files} spill file(s), ${spill.bytes} bytes, left in ${options.spillDir}`);
      writer.schedule(true);
    }
    return writer;
  }

  record(entry: DriftLogEntry): void | Promise<void> {
    if (this.closed) {
      this.counters.refused++;
      throw new DriftLogFullError("closed", "drift log is closed (the gateway is shutting down)");
    }
    assertLoggable(entry);
    const rows = entryRows(entry);
    if (this.wal) return this.recordDurable(this.wal, entry, rows);
    // While the database is failing, an acknowledged entry must not live only in memory: it goes to disk
    // (the caller awaits the fsync) until a write succeeds again.
    if (this.failures > 0) return this.spillEntry(entry, rows, false);
    // An entry larger than the whole buffer still goes to an empty one: the bound overshoots by one entry.
    if (this.hasRoom(rows)) return this.buffer_(entry, rows, null);
    return this.spillEntry(entry, rows, false);
  }

  /** Durability "fsync": the entry goes to the write-ahead log, and to memory once it is on disk. */
  private recordDurable(wal: DriftWal, entry: DriftLogEntry, rows: number): Promise<void> {
    const line = encodeSpillBytes(entry); // encoded once: these bytes are counted, written and fsync'd
    const total = wal.bytes + this.spill.bytes + line.byteLength;
    if (total > this.options.log.spill_max_bytes) {
      this.counters.refused++;
      const message = `drift log full: database behind and the local log at ${total - line.byteLength} of ${this.options.log.spill_max_bytes} bytes (drift_log.spill_max_bytes)`;
      throw new DriftLogFullError("spill_full", message);
    }
    const { ticket, durable } = wal.append(line);
    return durable.then(
      () => {
        // Database failing or buffer full: the entry stays on disk only and its segment is replayed.
        if (this.failures > 0 || this.stopped || !this.hasRoom(rows)) {
          wal.dropped(ticket);
          this.counters.spilledRows += rows;
          return;
        }
        this.buffer_(entry, rows, ticket);
      },
      (err: unknown) => {
        this.counters.refused++;
        wal.committed(ticket); // never acknowledged: nothing to replay for it
        throw err;
      },
    );
  }

  private hasRoom(rows: number): boolean {
    // An entry larger than the whole buffer still goes to an empty one: the bound overshoots by one entry.
    return this.bufferRows + rows <= this.options.log.buffer_rows || this.buffer.length === 0;
  }

  private buffer_(entry: DriftLogEntry, rows: number, ticket: WalTicket | null): void {
    this.buffer.push({ entry, rows, ticket });
    this.bufferRows += rows;
    if (this.bufferRows >= this.options.log.batch_rows) this.schedule(false);
  }

  async flush(): Promise<void> {
    if (this.stopped) return;
    while (this.pass) await this.pass;
    await this.startPass(true, true);
  }

  close(): Promise<void> {
    return (this.closing ??= this.shutdown());
  }

  stats(): DriftStoreStats {
    return {
      ...this.counters,
      skippedLines: this.spill.skippedLines,
      bufferRows: this.bufferRows,
      spillBytes: this.spill.bytes + (this.wal?.bytes ?? 0),
      spillFiles: this.spill.files,
      backoffMs: Math.max(0, this.retryAt - this.now()),
      lastError: this.lastError,
    };
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.flush();
    if (this.wal) {
      // Log segments whose entries left memory (database down meanwhile) reach the replay queue now.
      await this.wal.sealActive();
      await this.flush();
    }
    this.stopped = true;
    while (this.pass) await this.pass; // a rerun queued by the flush
    // Acknowledged rows the database did not take: to disk, past the cap if need be (dropping them would lose them).
    const left = this.buffer.splice(0);
    this.bufferRows = 0;
    if (this.wal) {
      for (const b of left) this.wal.dropped(b.ticket!); // already on disk in their segments
      await this.wal.close();
      left.length = 0;
    }
    const spilled = await Promise.allSettled(left.map((b) => this.spillEntry(b.entry, b.rows, true)));
    const lost = spilled.filter((s) => s.status === "rejected").length;
    if (lost > 0) this.warn(`drift log: ${lost} buffered entries could not be spilled on close and are lost`);
    await this.spill.close();
    if (this.spill.pending) this.warn(`drift log: ${this.spill.files} spill file(s) left in ${this.options.spillDir} for the next start`);
  }

  private spillEntry(entry: DriftLogEntry, rows: number, force: boolean): Promise<void> {
    let appended: Promise<void>;
    try {
      appended = this.spill.append(encodeSpillBytes(entry), force);
    } catch (err) {
      this.counters.refused++;
      throw err;
    }
    return appended.then(
      () => {
        this.counters.spilledRows += rows;
      },
      (err: unknown) => {
        this.counters.refused++;
        throw err;
      },
    );
  }

  /** Starts a pass unless one runs (then it runs again after) or the writer is backing off. */
  private schedule(partial: boolean): void {
    if (this.stopped) return;
    if (this.pass) {
      this.rerun = { partial: partial || (this.rerun?.partial ?? false) };
      return;
    }
    if (this.now() < this.retryAt) return; // the timer tries again after the backoff
    void this.startPass(partial, false);
  }

  private startPass(partial: boolean, force: boolean): Promise<void> {
    const pass = this.runPass(partial, force).finally(() => {
      this.pass = null;
      const again = this.rerun;
      this.rerun = null;
      if (again) this.schedule(again.partial);
    });
    this.pass = pass;
    return pass;
  }

  /**
   * Writes batches until nothing is due or a write fails. `partial`: also a last, short memory batch;
   * `force`: ignore the backoff (flush). Never rejects.
   */
  private async runPass(partial: boolean, force: boolean): Promise<void> {
    if (!force && this.now() < this.retryAt) return;
    let spillTurn = true; // take turns, so that neither a long replay nor a steady load starves the other
    // A partial (timer) pass writes what was buffered when it started; rows arriving meanwhile wait for a
    // full batch or the next tick, else a steady load would be written as a stream of tiny transactions.
    let partialRows = partial ? this.bufferRows : 0;
    try {
      for (;;) {
        const memoryDue = this.buffer.length > 0 && (partialRows > 0 || this.bufferRows >= this.options.log.batch_rows);
        let outcome: "ok" | "failed" | "empty" = "empty";
        if (this.spill.pending && (spillTurn || !memoryDue)) outcome = await this.replayBatch();
        if (outcome === "empty" && memoryDue) {
          const written = await this.writeMemoryBatch();
          outcome = written === "failed" ? "failed" : "ok";
          if (written !== "failed") partialRows -= written;
        }
        if (outcome !== "ok") return;
        spillTurn = !spillTurn;
      }
    } catch (err) {
      this.failed(err); // reading a spill file failed: back off like a database error
    }
  }

  /** Commits the oldest ≤ batch_rows buffered rows; their count, or "failed". */
  private async writeMemoryBatch(): Promise<number | "failed"> {
    let rows = 0;
    let count = 0;
    for (const b of this.buffer) {
      if (count > 0 && rows + b.rows > this.options.log.batch_rows) break;
      rows += b.rows;
      count++;
    }
    const entries = this.buffer.slice(0, count).map((b) => b.entry); // record() only appends, so these stay in front
    if (!(await this.commit(entries, rows, false))) return "failed";
    for (const b of this.buffer.splice(0, count)) if (b.ticket) this.wal!.committed(b.ticket);
    this.bufferRows -= rows;
    return rows;
  }

  private async replayBatch(): Promise<"ok" | "failed" | "empty"> {
    const batch = await this.spill.nextBatch(this.options.log.batch_rows);
    if (!batch) return "empty";
    if (batch.entries.length > 0 && !(await this.commit(batch.entries, batch.rows, true))) return "failed";
    await batch.done();
    return "ok";
  }

  /** Writes entries in one transaction; false after a retryable failure (the rows stay where they are). */
  private async commit(entries: DriftLogEntry[], rows: number, fromSpill: boolean): Promise<boolean> {
    let result: DriftBatchResult;
    try {
      result = await withTimeout(this.options.write(toDriftBatch(entries)), this.options.writeTimeoutMs ?? 30_000);
    } catch (err) {
      if (!isRowError(err)) {
        this.failed(err);
        return false;
      }
      if (entries.length === 1) {
        await this.deadLetter(entries[0]!, rows, err);
        return true;
      }
      // 3) One bad entry fails its whole batch: write them one by one to find it.
      for (const entry of entries) {
        if (!(await this.commit([entry], entryRows(entry), fromSpill))) return false;
      }
      return true;
    }
    const inserted = result.requests + result.samples;
    this.counters.batches++;
    this.counters.rowsWritten += inserted;
    this.counters.rowsDuplicate += rows - inserted;
    if (fromSpill) this.counters.replayedRows += rows;
    this.failures = 0;
    this.retryAt = 0;
    this.lastError = null;
    return true;
  }

  private failed(err: unknown): void {
    this.counters.retries++;
    this.failures++;
    this.lastError = describeError(err);
    const delay = backoffDelay(this.failures, this.options.backoffBaseMs!, this.options.backoffMaxMs!, (this.options.random ?? Math.random)());
    this.retryAt = this.now() + delay;
    // First failure: what is buffered goes to disk too (no pass holds it now: failed() runs inside the pass
    // that just gave up), past the cap if need be, since these entries were acknowledged.
    if (this.failures === 1 && this.buffer.length > 0) {
      const moved = this.buffer.splice(0);
      this.bufferRows = 0;
      for (const b of moved) {
        if (b.ticket) {
          this.wal!.dropped(b.ticket); // on disk already: its segment is replayed
          continue;
        }
        this.spillEntry(b.entry, b.rows, true).catch((e: unknown) => this.warn(`drift log: an acknowledged entry could not be spilled and is lost: ${describeError(e)}`));
      }
    }
    // 1, 2, 4, 8, … failures in a row: the outage is visible in the log without a line per retry.
    if ((this.failures & (this.failures - 1)) === 0) {
      this.warn(`drift log: write failed ${this.failures}× in a row, retrying in ${Math.round(delay)} ms: ${this.lastError}`);
    }
  }

  private async deadLetter(entry: DriftLogEntry, rows: number, err: unknown): Promise<void> {
    const reason = describeError(err);
    this.counters.rejectedRows += rows;
    this.warn(`drift log: the database refused request ${entry.request.id} for good (${reason}); kept in the dead-letter file`);
    await this.spill.deadLetter(encodeSpillLine(entry), reason).catch((e: unknown) => {
      this.warn(`drift log: could not write the dead-letter file: ${String(e)}`);
    });
  }
}

function positiveInt(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be an integer >= 1, got ${value}`);
}
