// One spill file: an append-only writer with group fsync, and a reader that replays it batch by batch from an offset.
//
// Crash semantics: an append is acknowledged only after the fdatasync that covers its whole line,
// newline included. A crash can therefore leave at most a torn tail (the group being written), which
// was never acknowledged: the reader reports it and skips it. Files are never reopened for appending
// (`wx`): a new process starts a new file, so a torn tail can never end up in the middle of a file.
import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { entryRows, type DriftLogEntry } from "./drift-store";
import { decodeSpillLine } from "./spill-codec";

const NEWLINE = 0x0a;
const READ_CHUNK_BYTES = 1 << 20;
// O_DSYNC: each write returns once its data is on disk, as write + fdatasync would, in one system call and one
// trip through libuv's thread pool instead of two. Where the platform has no O_DSYNC (Windows), write + datasync.
const O_DSYNC: number | undefined = constants.O_DSYNC;

interface PendingAppend {
  bytes: Uint8Array;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Appends lines to a new file; appends made while an fsync is running share the next write and fsync
 * (group commit), so a burst of spills costs one fdatasync per group, not per line.
 * @example
 * const file = await SpillAppender.create("/srv/spill/spill-0000000001.jsonl");
 * await file.append(encodeSpillBytes(entry)); // on disk once this resolves
 * await file.close();
 */
export class SpillAppender {
  private pending: PendingAppend[] = [];
  private writing: Promise<void> | null = null;
  private failure: unknown = null;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    /** Opened with O_DSYNC: a write is durable when it returns, no separate fdatasync. */
    private readonly dsync: boolean,
  ) {}

  /**
   * Creates the file (failing if it exists) and makes its directory entry durable. `dsync: false` keeps
   * write + fdatasync even where O_DSYNC exists (tests compare the two).
   */
  static async create(path: string, options: { dsync?: boolean } = {}): Promise<SpillAppender> {
    const dsync = (options.dsync ?? true) && O_DSYNC !== undefined;
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (dsync ? O_DSYNC! : 0); // "wx" (+ O_DSYNC)
    const fh = await open(path, flags, 0o600);
    try {
      await syncDirectory(dirname(path));
    } catch (err) {
      await fh.close();
      throw err;
    }
    return new SpillAppender(path, fh, dsync);
  }

  /** True once a write or fsync failed: later appends are refused (the file may end in a partial line). */
  get failed(): boolean {
    return this.failure !== null;
  }

  /** Resolves once `line` (which must end in "\n"; a string or its UTF-8 bytes) is written and fsync'd. */
  append(line: string | Uint8Array): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.push({ bytes: typeof line === "string" ? Buffer.from(line, "utf8") : line, resolve, reject });
      this.writing ??= this.writeGroups();
    });
  }

  private async writeGroups(): Promise<void> {
    // One turn of the event loop, so that appends made in the same tick join the first group too.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pending.length > 0) {
      const group = this.pending.splice(0);
      try {
        await writeAll(this.fh, group.length === 1 ? group[0]!.bytes : Buffer.concat(group.map((p) => p.bytes)));
        if (!this.dsync) await this.fh.datasync();
        for (const p of group) p.resolve();
      } catch (err) {
        this.failure = err;
        for (const p of [...group, ...this.pending.splice(0)]) p.reject(err);
      }
    }
    this.writing = null;
  }

  /** Waits for pending appends, then closes the file. */
  async close(): Promise<void> {
    while (this.writing) await this.writing;
    await this.fh.close();
  }
}

async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done);
    done += bytesWritten;
  }
}

/** fsync of a directory, so that a file created in it survives a crash. Not supported everywhere (Windows). */
async function syncDirectory(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== "EISDIR" && code !== "EPERM" && code !== "EINVAL") throw err;
  } finally {
    await fh?.close();
  }
}

export interface SkippedLine {
  /** Byte offset of the line in the file. */
  offset: number;
  bytes: number;
  /** `torn`: the file ends without a newline (a crash during an append); `corrupt`: checksum or JSON wrong. */
  reason: "torn" | "corrupt";
}

export interface SpillRead {
  entries: DriftLogEntry[];
  /** Rows (requests + samples) of `entries`. */
  rows: number;
  /** Offset to read from next. */
  next: number;
  /** The end of the file was reached: nothing remains after `next`. */
  eof: boolean;
  skipped: SkippedLine[];
}

/**
 * Reads whole entries from `offset` until at least `maxRows` rows (or the end of the file). Memory is
 * bounded by the batch, not the file, which may be hundreds of MiB.
 * @example
 * let at = 0;
 * for (let r = await readSpillBatch(path, at, 500); ; r = await readSpillBatch(path, at, 500)) {
 *   await insertDriftBatch(db, toDriftBatch(r.entries)); at = r.next; if (r.eof) break;
 * }
 */
export async function readSpillBatch(path: string, offset: number, maxRows: number): Promise<SpillRead> {
  const fh = await open(path, "r");
  try {
    const result: SpillRead = { entries: [], rows: 0, next: offset, eof: false, skipped: [] };
    let carry: Buffer = Buffer.alloc(0); // bytes from `result.next` on, read but not ending in a newline yet
    for (let position = offset; ; ) {
      const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
      const { bytesRead } = await fh.read(chunk, 0, READ_CHUNK_BYTES, position);
      if (bytesRead === 0) {
        if (carry.length > 0) {
          result.skipped.push({ offset: result.next, bytes: carry.length, reason: "torn" });
          result.next += carry.length;
        }
        result.eof = true;
        return result;
      }
      position += bytesRead;
      const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      let start = 0;
      for (let nl = data.indexOf(NEWLINE, start); nl !== -1; nl = data.indexOf(NEWLINE, start)) {
        const entry = decodeSpillLine(data.subarray(start, nl));
        if (entry) {
          result.entries.push(entry);
          result.rows += entryRows(entry);
        } else {
          result.skipped.push({ offset: result.next, bytes: nl + 1 - start, reason: "corrupt" });
        }
        result.next += nl + 1 - start;
        start = nl + 1;
        if (result.rows >= maxRows) return result;
      }
      carry = Buffer.from(data.subarray(start)); // a copy: `chunk` is not reused, but `data` may be large
    }
  } finally {
    await fh.close();
  }
}
