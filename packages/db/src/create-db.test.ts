// createDb lifecycles: targets, idempotent close(), caller-owned clients left open, a PGlite data dir persisting across reopen.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, describe, expect, test, vi } from "vitest";
import { createDb, defaultDataDir, selectRows, type DbHandle } from "./create-db";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { migrate, migrationsFolder } from "./migrate";
import { checkpoints } from "./schema";

const postgresUrl = process.env.TEST_DATABASE_URL;

/** The driver client behind a handle (drizzle exposes it as `$client`). */
function clientOf(handle: DbHandle): unknown {
  return (handle.db as unknown as { $client: unknown }).$client;
}

describe("createDb targets", () => {
  test("defaultDataDir follows TETHER_DATA_DIR, else .tether", () => {
    expect(defaultDataDir({ TETHER_DATA_DIR: "/var/lib/tether" })).toBe("/var/lib/tether/pgdata");
    expect(defaultDataDir({})).toBe(join(process.cwd(), ".tether", "pgdata"));
  });

  test("rejects URL schemes it cannot open instead of treating them as paths", async () => {
    await expect(createDb("mysql://root@localhost/x")).rejects.toThrow(/unsupported scheme "mysql:"/);
    await expect(createDb("")).rejects.toThrow(/empty/);
    await expect(createDb(42 as unknown as string)).rejects.toThrow(TypeError);
  });
});

describe("db [pglite] lifecycle", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-db-"));
  const dataDir = join(root, "pgdata");
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  test("a data-dir database persists across close and reopen; close() is idempotent", async () => {
    const first = await createDb(dataDir);
    expect(first.kind).toBe("pglite");
    expect(first.label).toBe(`PGlite ${dataDir}`);
    await migrate(first);
    await first.db.insert(checkpoints).values({ id: "keep-me", kind: "reference", path: "/c", manifest: { a: 1 } });
    await Promise.all([first.close(), first.close()]);
    await first.close();
    expect((clientOf(first) as PGlite).closed).toBe(true);

    // Reopen through the default target: TETHER_DATA_DIR/pgdata is the same directory.
    vi.stubEnv("TETHER_DATA_DIR", root);
    const second = await createDb();
    vi.unstubAllEnvs();
    try {
      expect(second.label).toBe(`PGlite ${dataDir}`);
      expect(await migrate(second)).toEqual({ applied: 0, total: readMigrationFiles({ migrationsFolder }).length });
      const rows = await second.db.select().from(checkpoints);
      expect(rows.map((r) => [r.id, r.manifest])).toEqual([["keep-me", { a: 1 }]]);
    } finally {
      await second.close();
    }
  });

  test("a caller-owned PGlite instance stays open after close()", async () => {
    const client = await PGlite.create(dataDir);
    try {
      const handle = await createDb(client);
      expect(handle.label).toBe("PGlite (caller's instance)");
      expect(await selectRows(handle.db, sql`select count(*)::int as n from checkpoints`)).toEqual([{ n: 1 }]);
      await handle.close();
      await handle.close();
      expect(client.closed).toBe(false);
      expect((await client.query<{ one: number }>("select 1 as one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.close();
    }
  });
});

describe.skipIf(!postgresUrl)("db [postgres] lifecycle", () => {
  test("an owned client is ended by close(), which is idempotent", async () => {
    const handle = await createDb(postgresUrl!);
    expect(handle.kind).toBe("postgres");
    expect(handle.label).not.toMatch(/@/); // no credentials in messages
    expect(await selectRows(handle.db, sql`select 1 as one`)).toEqual([{ one: 1 }]);
    await Promise.all([handle.close(), handle.close()]);
    await handle.close();
    await expect(selectRows(handle.db, sql`select 1 as one`)).rejects.toThrow();
  });

  test("a caller-owned postgres.js client stays usable after close()", async () => {
    const client = postgres(postgresUrl!, { onnotice: () => {} });
    try {
      const handle = await createDb(client);
      expect(handle.label).toBe("PostgreSQL (caller's client)");
      expect(await selectRows(handle.db, sql`select 2 as two`)).toEqual([{ two: 2 }]);
      await handle.close();
      await handle.close();
      expect(await client`select 3 as three`).toEqual([{ three: 3 }]);
    } finally {
      await client.end();
    }
  });
});
