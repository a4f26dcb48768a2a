// createDb: the one factory for a database handle — embedded PGlite by default, PostgreSQL via postgres.js — with close().
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres, { type Sql } from "postgres";
import { type Db } from "./db";
import { acquirePgliteLock } from "./pglite-lock";
import { initPgliteInChild, PGLITE_CONF } from "./pglite-init";
import { PgliteThread } from "./pglite-thread";
import * as schema from "./schema";

export { selectRows, type Db } from "./db";

/** What createDb accepts: nothing (embedded default), a URL or data-dir path, or a client the caller owns. */
export type DbTarget = string | PGlite | Sql;

export interface CreateDbOptions {
  /**
   * Embedded PGlite (a data dir or memory://) in its own worker thread, so its wasm runs off the caller's thread
   * (the gateway's Node entry sets it); ignored for PostgreSQL and for a caller's instance. Default false.
   */
  thread?: boolean;
}

export interface DbHandle {
  db: Db;
  kind: "pglite" | "postgres";
  /** Human-readable target without credentials, e.g. "PostgreSQL 127.0.0.1:5432/test", "PGlite /srv/.tether/pgdata". */
  label: string;
  /**
   * LISTEN on a channel: `onPayload` gets each NOTIFY payload (PostgreSQL: from every connected process;
   * PGlite: from this one). Resolves once listening, with a function that stops it.
   */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  /** Ends the client if createDb made it (a caller's client is left open). Idempotent. */
  close(): Promise<void>;
}

/**
 * Directory of the embedded database: `<TETHER_DATA_DIR or .tether>/pgdata`, absolute.
 * @example defaultDataDir({ TETHER_DATA_DIR: "/var/lib/tether" }) // "/var/lib/tether/pgdata"
 */
export function defaultDataDir(env: Record<string, string | undefined> = process.env): string {
  return resolve(env.TETHER_DATA_DIR || ".tether", "pgdata");
}

/**
 * Opens a database handle. Nothing connects at import time; PGlite boots here (in memory ~5 s, a new
 * data dir ~9 s, reopening one ~1 s), postgres.js connects lazily on the first query.
 *
 * - `undefined` → PGlite in `defaultDataDir()`;
 * - `"postgres://…"` / `"postgresql://…"` → postgres.js;
 * - `"memory://"` → in-memory PGlite;
 * - `"file:///dir"` or any other string without a URL scheme → PGlite data directory (created if missing);
 * - a `PGlite` instance or postgres.js `Sql` client → used as is; close() leaves it open. Note that
 *   drizzle's postgres-js driver makes the client return timestamps and dates as strings (it parses them itself).
 *
 * @example
 * const handle = await createDb(process.env.DATABASE_URL);
 * try { await handle.db.select().from(requests).limit(10); } finally { await handle.close(); }
 */
export async function createDb(target?: DbTarget, options: CreateDbOptions = {}): Promise<DbHandle> {
  const thread = options.thread === true;
  if (target === undefined) return openPglite(defaultDataDir(), thread);
  if (typeof target === "string") {
    if (/^postgres(ql)?:\/\//i.test(target)) return openPostgres(target);
    if (/^memory:\/\/$/i.test(target)) return openPglite(undefined, thread);
    if (/^file:\/\//i.test(target)) return openPglite(fileURLToPath(target), thread);
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(target);
    if (scheme) {
      throw new RangeError(
        `createDb: target has unsupported scheme "${scheme[1]}:" (use postgres://, postgresql://, memory://, file:// or a directory path)`,
      );
    }
    if (target.trim() === "") throw new RangeError("createDb: target must not be an empty string");
    return openPglite(resolve(target), thread);
  }
  if (target instanceof PGlite) return wrapPglite(target, "PGlite (caller's instance)", false);
  if (typeof target === "function" && typeof target.end === "function") {
    return wrapPostgres(target, "PostgreSQL (caller's client)", false);
  }
  throw new TypeError("createDb: target must be undefined, a string, a PGlite instance or a postgres.js client");
}

async function openPglite(dataDir: string | undefined, thread: boolean): Promise<DbHandle> {
  const open = async (dir: string | undefined) =>
    thread ? ((await PgliteThread.start(dir, PGLITE_CONF)) as unknown as PGlite) : PGlite.create(dir ?? "memory://", { postgresqlconf: PGLITE_CONF });
  if (dataDir === undefined) return wrapPglite(await open(undefined), "PGlite (in memory)", true);
  mkdirSync(dataDir, { recursive: true });
  // PGlite has no lock of its own: a second process would open the same files and corrupt them.
  const release = acquirePgliteLock(dataDir);
  try {
    await initPgliteInChild(dataDir); // if that failed, PGlite.create runs initdb here (more memory, same result)
    const client = await open(dataDir);
    const handle = wrapPglite(client, `PGlite ${dataDir}`, true);
    return { ...handle, close: once(() => handle.close().finally(release)) };
  } catch (e) {
    release();
    throw e;
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

function openPostgres(url: string): DbHandle {
  // Notices ("schema drizzle already exists, skipping") would otherwise be printed on every migrate.
  const client = postgres(url, { onnotice: () => {} });
  return wrapPostgres(client, `PostgreSQL ${describeUrl(url)}`, true);
}

function wrapPglite(client: PGlite, label: string, owned: boolean): DbHandle {
  const db = drizzlePglite(client, { schema });
  const listen = (channel: string, onPayload: (payload: string) => void) => client.listen(channel, onPayload);
  return handle(db, "pglite", label, listen, async () => {
    if (owned && !client.closed) await client.close();
  });
}

function wrapPostgres(client: Sql, label: string, owned: boolean): DbHandle {
  const db = drizzlePostgres(client, { schema });
  // postgres.js keeps one dedicated connection for all LISTENs and re-listens after a reconnect.
  const listen = async (channel: string, onPayload: (payload: string) => void) => {
    const { unlisten } = await client.listen(channel, onPayload);
    return unlisten;
  };
  return handle(db, "postgres", label, listen, async () => {
    if (owned) await client.end({ timeout: 5 });
  });
}

function handle(db: Db, kind: DbHandle["kind"], label: string, listen: DbHandle["listen"], end: () => Promise<void>): DbHandle {
  let closing: Promise<void> | undefined;
  return {
    db,
    kind,
    label,
    listen,
    // Every caller of close() waits for the same shutdown, however often it is called.
    close: () => (closing ??= end()),
  };
}

/** host:port/database of a PostgreSQL URL, without user or password. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || "localhost"}:${u.port || "5432"}${u.pathname || "/"}`;
  } catch {
    return "(unparsable URL)";
  }
}
