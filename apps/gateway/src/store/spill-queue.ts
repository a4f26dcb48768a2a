// The spill directory as a FIFO of files: appends go to the active file, replay reads the oldest sealed one.
//
// Files are `spill-<seq>.jsonl`, seq zero-padded so that name order is arrival order, continuing after
// the highest seq found at startup. The active file is sealed (closed, handed to replay) when it passes
// `rotateBytes`, when replay has caught up with everything else, or on close. A sealed file is deleted
// only once every batch read from it was committed; a replay cut short by a crash starts the file over,
// which duplicates nothing because the writes are idempotent.
import { appendFile, mkdir, readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { DriftLogFullError, type DriftLogEntry } from "./drift-store";
import { readSpillBatch, SpillAppender } from "./spill-file";

const FILE_NAME = /^spill-(\d{10})\.jsonl$/;
const DEAD_LETTER_FILE = "rejected.jsonl";
const MiB = 1024 * 1024;

export interface SpillQueueOptions {
  dir: string;
  /** Cap on the bytes of all spill files together; an append past it throws DriftLogFullError. */
  maxBytes: number;
  /** Seal the active file past this size, so replay can delete finished files during a long outage. */
  rotateBytes?: number;
  warn: (message: string) => void;
}

interface SealedFile {
  path: string;
  size: number;
  /** Offset up to which rows are committed (in this process; a restart replays the file from 0). */
  committed: number;
}

export interface ReplayBatch {
  entries: DriftLogEntry[];
  rows: number;
  /** Call once `entries` are committed: advances past them and deletes the file at its end. */
  done(): Promise<void>;
}

/**
 * @example
 * const queue = await SpillQueue.open({ dir: "/srv/spill", maxBytes: 256 << 20, warn: console.warn });
 * await queue.append(encodeSpillLine(entry));
 * const batch = await queue.nextBatch(500); // the oldest spilled entries, or null
 * if (batch) { await write(batch.entries); await batch.done(); }
 */
export class SpillQueue {
  private readonly sealed: SealedFile[] = [];
  private sealedBytes = 0; // sizes of `sealed`, plus files being sealed
  private active: Promise<SpillAppender> | null = null;
  private activeBytes = 0;
  private sealing: Promise<void> = Promise.resolve();
  private nextSeq: number;
  /** Lines skipped on replay (torn or corrupt), over the life of this queue. */
  skippedLines = 0;

  private constructor(
    private readonly options: Required<SpillQueueOptions>,
    found: SealedFile[],
    nextSeq: number,
  ) {
    this.sealed.push(...found);
    this.sealedBytes = found.reduce((sum, f) => sum + f.size, 0);
    this.nextSeq = nextSeq;
  }

  /** Creates the directory if needed and queues the spill files an earlier process left, oldest first. */
  static async open(options: SpillQueueOptions): Promise<SpillQueue> {
    if (!Number.isInteger(options.maxBytes) || options.maxBytes < 0) {
      throw new RangeError(`SpillQueue: maxBytes must be an integer >= 0, got ${options.maxBytes}`);
    }
    const rotateBytes = options.rotateBytes ?? Math.min(64 * MiB, Math.max(1 * MiB, Math.floor(options.maxBytes / 8)));
    if (!(rotateBytes > 0)) throw new RangeError(`SpillQueue: rotateBytes must be > 0, got ${rotateBytes}`);
    await mkdir(options.dir, { recursive: true });
    const names = (await readdir(options.dir)).filter((n) => FILE_NAME.test(n)).sort();
    const found: SealedFile[] = [];
    for (const name of names) {
      const path = join(options.dir, name);
      found.push({ path, size: (await stat(path)).size, committed: 0 });
    }
    const last = names.at(-1);
    const nextSeq = last === undefined ? 1 : Number(FILE_NAME.exec(last)![1]) + 1;
    return new SpillQueue({ ...options, rotateBytes }, found, nextSeq);
  }

  /** Bytes in spill files, appends not yet fsync'd included. */
  get bytes(): number {
    return this.sealedBytes + this.activeBytes;
  }

  /** Files not yet replayed (the active one counts once it holds a line). */
  get files(): number {
    return this.sealed.length + (this.activeBytes > 0 ? 1 : 0);
  }

  /** Anything left to replay. */
  get pending(): boolean {
    return this.sealed.length > 0 || this.activeBytes > 0;
  }

  /**
   * Appends one encoded line; resolves once it is fsync'd. Throws DriftLogFullError synchronously when
   * the cap would be passed (unless `force`: close() spilling rows that were already acknowledged), and
   * rejects with one (reason "spill_failed") when the file cannot be written.
   */
  append(line: string | Uint8Array, force = false): Promise<void> {
    const size = typeof line === "string" ? Buffer.byteLength(line, "utf8") : line.byteLength;
    if (!force && this.bytes + size > this.options.maxBytes) {
      throw new DriftLogFullError(
        "spill_full",
        `drift log full: database unavailable and spill files at ${this.bytes} of ${this.options.maxBytes} bytes (drift_log.spill_max_bytes)`,
      );
    }
    const target = (this.active ??= SpillAppender.create(this.fileName(this.nextSeq++)));
    this.activeBytes += size;
    const appended = target.then((file) => file.append(line));
    if (this.activeBytes >= this.options.rotateBytes) this.seal();
    return appended.catch((err: unknown) => {
      // The file may now end in a partial line: later appends go to a new one.
      if (this.active === target) this.seal();
      throw new DriftLogFullError("spill_failed", `drift log: could not write the spill file (${String(err)})`, { cause: err });
    });
  }

  /**
   * The next `maxRows` rows (whole entries) of the oldest spilled data, or null when there is none.
   * Only one batch may be outstanding: call done() (after committing) or drop it before the next call.
   */
  async nextBatch(maxRows: number): Promise<ReplayBatch | null> {
    await this.sealing;
    if (this.sealed.length === 0 && this.activeBytes > 0) {
      this.seal(); // replay has caught up: take the active file too
      await this.sealing;
    }
    const head = this.sealed[0];
    if (!head) return null;
    let read: Awaited<ReturnType<typeof readSpillBatch>>;
    try {
      read = await readSpillBatch(head.path, head.committed, maxRows);
    } catch (err) {
      if ((err as { code?: string }).code !== "ENOENT") throw err;
      this.options.warn(`drift log: spill file ${head.path} disappeared before it was replayed`);
      this.sealed.shift();
      this.sealedBytes -= head.size;
      return this.nextBatch(maxRows);
    }
    return {
      entries: read.entries,
      rows: read.rows,
      done: async () => {
        for (const s of read.skipped) {
          this.options.warn(
            `drift log: skipped ${s.reason === "torn" ? "a torn last line (written during a crash, never acknowledged)" : "a corrupt line (checksum or JSON)"} of ${s.bytes} bytes at offset ${s.offset} of ${head.path}`,
          );
        }
        this.skippedLines += read.skipped.length;
        head.committed = read.next;
        if (!read.eof) return;
        await unlink(head.path);
        this.sealed.shift();
        this.sealedBytes -= head.size;
      },
    };
  }

  /**
   * A new, empty file in the queue's name sequence that this queue does not track (the write-ahead log's
   * segments, wal.ts): the same format, so a segment a crash leaves behind is replayed like a spill file.
   */
  createFile(): Promise<SpillAppender> {
    return SpillAppender.create(this.fileName(this.nextSeq++));
  }

  /** Queues a closed file made by createFile() for replay (a write-ahead log segment the database has not taken). */
  adopt(path: string, size: number): void {
    if (size === 0) return void unlink(path).catch(() => {});
    this.sealed.push({ path, size, committed: 0 });
    this.sealedBytes += size;
  }

  /**
   * Keeps a row the database refused for good, with the reason, outside the replay queue (for an operator).
   * Not fsync'd: these rows are lost for the drift log anyway; this is only a record of them.
   */
  async deadLetter(line: string, reason: string): Promise<void> {
    const record = JSON.stringify({ at: new Date().toISOString(), reason, line: line.trimEnd() });
    await appendFile(join(this.options.dir, DEAD_LETTER_FILE), `${record}\n`, { mode: 0o600 });
  }

  /** Seals the active file (waiting for its appends). Appends made afterwards go to a new file. */
  async close(): Promise<void> {
    this.seal();
    await this.sealing;
  }

  private fileName(seq: number): string {
    return join(this.options.dir, `spill-${String(seq).padStart(10, "0")}.jsonl`);
  }

  private seal(): void {
    const target = this.active;
    if (!target) return;
    const reserved = this.activeBytes;
    this.active = null;
    this.activeBytes = 0;
    this.sealedBytes += reserved; // still on disk (or about to be) until replayed
    this.sealing = this.sealing.then(async () => {
      try {
        await this.sealFile(await target);
      } catch (err) {
        // Not created (its appends were refused), or not closable: what is on disk is found at the next start.
        this.options.warn(`drift log: sealing a spill file failed: ${String(err)}`);
      } finally {
        this.sealedBytes -= reserved;
      }
    });
  }

  private async sealFile(file: SpillAppender): Promise<void> {
    await file.close();
    const size = (await stat(file.path)).size;
    if (size === 0) return unlink(file.path);
    this.sealed.push({ path: file.path, size, committed: 0 });
    this.sealedBytes += size;
  }
}
