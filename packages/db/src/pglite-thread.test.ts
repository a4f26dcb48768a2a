// PGlite in a worker thread (createDb(…, { thread: true })) against PGlite in process, the peer: the same rows and
// JS values for every type the drift log uses (with drizzle's parsers and with PGlite's defaults), the same
// PostgreSQL error fields, transactions, LISTEN, and a killed worker failing its query with a retryable DB error.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { PGlite, types } from "@electric-sql/pglite";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createDb, selectRows, type DbHandle } from "./create-db";
import { makeRequest, makeSamples } from "../../../test/support/db-suite-data";
import { migrate } from "./migrate";
import { DbWorkerCrashedError, type PgliteThread } from "./pglite-thread";
import { driftSamples, requests } from "./schema";
import { insertDriftBatch } from "./writes";

const clientOf = <T>(h: DbHandle) => (h.db as unknown as { $client: T }).$client;

// One value of each kind: timestamps, dates, intervals, 64-bit and arbitrary-precision numbers, jsonb, arrays, bytea, nulls.
const TYPED = `select 1::int4 as i, 9007199254740993::int8 as big, 1.25::float8 as f, 12345678901234567890.0123::numeric as num,
  true as b, 'tëxt'::text as t, null::text as nothing, '2026-12-03 14:05:06.789'::timestamp as ts,
  '2026-12-03 14:05:06.789+02'::timestamptz as tstz, '2026-12-03'::date as d, '1 day 02:03:04'::interval as iv,
  '{"a":[1,2.5,"x"],"b":null}'::jsonb as j, array[1,2,null]::int4[] as ia, array['a','b c']::text[] as ta,
  array[1.5,2]::numeric[] as na, array['2026-01-01 00:00:00+00'::timestamptz] as tsa, '\\xdeadbeef'::bytea as bytes,
  array[array[1,2],array[3,4]]::int8[] as nested`;

// drizzle's pglite driver passes these parsers (drizzle-orm/pglite/session.js): raw text for dates and intervals.
const raw = (v: string) => v;
const DRIZZLE_PARSERS = { [types.TIMESTAMP]: raw, [types.TIMESTAMPTZ]: raw, [types.INTERVAL]: raw, [types.DATE]: raw, 1231: raw, 1115: raw, 1185: raw, 1187: raw, 1182: raw };

describe("PGlite in a worker thread vs in process", () => {
  let local: DbHandle;
  let thread: DbHandle;
  beforeAll(async () => {
    [local, thread] = await Promise.all([createDb("memory://"), createDb("memory://", { thread: true })]);
    await Promise.all([migrate(local), migrate(thread)]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([local?.close(), thread?.close()]);
  });

  test("createDb's thread option gives the proxy, not a PGlite in this thread", () => {
    expect(clientOf(local)).toBeInstanceOf(PGlite);
    expect(clientOf(thread)).not.toBeInstanceOf(PGlite);
  });

  test("raw queries give identical rows and JS values: PGlite's default parsers, drizzle's, and a custom one", async () => {
    const a = clientOf<PGlite>(local);
    const b = clientOf<PGlite>(thread);
    const configs = [
      undefined,
      { rowMode: "array" as const, parsers: DRIZZLE_PARSERS },
      { rowMode: "object" as const, parsers: DRIZZLE_PARSERS },
      { parsers: { [types.INT4]: (v: string, typeId?: number) => `int4:${v}:${typeId}` } },
    ];
    for (const options of configs) {
      const [ra, rb] = await Promise.all([a.query(TYPED, [], options), b.query(TYPED, [], options)]);
      expect(rb.rows).toEqual(ra.rows);
      expect(rb.fields).toEqual(ra.fields);
    }
    const defaults = (await b.query<Record<string, unknown>>(TYPED)).rows[0]!;
    expect(defaults.big).toBe(9007199254740993n); // spot checks that the comparison is not between two wrong values
    expect(defaults.tstz).toEqual(new Date("2026-12-03T12:05:06.789Z"));
    expect(defaults.j).toEqual({ a: [1, 2.5, "x"], b: null });
    expect(defaults.i).toBe(1);
    const custom = (await b.query<Record<string, unknown>>(TYPED, [], configs[3])).rows[0]!;
    expect(custom.i).toBe(`int4:1:${types.INT4}`);
    expect(custom.ia).toEqual([1, 2, null]); // the array type keeps PGlite's parser
    const params = ["2026-12-03T14:05:06.789Z", 12, { k: [1, "v"] }, null];
    const q = "select $1::timestamptz as t, $2::int8 as n, $3::jsonb as j, $4::text as x";
    expect((await b.query(q, params)).rows).toEqual((await a.query(q, params)).rows);
    const e = "select 1 as one; select 'x' as two";
    expect(await b.exec(e)).toEqual(await a.exec(e));
  });

  test("drizzle reads and writes the drift log identically (builder and raw SQL)", async () => {
    const at = new Date("2026-12-01T10:00:00.123Z");
    const batch = { requests: [makeRequest("req-thread-1", at), makeRequest("req-thread-2", at, true)], samples: makeSamples("req-thread-1", at, 3, 2) };
    expect(await insertDriftBatch(thread.db, batch)).toEqual(await insertDriftBatch(local.db, batch));
    const read = async (h: DbHandle) => ({
      requests: await h.db.select().from(requests).orderBy(requests.id),
      samples: await h.db.select().from(driftSamples).where(eq(driftSamples.requestId, "req-thread-1")),
      raw: await selectRows(h.db, sql`select * from drift_samples order by 1, 2, 3`),
    });
    const [ra, rb] = await Promise.all([read(local), read(thread)]);
    expect(rb).toEqual(ra);
    expect(rb.requests).toHaveLength(2);
    expect(rb.samples.length).toBeGreaterThan(0);
  });

  test("insertDriftBatch runs whole in the worker: one message per batch, the rows sent are the rows stored, row errors keep their code", async () => {
    const proxy = clientOf<PgliteThread>(thread);
    const worker = (proxy as unknown as { worker: Worker }).worker;
    const sent: string[] = [];
    const post = worker.postMessage.bind(worker);
    worker.postMessage = (m: { type: string }) => (sent.push(m.type), post(m));
    try {
      const at = new Date("2026-12-02T08:00:00.456Z");
      const batch = { requests: [makeRequest("req-one-msg", at), makeRequest("req-one-msg-min", at, true)], samples: makeSamples("req-one-msg", at, 4, 2) };
      expect(await insertDriftBatch(thread.db, batch)).toEqual({ requests: 2, samples: 8 });
      expect(sent).toEqual(["driftBatch"]); // not begin, insert, insert, commit
      expect(await insertDriftBatch(thread.db, batch)).toEqual({ requests: 0, samples: 0 }); // idempotent
      // an independent read: the stored rows are the rows sent (raw SQL, column by column)
      const stored = await selectRows<Record<string, unknown>>(
        thread.db,
        sql`select request_id, created_at, candidate, layer, kl_mean, kl_max, log_ratio, choice_index from drift_samples where request_id = 'req-one-msg' order by candidate, layer`,
      );
      expect(stored.map((r) => [r.request_id, new Date(`${String(r.created_at)}Z`).getTime(), r.candidate, r.layer, r.kl_mean, r.kl_max, r.log_ratio, r.choice_index])).toEqual(
        batch.samples.map((x) => [x.requestId, at.getTime(), x.candidate, x.layer, x.klMean, x.klMax, x.logRatio, x.choiceIndex ?? null]),
      );
      const [req] = await selectRows<Record<string, unknown>>(thread.db, sql`select * from requests where id = 'req-one-msg'`);
      expect([req!.end_user, req!.guard_max_kl, req!.kl_mean, req!.generate_ms, req!.arm]).toEqual(["ü-user 'quoted'", 0.1 + 0.2, 1e-300, 31.0625, "canary"]);
      // a row the database refuses: the whole batch rolls back, and the error's cause carries SQLSTATE 23502
      const bad = { requests: [makeRequest("req-bad-ok", at), { ...makeRequest("req-bad-null", at), status: null as unknown as number }], samples: [] };
      const err = (await insertDriftBatch(thread.db, bad).then(() => null, (e: unknown) => e)) as Error & { cause?: { code?: string } };
      expect(err).toBeInstanceOf(Error);
      expect(err.cause?.code).toBe("23502");
      expect(await selectRows(thread.db, sql`select id from requests where id like 'req-bad-%'`)).toEqual([]);
    } finally {
      worker.postMessage = post;
    }
  });

  test("errors keep their PostgreSQL fields; a failed transaction rolls back, a good one commits", async () => {
    const dup = makeRequest("req-dup", new Date());
    const errorOf = async (h: DbHandle) => {
      await h.db.insert(requests).values(dup);
      return h.db.insert(requests).values(dup).then(() => null, (e: { cause?: unknown }) => e.cause);
    };
    const [ea, eb] = (await Promise.all([errorOf(local), errorOf(thread)])) as Record<string, unknown>[];
    expect(eb).toBeInstanceOf(Error);
    expect(eb!.code).toBe("23505");
    for (const k of ["message", "code", "severity", "detail", "constraint", "table", "schema"]) expect(eb![k]).toEqual(ea![k]);

    const inTx = (h: DbHandle, id: string, fail: boolean) =>
      h.db.transaction(async (tx) => {
        await tx.insert(requests).values(makeRequest(id, new Date()));
        if (fail) throw new Error("boom");
        return id;
      });
    await expect(inTx(thread, "req-tx-rolled-back", true)).rejects.toThrow("boom");
    await expect(inTx(thread, "req-tx-committed", false)).resolves.toBe("req-tx-committed");
    const ids = (await thread.db.select({ id: requests.id }).from(requests)).map((r) => r.id);
    expect(ids).toContain("req-tx-committed");
    expect(ids).not.toContain("req-tx-rolled-back");
  });

  test("LISTEN / NOTIFY through the worker", async () => {
    const got: string[] = [];
    const stop = await thread.listen("tether_thread_test", (p) => got.push(p));
    await thread.db.execute(sql`select pg_notify('tether_thread_test', 'hello')`);
    await new Promise((r) => setTimeout(r, 50));
    await stop();
    await thread.db.execute(sql`select pg_notify('tether_thread_test', 'after')`);
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toEqual(["hello"]);
  });
});

describe("a killed PGlite worker", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-pglite-thread-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test("fails its in-flight query with a retryable DB error (SQLSTATE 08006), and the next call reopens the data dir", async () => {
    const handle = await createDb(join(root, "pgdata"), { thread: true });
    try {
      await migrate(handle);
      await handle.db.insert(requests).values(makeRequest("req-before-crash", new Date()));
      const proxy = clientOf<PgliteThread>(handle);
      const worker = (proxy as unknown as { worker: Worker }).worker;
      const inFlight = handle.db.execute(sql`select pg_sleep(2)`).then(() => null, (e: unknown) => e);
      await new Promise((r) => setTimeout(r, 100));
      await worker.terminate(); // the thread dies as a crash would: no reply ever comes
      const err = (await inFlight) as { cause?: unknown };
      const cause = err.cause as DbWorkerCrashedError;
      expect(cause).toBeInstanceOf(DbWorkerCrashedError);
      expect(cause.code).toBe("08006"); // class 08 (connection exception): the drift writer retries it (store/retry.ts)
      const ids = (await handle.db.select({ id: requests.id }).from(requests)).map((r) => r.id);
      expect(ids).toEqual(["req-before-crash"]); // a new worker, same data dir
    } finally {
      await handle.close();
    }
  }, 120_000);
});
