// Applies the committed drizzle-kit migrations (repo-root migrations/) with the drizzle migrator that matches the handle's driver.
import { dirname } from "node:path";
import { sql } from "drizzle-orm";
import { readMigrationFiles, type MigrationConfig } from "drizzle-orm/migrator";
import type { PgliteDatabase } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import type { PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import type { Sql } from "postgres";
import { selectRows, type DbHandle } from "./create-db";
import { repoFile } from "./repo-file";
import type * as schema from "./schema";

/** Absolute path of the migrations folder, found from this module (not the working directory): from the sources or the bundle. */
export const migrationsFolder = dirname(dirname(repoFile("migrations/meta/_journal.json", import.meta.url)));

// Arbitrary constant for pg_advisory_lock: serialises migrate() across processes (gateway replicas,
// parallel test files) on one PostgreSQL; drizzle's migrator alone would let two of them apply the same file.
const MIGRATION_LOCK_KEY = 0x7e7e_d81b;

export interface MigrateResult {
  /** Migrations applied by this call (0 when the database was already up to date). */
  applied: number;
  /** Migrations in the folder. */
  total: number;
}

/**
 * Brings the database up to date; idempotent. Migration bookkeeping lives in `drizzle.__drizzle_migrations`.
 * @example
 * const handle = await createDb();
 * const { applied, total } = await migrate(handle); // { applied: 1, total: 1 } on a new database
 */
export async function migrate(handle: DbHandle, folder: string = migrationsFolder): Promise<MigrateResult> {
  const config: MigrationConfig = { migrationsFolder: folder };
  const total = readMigrationFiles(config).length; // also fails early, naming the folder, if it is missing
  if (handle.kind === "pglite") {
    // PGlite is single-user: one process, queries serialised, no lock needed.
    const db = handle.db as unknown as PgliteDatabase<typeof schema>;
    return countApplied(handle, total, () => migratePglite(db, config));
  }
  const db = handle.db as unknown as PostgresJsDatabase<typeof schema> & { $client: Sql };
  return withAdvisoryLock(db.$client, () => countApplied(handle, total, () => migratePostgres(db, config)));
}

async function countApplied(handle: DbHandle, total: number, run: () => Promise<void>): Promise<MigrateResult> {
  const before = await appliedCount(handle);
  await run();
  return { applied: (await appliedCount(handle)) - before, total };
}

async function appliedCount(handle: DbHandle): Promise<number> {
  const [row] = await selectRows<{ name: string | null }>(
    handle.db,
    sql`select to_regclass('drizzle.__drizzle_migrations')::text as name`,
  );
  if (!row?.name) return 0;
  const [count] = await selectRows<{ n: number }>(
    handle.db,
    sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
  );
  return count?.n ?? 0;
}

/**
 * Holds a session-level advisory lock on one reserved connection while `fn` runs on the rest of the
 * pool. A client limited to one connection (e.g. Workers' `max: 1`) cannot spare one: it runs unlocked.
 */
async function withAdvisoryLock<T>(client: Sql, fn: () => Promise<T>): Promise<T> {
  if ((client.options?.max ?? 10) <= 1) return fn();
  const conn = await client.reserve();
  try {
    await conn`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    try {
      return await fn();
    } finally {
      await conn`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    }
  } finally {
    conn.release();
  }
}
