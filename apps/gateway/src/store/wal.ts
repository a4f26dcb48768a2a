// The drift log's write-ahead log (durability "fsync"): every entry is appended to a local segment and
// fsync'd before its response is sent; a segment is deleted once the database holds all of its entries.
//
// One format, not two: segments are spill files (spill-codec.ts lines, SpillAppender's group commit, names
// from the SpillQueue's sequence), so a segment that a SIGKILL leaves behind is replayed at the next start
// exactly like a spill file, torn last line skipped (spill-file.ts), idempotently (ON CONFLICT DO NOTHING).
//
// Life of a segment:
// 1) append(line) writes to the active segment; appends that arrive while an fdatasync runs share the next
//    one (group commit: one fsync per fsync-time window covers every request of that window).
// 2) Each append returns a ticket; the writer settles it once the entry is committed from memory
//    (committed) or once its memory copy is given up (dropped: buffer full, database failing) — then the
//    segment itself must be replayed from disk.
// 3) The active segment is sealed past segmentBytes, or when idle with nothing held. A sealed segment with
//    nothing held is deleted (every entry committed) or handed to the SpillQueue (something was dropped).
//
// The seam is an encoded line in, a ticket out: encoding may move off the serving thread (issue 12) and the
// database writer into a worker without changing the log; only committed()/dropped() must reach it.
import { unlink } from "node:fs/promises";
import { DriftLogFullError } from "./drift-store";
import type { SpillAppender } from "./spill-file";
import type { SpillQueue } from "./spill-queue";

interface Segment {
  file: Promise<SpillAppender>;
  bytes: number; // appended, fsync'd or not
  held: number; // tickets not yet settled
  replay: boolean; // some entry's memory copy was dropped: replay the file instead of deleting it
  sealed: boolean;
  failed: boolean; // a write failed: the file may end in a torn line, take no more appends
}

/** Handed out per append; settle it exactly once with committed() or dropped(). */
export interface WalTicket {
  readonly segment: object;
}

export interface DriftWalOptions {
  /** Makes the segment files and replays those left for it (the spill directory's queue). */
  queue: SpillQueue;
  /** Seal the active segment past this size, so that committed segments are deleted as the log grows. */
  segmentBytes: number;
  warn: (message: string) => void;
}

/**
 * @example
 * const wal = new DriftWal({ queue, segmentBytes: 4 << 20, warn: console.warn });
 * const { ticket, durable } = wal.append(encodeSpillBytes(entry));
 * await durable;             // on disk: the response may be sent
 * wal.committed(ticket);     // once the database holds the entry
 * await wal.close();
 */
export class DriftWal {
  private active: Segment | null = null;
  private readonly open = new Set<Segment>(); // sealed, waiting for tickets or for the file to close
  private retiring: Promise<void> = Promise.resolve();

  constructor(private readonly options: DriftWalOptions) {
    if (!(options.segmentBytes > 0)) throw new RangeError(`DriftWal: segmentBytes must be > 0, got ${options.segmentBytes}`);
  }

  /** Bytes in segments not yet deleted or handed to the queue. */
  get bytes(): number {
    let sum = this.active?.bytes ?? 0;
    for (const s of this.open) sum += s.bytes;
    return sum;
  }

  /**
   * Appends one encoded line (ending in "\n"; a string or its UTF-8 bytes, see encodeSpillBytes). `durable` resolves once it is fsync'd and rejects with
   * DriftLogFullError("spill_failed") when the write fails; the ticket must be settled either way.
   */
  append(line: string | Uint8Array): { ticket: WalTicket; durable: Promise<void> } {
    if (this.active?.failed) this.seal(this.active);
    const segment = (this.active ??= this.newSegment());
    segment.bytes += typeof line === "string" ? Buffer.byteLength(line, "utf8") : line.byteLength;
    segment.held++;
    const durable = segment.file
      .then((file) => file.append(line))
      .catch((err: unknown) => {
        segment.failed = true;
        throw new DriftLogFullError("spill_failed", `drift log: could not write the write-ahead log (${String(err)})`, { cause: err });
      });
    if (segment.bytes >= this.options.segmentBytes) this.seal(segment);
    return { ticket: { segment }, durable };
  }

  /** The entry is in the database. */
  committed(ticket: WalTicket): void {
    this.settle(ticket.segment as Segment);
  }

  /** The entry's memory copy is given up: its segment will be replayed from disk. */
  dropped(ticket: WalTicket): void {
    const segment = ticket.segment as Segment;
    segment.replay = true;
    this.settle(segment);
  }

  /**
   * Seals the active segment when that lets it leave: nothing held (idle: it is deleted), or, when
   * `replayNow` (the database is taking writes again), it needs a replay. Called by the writer's timer.
   */
  sealIdle(replayNow: boolean): void {
    const a = this.active;
    if (a && a.bytes > 0 && (a.replay ? replayNow : a.held === 0)) this.seal(a);
  }

  /** Seals the active segment; resolves once sealed segments with nothing held are deleted or queued for replay. */
  async sealActive(): Promise<void> {
    if (this.active && this.active.bytes > 0) this.seal(this.active);
    await this.retiring;
  }

  /**
   * Seals the active segment and waits for every file to close. Segments still holding tickets, or needing
   * a replay, stay on disk: the next start replays them (they were acknowledged).
   */
  async close(): Promise<void> {
    if (this.active) this.seal(this.active);
    const left = [...this.open];
    this.open.clear();
    await Promise.all(
      left.map(async (s) => {
        const file = await s.file.catch(() => null);
        await file?.close().catch(() => {});
        if (file && s.held === 0 && !s.replay) await unlink(file.path).catch(() => {});
      }),
    );
    await this.retiring;
  }

  private newSegment(): Segment {
    const file = this.options.queue.createFile();
    const segment: Segment = { file, bytes: 0, held: 0, replay: false, sealed: false, failed: false };
    file.catch(() => {
      segment.failed = true; // its appends reject with the same error
    });
    return segment;
  }

  private seal(segment: Segment): void {
    if (this.active === segment) this.active = null;
    segment.sealed = true;
    this.open.add(segment);
    this.retire(segment);
  }

  private settle(segment: Segment): void {
    segment.held--;
    this.retire(segment);
  }

  /** A sealed segment with nothing held leaves: deleted when all committed, else queued for replay. */
  private retire(segment: Segment): void {
    if (!segment.sealed || segment.held > 0 || !this.open.delete(segment)) return;
    this.retiring = this.retiring.then(async () => {
      let file: SpillAppender;
      try {
        file = await segment.file;
        await file.close();
      } catch (err) {
        if (segment.bytes > 0) this.options.warn(`drift log: closing a write-ahead log segment failed: ${String(err)}`);
        return; // what is on disk is found and replayed at the next start
      }
      if (segment.replay) this.options.queue.adopt(file.path, segment.bytes);
      else await unlink(file.path).catch((err: unknown) => this.options.warn(`drift log: could not delete ${file.path}: ${String(err)}`));
    });
  }
}
