// The data-dir lock against real processes: a live owner refuses, a dead one (SIGKILL) is taken over, a reused pid is not an owner.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { DataDirLockedError, LOCK_FILE, lockDataDir, processStart } from "./data-dir-lock";
import { tempDir } from "../../../../test/support/drift-log-helpers";

const tmp = tempDir("tether-lock-test-");
afterAll(() => tmp.remove());

/** A live process that is not this one. */
function sleeper(): Promise<{ pid: number; kill: () => Promise<void> }> {
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  return new Promise((ready) =>
    child.once("spawn", () =>
      ready({ pid: child.pid!, kill: () => new Promise((done) => (child.once("exit", () => done()), child.kill("SIGKILL"))) }),
    ),
  );
}

describe("data dir lock", () => {
  test("the lock file names this process; release removes it; a second take by the same dir's owner works after", () => {
    const dir = join(tmp.dir, "own");
    const release = lockDataDir(dir);
    const record = JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")) as { pid: number; start: string | null };
    expect(record.pid).toBe(process.pid);
    if (existsSync("/proc/self/stat")) expect(record.start).toMatch(/^\d+$/);
    release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    lockDataDir(dir)();
  });

  test("a live owner refuses with one line; once it is SIGKILLed its stale lock is taken over", async () => {
    const dir = join(tmp.dir, "other");
    const other = await sleeper();
    const unlockOther = lockDataDir(dir, other.pid); // as the other process would have written it
    let error: unknown;
    try {
      lockDataDir(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DataDirLockedError);
    expect((error as Error).message).toMatch(new RegExp(`^data dir .*other is in use by gateway pid ${other.pid} \\(since .*\\); one data dir per gateway \\(set TETHER_DATA_DIR\\)$`));
    await other.kill();
    const release = lockDataDir(dir); // dead owner: taken over
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")).pid).toBe(process.pid);
    unlockOther(); // the dead owner's release (were it to run) does not remove the new owner's lock
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
    release();
  });

  test.runIf(existsSync("/proc/self/stat"))("a pid reused by an unrelated process since the crash does not hold the lock", async () => {
    const dir = join(tmp.dir, "reused");
    const other = await sleeper();
    const realStart = processStart(other.pid)!;
    // The lock of a crashed gateway whose pid now belongs to `other`: same pid, another start time.
    lockDataDir(dir, other.pid); // creates the dir and a lock with other's real start time
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: other.pid, start: String(Number(realStart) - 1), at: "earlier" }));
    const release = lockDataDir(dir);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")).pid).toBe(process.pid);
    release();
    await other.kill();
  });
});
