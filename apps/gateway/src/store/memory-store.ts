// An in-memory DriftStore for tests of the HTTP layer: keeps every entry, and can be told to refuse like a full log.
import {
  assertLoggable,
  DriftLogFullError,
  entryRows,
  type DriftLogEntry,
  type DriftStore,
  type DriftStoreStats,
} from "./drift-store";

/**
 * @example
 * const store = new MemoryDriftStore();
 * const app = createApp({ store, … });
 * await app.request("/v1/completions", { method: "POST", body });
 * expect(store.entries[0].request.status).toBe(200);
 * store.full = true; // the next request must get a 503
 */
export class MemoryDriftStore implements DriftStore {
  readonly entries: DriftLogEntry[] = [];
  /** When true, record() throws DriftLogFullError("spill_full"), as a real store past its spill cap. */
  full = false;
  private refused = 0;
  private closed = false;

  record(entry: DriftLogEntry): void {
    if (this.closed || this.full) {
      this.refused++;
      throw new DriftLogFullError(this.closed ? "closed" : "spill_full", this.closed ? "drift log is closed" : "drift log full (test)");
    }
    assertLoggable(entry);
    this.entries.push(entry);
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }

  stats(): DriftStoreStats {
    const rows = this.entries.reduce((sum, e) => sum + entryRows(e), 0);
    return {
      rowsWritten: rows, rowsDuplicate: 0, batches: this.entries.length, retries: 0, spilledRows: 0, replayedRows: 0,
      rejectedRows: 0, skippedLines: 0, refused: this.refused, bufferRows: 0, spillBytes: 0, spillFiles: 0, backoffMs: 0,
      lastError: null,
    };
  }
}
