// PostgreSQL from inside a Worker request: postgres.js over Hyperdrive (or DATABASE_URL), one client per use.
// workerd ties a socket to the request that opened it, so a client is never shared between requests; it is
// never end()ed either (postgres.js then rejects an unhandled "Stream was cancelled"): the runtime closes the
// socket when the request's waitUntil work is done. Hyperdrive pools the real connections.
import { postgresJsDb } from "@tether/db/postgres-js";
import type { Db } from "@tether/db/core";
import postgres from "postgres";

/**
 * @example const db = openDb(env.HYPERDRIVE.connectionString); await insertDriftBatch(db, batch);
 */
export function openDb(url: string): Db {
  // fetch_types: no array-type lookup round trip per connection (the drift log casts its arrays explicitly).
  return postgresJsDb(postgres(url, { max: 1, fetch_types: false, onnotice: () => {} }));
}
