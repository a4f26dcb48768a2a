// BatchedDriftWriter on PGlite (in memory): batching, round-trips, spill during an outage, replay, restart, the spill cap, dead letters.
import { appendFileSync, copyFileSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { asc, sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { createDb, selectRows, type Db, type DbHandle } from "@tether/db/create-db";
import { migrate } from "@tether/db/migrate";
import { driftSamples, requests } from "@tether/db/schema";
import { insertDriftBatch } from "@tether/db/writes";
import { BatchedDriftWriter, spillDirFor, type BatchedWriterOptions } from "./batched-writer";
import { DriftLogFullError, entryRows, toDriftBatch, type DriftLogEntry } from "./drift-store";
import { encodeSpillLine } from "./spill-codec";
import { collectWarnings, countRows, makeEntry, refusedUrl, tempDir } from "../../../../test/support/drift-log-helpers";

const spillFiles = (dir: string) => readdirSync(dir).filter((n) => n.startsWith("spill-")).sort();
const spillSize = (dir: string) => spillFiles(dir).reduce((sum, n) => sum + statSync(join(dir, n)).size, 0);

describe("BatchedDriftWriter [pglite]", () => {
  let pglite: DbHandle;
  let dead: DbHandle; // postgres.js pointed at a port nobody listens on
  let target: Db; // where `write` goes; tests switch it to simulate an outage ending
  const cleanups: Array<() => void> = [];
  const writers: BatchedDriftWriter[] = []; // closed after each test, also a failed one, so none writes into the next

  async function open(o: BatchedWriterOptions): Promise<BatchedDriftWriter> {
    const writer = await BatchedDriftWriter.open(o);
    writers.push(writer);
    return writer;
  }

  beforeAll(async () => {
    pglite = await createDb("memory://");
    await migrate(pglite);
    dead = await createDb(await refusedUrl());
  });
  afterAll(async () => {
    await Promise.all([pglite?.close(), dead?.close()]);
    for (const remove of cleanups) remove();
  });
  afterEach(async () => {
    target = dead.db; // what is left stays in its (temporary) spill directory
    await Promise.all(writers.splice(0).map((w) => w.close()));
  });
  beforeEach(async () => {
    await pglite.db.execute(sql`truncate table drift_samples, requests`);
    target = pglite.db;
  });

  function options(spillDir: string, log: Partial<BatchedWriterOptions["log"]> = {}, warn = collectWarnings().warn): BatchedWriterOptions {
    return {
      write: (batch) => insertDriftBatch(target, batch),
      log: { batch_rows: 50, flush_interval_ms: 20, buffer_rows: 10_000, spill_max_bytes: 64 << 20, ...log },
      spillDir,
      backoffBaseMs: 10,
      backoffMaxMs: 50,
      warn,
    };
  }
  function spillDir(): string {
    const t = tempDir("tether-spill-");
    cleanups.push(t.remove);
    return join(t.dir, "spill"); // not there yet: open() creates it
  }

  test("recorded entries land exactly once after flush and round-trip value for value", async () => {
    const writer = await open(options(spillDir()));
    const entries = Array.from({ length: 300 }, (_, i) => makeEntry("rt", i, 2, 2)); // 300 × (1 + 4) rows
    for (const e of entries) expect(writer.record(e)).toBeUndefined(); // buffered in memory: synchronous
    await writer.flush();
    expect(await countRows(pglite.db)).toEqual({ requests: 300, samples: 1200 });
    const stats = writer.stats();
    expect(stats).toMatchObject({ rowsWritten: 1500, rowsDuplicate: 0, spilledRows: 0, bufferRows: 0, retries: 0 });
    expect(stats.batches).toBeGreaterThanOrEqual(1500 / 50); // whole entries, at most batch_rows + one entry each

    const expected = toDriftBatch(entries);
    const gotRequests = await pglite.db.select().from(requests).orderBy(asc(requests.createdAt), asc(requests.id));
    expect(gotRequests).toEqual(expected.requests);
    const key = (s: { requestId: string; round: number; candidate: number; layer: number }) => `${s.requestId}|${s.round}|${s.candidate}|${s.layer}`;
    const gotSamples = new Map((await pglite.db.select().from(driftSamples)).map((s) => [key(s), s]));
    expect(gotSamples.size).toBe(1200);
    for (const s of expected.samples) expect(gotSamples.get(key(s)), key(s)).toEqual(s); // Infinity and −0 included

    await writer.flush(); // nothing left: nothing written twice
    await writer.close();
    expect(await countRows(pglite.db)).toEqual({ requests: 300, samples: 1200 });
  });

  test("database unreachable: entries past buffer_rows are spilled, then all land exactly once when it is back", async () => {
    target = dead.db;
    const dir = spillDir();
    const warnings = collectWarnings();
    const writer = await open(options(dir, { batch_rows: 20, buffer_rows: 100 }, warnings.warn));
    const entries = Array.from({ length: 100 }, (_, i) => makeEntry("out", i, 2, 2)); // 5 rows each
    const acks: Array<void | Promise<void>> = entries.slice(0, 60).map((e) => writer.record(e));
    expect(acks.slice(0, 20).every((a) => a === undefined)).toBe(true); // 100 rows fit in memory
    expect(acks.slice(20).every((a) => a instanceof Promise)).toBe(true); // the rest waits for an fsync
    await Promise.all(acks);
    const half = spillSize(dir);
    expect(half).toBeGreaterThan(0);
    await Promise.all(entries.slice(60).map((e) => writer.record(e)));
    expect(spillSize(dir)).toBeGreaterThan(half);

    await writer.flush(); // one attempt: refused, and the 100 rows held in memory go to disk as well
    await new Promise((r) => setTimeout(r, 50)); // their fsync
    let stats = writer.stats();
    expect(stats).toMatchObject({ spilledRows: 500, bufferRows: 0, rowsWritten: 0 });
    // while the database is failing, a new entry is acknowledged only once it is on disk
    const late = makeEntry("late", 0, 1, 1);
    const ack = writer.record(late);
    expect(ack).toBeInstanceOf(Promise);
    await ack;
    expect(stats.retries).toBeGreaterThanOrEqual(1);
    expect(stats.lastError).toMatch(/ECONNREFUSED/);
    expect(warnings.lines.join("\n")).toMatch(/write failed 1× in a row/);
    expect(await countRows(pglite.db)).toEqual({ requests: 0, samples: 0 });

    target = pglite.db; // the database is back
    await writer.flush();
    expect(await countRows(pglite.db)).toEqual({ requests: 101, samples: 401 });
    const [distinct] = await selectRows<{ n: number }>(pglite.db, sql`select count(distinct id)::int as n from requests`);
    expect(distinct?.n).toBe(101);
    stats = writer.stats();
    expect(stats).toMatchObject({ rowsWritten: 502, rowsDuplicate: 0, replayedRows: 502, bufferRows: 0, spillBytes: 0, spillFiles: 0, lastError: null });
    expect(spillFiles(dir)).toEqual([]); // deleted once committed
    await writer.close();
  });

  test("restart: close() spills what is left, the next open() replays it at startup, skips a torn last line, and a second replay duplicates nothing", async () => {
    target = dead.db;
    const dir = spillDir();
    const a = await open(options(dir, { batch_rows: 20, buffer_rows: 100 }));
    const entries = Array.from({ length: 60 }, (_, i) => makeEntry("rs", i, 1, 3)); // 4 rows each: 25 in memory
    await Promise.all(entries.map((e) => a.record(e)));
    await a.close();
    expect(a.stats()).toMatchObject({ spilledRows: 240, bufferRows: 0 });
    expect(() => a.record(makeEntry("rs", 99))).toThrow(DriftLogFullError);
    const files = spillFiles(dir);
    expect(files.length).toBeGreaterThanOrEqual(1);
    // A crash during an append leaves a torn last line: never acknowledged, so it must not land.
    const last = join(dir, files.at(-1)!);
    appendFileSync(last, encodeSpillLine(makeEntry("torn", 0)).slice(0, 60));
    const saved = files.map((n) => {
      copyFileSync(join(dir, n), join(dir, `${n}.bak`));
      return n;
    });

    target = pglite.db;
    const warnings = collectWarnings();
    const b = await open(options(dir, {}, warnings.warn));
    for (let i = 0; i < 200 && b.stats().spillFiles > 0; i++) await new Promise((r) => setTimeout(r, 25)); // no flush(): replay starts by itself
    expect(b.stats()).toMatchObject({ spillFiles: 0, replayedRows: 240, skippedLines: 1, rowsDuplicate: 0 });
    expect(await countRows(pglite.db)).toEqual({ requests: 60, samples: 180 });
    expect(await countRows(pglite.db, "torn-")).toEqual({ requests: 0, samples: 0 });
    expect(warnings.lines.join("\n")).toMatch(/replaying 1 spill file|replaying \d+ spill file/);
    expect(warnings.lines.join("\n")).toMatch(/torn last line/);
    await b.close();

    // A crash after the commit but before the delete: the same files are replayed again.
    for (const n of saved) copyFileSync(join(dir, `${n}.bak`), join(dir, n));
    const c = await open(options(dir));
    await c.flush();
    expect(c.stats()).toMatchObject({ rowsWritten: 0, rowsDuplicate: 240, replayedRows: 240, spillFiles: 0 });
    expect(await countRows(pglite.db)).toEqual({ requests: 60, samples: 180 });
    await c.close();
  });

  test("past spill_max_bytes record() throws DriftLogFullError; acknowledged entries land and refused ones never do", async () => {
    target = dead.db;
    const dir = spillDir();
    const lineBytes = Buffer.byteLength(encodeSpillLine(makeEntry("cap", 10, 1, 1)));
    const writer = await open(options(dir, { batch_rows: 5, buffer_rows: 10, spill_max_bytes: lineBytes * 6 }));
    const acknowledged: string[] = [];
    let refused: unknown;
    for (let i = 0; i < 100 && refused === undefined; i++) {
      const entry = makeEntry("cap", i, 1, 1); // 2 rows: 5 entries fit in memory
      try {
        await writer.record(entry);
        acknowledged.push(entry.request.id);
      } catch (err) {
        refused = err;
      }
    }
    expect(refused).toBeInstanceOf(DriftLogFullError);
    expect((refused as DriftLogFullError).reason).toBe("spill_full");
    // the memory buffer (5), moved to disk when the first write fails, then spill lines up to the 6-line cap
    expect(acknowledged.length).toBeGreaterThanOrEqual(6);
    expect(writer.stats().refused).toBe(1);
    expect(writer.stats().spillBytes).toBeLessThanOrEqual(lineBytes * 6);

    target = pglite.db;
    await writer.flush();
    const ids = await selectRows<{ id: string }>(pglite.db, sql`select id from requests order by created_at`);
    expect(ids.map((r) => r.id)).toEqual(acknowledged);
    // With room again, records are accepted.
    expect(() => writer.record(makeEntry("cap", 500, 1, 1))).not.toThrow();
    await writer.close();
  });

  test("a row the database refuses for good is dead-lettered; the rest of its batch lands", async () => {
    const dir = spillDir();
    const warnings = collectWarnings();
    const writer = await open(options(dir, {}, warnings.warn));
    const entries: DriftLogEntry[] = Array.from({ length: 10 }, (_, i) => makeEntry("dl", i, 1, 1));
    entries[4]!.samples[0]!.layer = -2; // violates drift_samples_index_check (SQLSTATE 23514)
    for (const e of entries) writer.record(e);
    await writer.flush();
    expect(await countRows(pglite.db)).toEqual({ requests: 9, samples: 9 });
    expect(writer.stats()).toMatchObject({ rejectedRows: entryRows(entries[4]!), retries: 0, bufferRows: 0 });
    const deadLetters = readFileSync(join(dir, "rejected.jsonl"), "utf8").trim().split("\n");
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]).toContain("dl-4");
    expect(warnings.lines.join("\n")).toMatch(/refused request dl-4 for good/);
    expect(existsSync(dir) && spillFiles(dir)).toEqual([]);
    await writer.close();
  });

  test("invalid entries and options are refused with messages naming the parameter", async () => {
    const writer = await open(options(spillDir()));
    const entry = makeEntry("bad", 0);
    expect(() => writer.record({ ...entry, request: { ...entry.request, createdAt: new Date("nope") } })).toThrow(/createdAt must be a valid Date/);
    expect(() => writer.record({ ...entry, request: { ...entry.request, id: "" } })).toThrow(/request.id/);
    await writer.close();
    await expect(open(options(spillDir(), { batch_rows: 0 }))).rejects.toThrow(/log.batch_rows must be an integer >= 1/);
    expect(spillDirFor({ data_dir: "/srv/tether", drift_log: {} })).toBe("/srv/tether/spill");
    expect(spillDirFor({ data_dir: "/srv/tether", drift_log: { spill_dir: "/fast/spill" } })).toBe("/fast/spill");
  });
});
