// The write-ahead log (durability "fsync") with PGlite: acknowledged = on disk, segments deleted once
// committed, a torn last record skipped with a warning while every complete record before it is replayed.
import { cpSync, readdirSync, readFileSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createDb, migrate, type DbHandle } from "@tether/db";
import { insertDriftBatch } from "@tether/db/writes";
import { BatchedDriftWriter, type BatchedWriterOptions } from "./batched-writer";
import { decodeSpillLine } from "./spill-codec";
import { collectWarnings, driftLogCounts, makeEntry, tempDir } from "../../../../test/support/drift-log-helpers";

const tmp = tempDir("tether-wal-test-");
let handle: DbHandle;
beforeAll(async () => {
  handle = await createDb("memory://");
  await migrate(handle);
}, 60_000);
afterAll(async () => {
  await handle?.close();
  tmp.remove();
});

const LOG = { batch_rows: 50, flush_interval_ms: 20, buffer_rows: 10_000, spill_max_bytes: 64 << 20, durability: "fsync" as const };
const down = async (): Promise<never> => {
  throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
};
const segmentFiles = (dir: string) => readdirSync(dir).filter((n) => /^spill-\d+\.jsonl$/.test(n)).sort();
/** Request ids in the complete lines of the log files, read with the codec (independent of the writer). */
function idsOnDisk(dir: string): string[] {
  const ids: string[] = [];
  for (const name of segmentFiles(dir)) {
    for (const text of readFileSync(join(dir, name), "utf8").split("\n").slice(0, -1)) ids.push(decodeSpillLine(Buffer.from(text))!.request.id);
  }
  return ids;
}

function options(dir: string, write: BatchedWriterOptions["write"], warn = collectWarnings().warn): BatchedWriterOptions {
  return { write, log: LOG, spillDir: dir, warn, backoffBaseMs: 60_000, backoffMaxMs: 60_000 };
}

describe("write-ahead log (durability fsync)", () => {
  test("record() resolves only once the entry is in a log file; committed segments are deleted", async () => {
    const dir = join(tmp.dir, "ack");
    // A database that holds every write until released: nothing can reach it before the log is checked.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const writer = await BatchedDriftWriter.open(options(dir, async (b) => (await gate, insertDriftBatch(handle.db, b))));
    const entries = Array.from({ length: 40 }, (_, i) => makeEntry("ack", i, 2, 1));
    const acked = await Promise.all(entries.map((e) => writer.record(e)));
    expect(acked).toHaveLength(40);
    // Every acknowledged entry is on disk, in order, before the database saw any of them.
    expect(idsOnDisk(dir)).toEqual(entries.map((e) => e.request.id));
    release();
    await writer.flush();
    expect(await driftLogCounts(handle.db)).toMatchObject({ requests: 40, distinct_ids: 40 });
    await writer.close(); // everything committed: the segment goes
    expect(segmentFiles(dir)).toEqual([]);
  });

  test("a torn last record is skipped with a warning and every complete record before it is replayed", async () => {
    const dir = join(tmp.dir, "torn-live");
    const writer = await BatchedDriftWriter.open(options(dir, down)); // the database is down: nothing leaves the log
    const entries = Array.from({ length: 25 }, (_, i) => makeEntry("torn", i, 2, 2));
    await Promise.all(entries.map((e) => writer.record(e)));
    // What a SIGKILL leaves: the files as they are now (a copy, since this process cannot die), the last
    // record cut in the middle as a crash during its write would leave it.
    const crashed = join(tmp.dir, "torn-crashed");
    cpSync(dir, crashed, { recursive: true });
    const files = segmentFiles(crashed);
    expect(files).toHaveLength(1);
    const last = join(crashed, files[0]!);
    const lastLine = readFileSync(last, "utf8").split("\n").at(-2)!;
    truncateSync(last, statSync(last).size - Math.floor(lastLine.length / 2));
    await writer.close();

    const warnings = collectWarnings();
    const restarted = await BatchedDriftWriter.open(options(crashed, (b) => insertDriftBatch(handle.db, b), warnings.warn));
    await restarted.flush();
    await restarted.close();
    const before = await driftLogCounts(handle.db);
    expect(before).toMatchObject({ requests: 40 + 24, distinct_ids: 40 + 24 }); // 24 complete records of 25
    expect(before.samples).toBe(before.distinct_samples);
    expect(warnings.lines.some((l) => /torn last line/.test(l) && l.includes(files[0]!))).toBe(true);
    expect(segmentFiles(crashed)).toEqual([]); // replayed, then deleted
  });

  test("a segment replayed twice (crash after commit, before delete) adds no duplicate", async () => {
    const dir = join(tmp.dir, "twice");
    const writer = await BatchedDriftWriter.open(options(dir, down));
    await Promise.all(Array.from({ length: 10 }, (_, i) => writer.record(makeEntry("twice", i, 1, 1))));
    await writer.close();
    const copy = join(tmp.dir, "twice-copy");
    cpSync(dir, copy, { recursive: true });
    for (const d of [dir, copy]) {
      const w = await BatchedDriftWriter.open(options(d, (b) => insertDriftBatch(handle.db, b)));
      await w.flush();
      await w.close();
    }
    const counts = await driftLogCounts(handle.db);
    expect(counts.requests).toBe(counts.distinct_ids);
    expect(counts.requests).toBe(40 + 24 + 10);
  });

  test("entries logged while the database is down are all committed by close() once it is back; no file is left", async () => {
    const dir = join(tmp.dir, "down-up");
    let up = false;
    const writer = await BatchedDriftWriter.open(options(dir, (b) => (up ? insertDriftBatch(handle.db, b) : down())));
    await Promise.all(Array.from({ length: 6 }, (_, i) => writer.record(makeEntry("downup", i, 1, 1))));
    await writer.flush(); // fails: the writer now backs off for a minute, entries stay in the log only
    await Promise.all(Array.from({ length: 6 }, (_, i) => writer.record(makeEntry("downup", 6 + i, 1, 1))));
    up = true;
    await writer.close(); // during the backoff: close must still replay the log
    const counts = await driftLogCounts(handle.db);
    expect(counts.requests).toBe(40 + 24 + 10 + 12);
    expect(counts.distinct_ids).toBe(counts.requests);
    expect(segmentFiles(dir)).toEqual([]);
  });

  test("past spill_max_bytes record() throws DriftLogFullError and acknowledges nothing more", async () => {
    const dir = join(tmp.dir, "full");
    const one = Buffer.byteLength(JSON.stringify(makeEntry("full", 0, 1, 1))) + 10;
    const writer = await BatchedDriftWriter.open({ ...options(dir, down), log: { ...LOG, spill_max_bytes: one * 5 } });
    let acked = 0;
    let refused = 0;
    for (let i = 0; i < 12; i++) {
      try {
        await writer.record(makeEntry("full", i, 1, 1));
        acked++;
      } catch (e) {
        expect((e as Error).name).toBe("DriftLogFullError");
        refused++;
      }
    }
    expect(acked).toBeGreaterThanOrEqual(3);
    expect(acked).toBeLessThanOrEqual(5);
    expect(acked + refused).toBe(12);
    expect(idsOnDisk(dir)).toHaveLength(acked);
    await writer.close();
  });
});
