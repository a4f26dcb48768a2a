// A lock file beside an embedded PGlite data directory (`<dir>.lock`, holding the owner's pid): PGlite runs
// PostgreSQL inside one process and takes no lock itself, so a second process (the drift CLI, db:migrate, a
// second gateway) opening the same directory would write the same files behind the first one's back.
import { readFileSync, rmSync, writeFileSync } from "node:fs";

/** Thrown when another live process holds the directory; the message is one line a person can act on. */
export class PgliteBusyError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `PGlite ${dataDir} is in use by process ${pid} (a running gateway?): embedded PGlite allows one process at a time — stop it, or run the gateway on PostgreSQL (DATABASE_URL) to read the drift log while it serves`,
    );
    this.name = "PgliteBusyError";
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // exists, owned by someone else
  }
}

/**
 * Takes `<dataDir>.lock` for this process, or throws PgliteBusyError when a live other process holds it.
 * A lock left by a dead process is taken over. Returns the release function (idempotent). A second open in
 * the same process is allowed (tests reopen a directory to read what a gateway wrote) and leaves the file
 * to the first owner.
 * @example const release = acquirePgliteLock("/srv/.tether/pgdata"); … release();
 */
export function acquirePgliteLock(dataDir: string): () => void {
  const path = `${dataDir}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: "wx" }); // exclusive create: one winner
      let released = false;
      return () => {
        if (!released) rmSync(path, { force: true });
        released = true;
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const pid = Number.parseInt(readFileSync(path, "utf8"), 10);
    if (pid === process.pid) return () => {};
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) throw new PgliteBusyError(dataDir, pid);
    rmSync(path, { force: true }); // stale: its process is gone
  }
  throw new Error(`PGlite ${dataDir}: could not take ${dataDir}.lock`);
}
