// The Worker's drift log (WaitUntilDriftStore) on a real database (in-memory PGlite) and on one that refuses
// connections: every pass is handed to `defer` (the request's waitUntil), batches hold about batch_rows rows
// without splitting an entry, a replayed entry is not duplicated, an unreachable database keeps the entries
// for the next pass, a refused row is dead-lettered without blocking its batch, and a full buffer refuses.
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { createDb, type DbHandle } from "@tether/db/create-db";
import { migrate } from "@tether/db/migrate";
import { insertDriftBatch, type DriftBatch } from "@tether/db/writes";
import { DriftLogFullError, entryRows, type DriftLogEntry } from "./drift-store";
import { countRows, makeEntry, refusedUrl } from "../../../../test/support/drift-log-helpers";
import { WaitUntilDriftStore } from "./wait-until-store";

describe("WaitUntilDriftStore", () => {
  let pglite: DbHandle;
  let dead: DbHandle;
  beforeAll(async () => {
    pglite = await createDb("memory://");
    await migrate(pglite);
    dead = await createDb(await refusedUrl());
  });
  afterAll(async () => {
    await pglite.close();
    await dead.close();
  });

  /** A store on `db`, its deferred passes, and the batches it wrote. */
  function store(db: DbHandle, log = { batch_rows: 10, buffer_rows: 100 }) {
    const deferred: Promise<void>[] = [];
    const batches: DriftBatch[] = [];
    const s = new WaitUntilDriftStore({
      write: (batch) => (batches.push(batch), insertDriftBatch(db.db, batch)), log, defer: (p) => void deferred.push(p), backoffBaseMs: 1, warn: () => {},
    });
    return { s, deferred, batches, settle: () => Promise.all(deferred) };
  }

  test("each record defers a pass; passes write everything in batches of ≤ batch_rows rows, entries whole", async () => {
    const { s, deferred, batches, settle } = store(pglite);
    const entries = Array.from({ length: 7 }, (_, i) => makeEntry("wu-batch", i, 2, 1)); // 3 rows each
    for (const e of entries) s.record(e);
    expect(deferred).toHaveLength(7);
    await settle();
    expect(await countRows(pglite.db, "wu-batch")).toEqual({ requests: 7, samples: 14 });
    // 3-row entries in batches of ≤ 10 rows: 3 entries (9 rows) per batch, the last one partial
    expect(batches.map((b) => b.requests.length + b.samples.length)).toEqual([9, 9, 3]);
    expect(s.stats()).toMatchObject({ rowsWritten: 21, rowsDuplicate: 0, batches: 3, bufferRows: 0, lastError: null });
  });

  test("an entry recorded again (the same arrival keys) is not duplicated", async () => {
    const { s, settle } = store(pglite);
    const e = makeEntry("wu-replay", 0);
    s.record(e);
    await settle();
    s.record(structuredClone(e));
    await settle();
    expect(await countRows(pglite.db, "wu-replay")).toEqual({ requests: 1, samples: entryRows(e) - 1 });
    expect(s.stats()).toMatchObject({ rowsWritten: entryRows(e), rowsDuplicate: entryRows(e) });
  });

  test("an unreachable database: three attempts, then the entries wait in memory for the next pass", async () => {
    let db = dead;
    const deferred: Promise<void>[] = [];
    const s = new WaitUntilDriftStore({ write: (b) => insertDriftBatch(db.db, b), log: { batch_rows: 10, buffer_rows: 100 }, defer: (p) => void deferred.push(p), backoffBaseMs: 1, warn: () => {} });
    const e = makeEntry("wu-outage", 0);
    s.record(e);
    await Promise.all(deferred);
    expect(s.stats()).toMatchObject({ retries: 2, bufferRows: entryRows(e), rowsWritten: 0 });
    expect(s.stats().lastError).toMatch(/ECONNREFUSED|connect/);
    db = pglite; // the database is back: the Cron Trigger's flush (or the next request) writes them
    await s.flush();
    expect(await countRows(pglite.db, "wu-outage")).toEqual({ requests: 1, samples: entryRows(e) - 1 });
    expect(s.stats()).toMatchObject({ bufferRows: 0, lastError: null });
  });

  test("a row the database refuses for good is logged and dropped; the rest of its batch is written", async () => {
    const { s, settle } = store(pglite);
    const bad: DriftLogEntry = makeEntry("wu-bad", 1);
    bad.request = { ...bad.request, status: 200, guardMode: "medium" as "soft" }; // violates requests_guard_mode_check
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    s.record(makeEntry("wu-bad", 0));
    s.record(bad);
    s.record(makeEntry("wu-bad", 2));
    await settle();
    expect(await countRows(pglite.db, "wu-bad")).toEqual({ requests: 2, samples: 2 * (entryRows(bad) - 1) });
    expect(s.stats().rejectedRows).toBe(entryRows(bad));
    expect(errors.mock.calls.map((c) => String(c[0]))).toEqual([expect.stringMatching(/refused request wu-bad-1 for good .*"guardMode":"medium"/)]);
    errors.mockRestore();
  });

  test("past buffer_rows it refuses with DriftLogFullError (the request is answered 503), and after close()", async () => {
    const { s } = store(dead, { batch_rows: 5, buffer_rows: 10 });
    s.record(makeEntry("wu-full", 0)); // 5 rows
    s.record(makeEntry("wu-full", 1)); // 10 rows
    expect(() => s.record(makeEntry("wu-full", 2))).toThrow(DriftLogFullError);
    expect(s.stats().refused).toBe(1);
    const { s: closed } = store(pglite);
    await closed.close();
    expect(() => closed.record(makeEntry("wu-closed", 0))).toThrow(/closed/);
  });
});
