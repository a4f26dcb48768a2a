// A Db over a postgres.js client the caller made (the Worker: one client per request through Hyperdrive).
// No PGlite and no node:fs here, unlike create-db.ts, so it bundles for workerd under nodejs_compat.
import { drizzle } from "drizzle-orm/postgres-js";
import type { Sql } from "postgres";
import type { Db } from "./db";
import * as schema from "./schema";

/**
 * @example const db = postgresJsDb(postgres(env.HYPERDRIVE.connectionString, { max: 1, fetch_types: false }));
 */
export function postgresJsDb(client: Sql): Db {
  return drizzle(client, { schema });
}
