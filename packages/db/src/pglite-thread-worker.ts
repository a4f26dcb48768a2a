// Worker-thread side of pglite-thread.ts: owns one PGlite instance and answers the main thread's query, exec,
// transaction, listen and close messages (pglite-thread-protocol.ts). Its wasm runs here, off the serving thread.
import { parentPort, workerData } from "node:worker_threads";
import { PGlite, type Transaction } from "@electric-sql/pglite";
import { errorToData, type FromDbWorker, type ToDbWorker } from "./pglite-thread-protocol";
import type { Db } from "./db";

const port = parentPort!;
const { dataDir, conf } = workerData as { dataDir: string | null; conf: string[] };
const pg = await PGlite.create(dataDir ?? "memory://", { postgresqlconf: conf });
const txs = new Map<number, { tx: Transaction; end: (commit: boolean, replyId: number) => void }>();
const unlistens = new Map<number, () => Promise<void>>();
const ROLLBACK = Symbol("rollback");
const identity = (text: string) => text;

const post = (m: FromDbWorker) => port.postMessage(m);
const ok = (id: number, value: unknown) => post({ type: "result", id, value });
const fail = (id: number, e: unknown) => post({ type: "result", id, error: errorToData(e) });

/** PGlite's options with identity parsers for the types whose caller-side parsers run on the main thread. */
function options(rowMode: "array" | "object" | undefined, rawOids: number[]) {
  return { rowMode, parsers: Object.fromEntries(rawOids.map((oid) => [oid, identity])) };
}

function client(txId: number | undefined): PGlite | Transaction {
  if (txId === undefined) return pg;
  const open = txs.get(txId);
  if (!open) throw new Error(`PGlite worker: transaction ${txId} is not open`);
  return open.tx;
}

function begin(id: number): void {
  let opened = false;
  let endId = -1;
  pg.transaction(async (tx) => {
    opened = true;
    const commit = await new Promise<boolean>((resolve) => {
      txs.set(id, { tx, end: (c, replyId) => ((endId = replyId), resolve(c)) });
      ok(id, null);
    });
    txs.delete(id);
    if (!commit) throw ROLLBACK; // PGlite rolls back when the callback throws
  }).then(
    () => ok(endId, null),
    (e: unknown) => {
      txs.delete(id);
      if (!opened) fail(id, e);
      else if (e === ROLLBACK) ok(endId, null);
      else fail(endId, e);
    },
  );
}

// drizzle over this thread's PGlite, for the drift log's batch inserts; loaded on the first batch.
let drizzleDb: Promise<{ db: Db; insertDriftBatch: typeof import("./writes").insertDriftBatch }> | null = null;
function driftDb() {
  return (drizzleDb ??= (async () => {
    const [{ drizzle }, schema, writes] = await Promise.all([import("drizzle-orm/pglite"), import("./schema"), import("./writes")]);
    return { db: drizzle(pg, { schema }) as unknown as Db, insertDriftBatch: writes.insertDriftBatch };
  })());
}

async function handle(m: ToDbWorker): Promise<void> {
  switch (m.type) {
    case "driftBatch": {
      const { db, insertDriftBatch } = await driftDb();
      return ok(m.id, await insertDriftBatch(db, m.batch)); // its own transaction, behind PGlite's mutex
    }
    case "query":
      return ok(m.id, await client(m.txId).query(m.sql, m.params, options(m.rowMode, m.rawOids)));
    case "exec":
      return ok(m.id, await client(m.txId).exec(m.sql, options(m.rowMode, m.rawOids)));
    case "begin":
      return begin(m.id);
    case "end": {
      const open = txs.get(m.txId);
      if (!open) throw new Error(`PGlite worker: transaction ${m.txId} is not open`);
      return open.end(m.commit, m.id);
    }
    case "listen": {
      const unlisten = await pg.listen(m.channel, (payload) => post({ type: "notify", listenId: m.listenId, payload }));
      unlistens.set(m.listenId, unlisten);
      return ok(m.id, null);
    }
    case "unlisten":
      await unlistens.get(m.listenId)?.();
      unlistens.delete(m.listenId);
      return ok(m.id, null);
    case "close":
      if (!pg.closed) await pg.close();
      return ok(m.id, null);
  }
}

port.on("message", (m: ToDbWorker) => {
  handle(m).catch((e: unknown) => fail(m.id, e));
});
post({ type: "ready" });
