// One data dir belongs to one gateway: `<data_dir>/tether.lock` holds the owner's pid and start time,
// created with O_EXCL. Two processes appending to the same write-ahead log, or opening the same PGlite
// directory, would corrupt both.
//
// A lock whose process is gone (a SIGKILL leaves its lock behind) is taken over. "Gone" is checked with the
// pid and, where /proc exists, the process' start time: a pid reused by an unrelated process since the
// crash does not keep the lock alive.
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const LOCK_FILE = "tether.lock";

interface LockRecord {
  pid: number;
  /** /proc/<pid>/stat field 22 (clock ticks after boot) where /proc exists, else null. */
  start: string | null;
  /** ISO time the lock was taken, for the operator reading the file. */
  at: string;
}

/** Start time of a process as /proc reports it, or null (not Linux, or no such process). */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) is in parentheses and may contain spaces: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

function alive(record: LockRecord): boolean {
  try {
    process.kill(record.pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // exists, owned by someone else
  }
  const start = processStart(record.pid);
  return record.start === null || start === null || start === record.start;
}

function readLock(path: string): LockRecord | null {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<LockRecord>;
    return typeof parsed.pid === "number" ? { pid: parsed.pid, start: parsed.start ?? null, at: parsed.at ?? "?" } : null;
  } catch {
    return null; // gone meanwhile, or torn by a crash while it was written: stale
  }
}

/** Thrown when another live process holds the data dir; `message` is the one line to print. */
export class DataDirLockedError extends Error {
  override readonly name = "DataDirLockedError";
}

/**
 * Takes the data dir for this process; returns the release function (idempotent).
 * @example const release = lockDataDir(".tether"); … release();
 */
export function lockDataDir(dataDir: string, pid = process.pid): () => void {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  const mine: LockRecord = { pid, start: processStart(pid), at: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, JSON.stringify(mine) + "\n", { flag: "wx", mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 1) throw err;
    }
    const owner = readLock(path);
    if (owner && owner.pid !== pid && alive(owner)) {
      throw new DataDirLockedError(`data dir ${dataDir} is in use by gateway pid ${owner.pid} (since ${owner.at}); one data dir per gateway (set TETHER_DATA_DIR)`);
    }
    unlinkSync(path); // stale: its process is gone (or it is our own pid's leftover)
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    // Only our own lock: a takeover after we were presumed dead must not be undone.
    if (readLock(path)?.pid === pid) unlinkSync(path);
  };
}
