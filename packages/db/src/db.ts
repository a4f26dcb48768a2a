// The drizzle database type every writer and reader takes, and raw-row queries on it. Runtime-free: no
// driver is imported here (create-db.ts opens PGlite or postgres.js in Node, postgres-js.ts wraps a client
// the Worker made), so the writes and the schema load in workerd too.
import type { SQL } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type * as schema from "./schema";

/** Drizzle database over either driver; callers never need to know which. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/**
 * Runs a raw SQL query and returns its rows on either driver (postgres.js returns an array,
 * PGlite an object with `rows`). For queries drizzle's builder cannot express.
 * @example const [{ n }] = await selectRows<{ n: number }>(db, sql`select count(*)::int as n from requests`);
 */
export async function selectRows<T extends Record<string, unknown>>(db: Db, query: SQL): Promise<T[]> {
  const result: unknown = await db.execute(query);
  if (Array.isArray(result)) return result as T[];
  return (result as { rows: T[] }).rows;
}
