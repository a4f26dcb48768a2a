// Test-only: the shared database suite (drizzle's pg-common pattern), defined once per backend by db.test.ts.
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { selectRows, type Db, type DbHandle } from "../../packages/db/src/create-db";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { migrate, migrationsFolder, type MigrateResult } from "../../packages/db/src/migrate";
import { definePruneTests, defineRoundTripTests, defineWriteTests } from "./db-suite-data";

export interface SuiteContext {
  /** The migrated database; valid inside tests. */
  readonly db: Db;
}

export interface SuiteOptions {
  /** Skip the whole suite (a backend not configured); never hides failures when it runs. */
  skip?: boolean;
  /** The database is new (nothing but our migrations in it): the table set must match exactly. */
  fresh: boolean;
}

const TABLES = ["admin_tokens", "alerts", "api_keys", "checkpoints", "drift_samples", "promotions", "requests", "webhook_deliveries"];

// Expected columns, written out independently of schema.ts: name, information_schema data_type, nullable.
const T = "text";
const TS = "timestamp with time zone";
const F = "double precision";
const I = "integer";
const COLUMNS: Record<string, Array<[string, string, "YES" | "NO"]>> = {
  checkpoints: [
    ["id", T, "NO"], ["kind", T, "NO"], ["parent_id", T, "YES"], ["reference_id", T, "YES"], ["path", T, "NO"],
    ["manifest", "jsonb", "NO"], ["eval", "jsonb", "YES"], ["status", T, "NO"], ["canary_percent", F, "YES"],
    ["created_at", TS, "NO"], ["updated_at", TS, "NO"],
  ],
  promotions: [
    ["id", I, "NO"], ["checkpoint_id", T, "NO"], ["previous_checkpoint_id", T, "YES"], ["action", T, "NO"],
    ["canary_percent", F, "YES"], ["forced", "boolean", "NO"], ["reason", T, "YES"], ["actor", T, "YES"],
    ["gate", "jsonb", "YES"], ["created_at", TS, "NO"], ["alert_id", I, "YES"],
  ],
  admin_tokens: [["name", T, "NO"], ["sha256", T, "NO"], ["created_at", TS, "NO"], ["revoked_at", TS, "YES"]],
  api_keys: [["name", T, "NO"], ["sha256", T, "NO"], ["created_at", TS, "NO"], ["revoked_at", TS, "YES"], ["expires_at", TS, "YES"]],
  requests: [
    ["id", T, "NO"], ["created_at", TS, "NO"], ["endpoint", T, "NO"], ["model", T, "NO"], ["policy_id", T, "YES"],
    ["reference_id", T, "YES"], ["end_user", T, "YES"], ["n", I, "NO"], ["prompt_tokens", I, "NO"],
    ["completion_tokens", I, "NO"], ["status", I, "NO"], ["guard_mode", T, "YES"], ["guard_max_kl", F, "YES"],
    ["guard_candidates", I, "YES"], ["guard_max_rounds", I, "YES"], ["rounds", I, "YES"], ["accepted", I, "NO"],
    ["fallback", T, "YES"], ["kl_mean", F, "YES"], ["queue_ms", F, "YES"], ["generate_ms", F, "YES"],
    ["guard_ms", F, "YES"], ["total_ms", F, "NO"], ["error_code", T, "YES"], ["arm", T, "NO"],
  ],
  drift_samples: [
    ["request_id", T, "NO"], ["created_at", TS, "NO"], ["round", I, "NO"], ["candidate", I, "NO"],
    ["choice_index", I, "YES"], ["layer", I, "NO"], ["kl_mean", F, "NO"], ["kl_max", F, "NO"], ["kl_sum", F, "NO"],
    ["log_ratio", F, "NO"], ["accepted", "boolean", "NO"], ["sketch_score", F, "YES"], ["sketch_percentile", F, "YES"],
  ],
  alerts: [
    ["id", I, "NO"], ["rule", T, "NO"], ["state", T, "NO"], ["checkpoint_id", T, "YES"], ["since", TS, "NO"],
    ["resolved_at", TS, "YES"], ["value", F, "YES"], ["threshold", F, "YES"], ["details", "jsonb", "YES"],
    ["updated_at", TS, "NO"], ["severity", T, "NO"], ["arm", T, "NO"], ["metric", T, "YES"], ["window", T, "YES"],
    ["statistic", T, "YES"], ["comparison", T, "YES"], ["samples", I, "YES"], ["pending_since", TS, "YES"],
    ["fired_at", TS, "YES"], ["dedupe_key", T, "YES"], ["event_seq", I, "NO"],
  ],
  webhook_deliveries: [
    ["id", I, "NO"], ["url", T, "NO"], ["event", T, "NO"], ["event_seq", I, "NO"], ["alert_id", I, "YES"],
    ["attempt", I, "NO"], ["status", I, "YES"], ["ok", "boolean", "NO"], ["error", T, "YES"], ["duration_ms", F, "NO"],
    ["created_at", TS, "NO"],
  ],
};

const PRIMARY_KEYS: Record<string, string[]> = {
  admin_tokens: ["name"],
  api_keys: ["name"],
  checkpoints: ["id"],
  promotions: ["id"],
  requests: ["created_at", "id"],
  drift_samples: ["created_at", "request_id", "round", "candidate", "layer"],
  alerts: ["id"],
  webhook_deliveries: ["id"],
};

/**
 * Defines `db [<name>] …`: migrate once, clear the tables before each test, close after all.
 * @example defineDbSuite("pglite", () => createDb("memory://"), { fresh: true });
 */
export function defineDbSuite(name: string, makeHandle: () => Promise<DbHandle>, options: SuiteOptions): void {
  describe.skipIf(options.skip ?? false)(`db [${name}]`, () => {
    let handle: DbHandle | undefined;
    let first: MigrateResult;
    const ctx: SuiteContext = {
      get db() {
        if (!handle) throw new Error("database not open");
        return handle.db;
      },
    };

    beforeAll(async () => {
      handle = await makeHandle();
      first = await migrate(handle);
    });
    afterAll(async () => {
      await handle?.close();
    });
    beforeEach(async () => {
      // Safe on a shared, re-used PostgreSQL database: only our tables, emptied, identities reset.
      await ctx.db.execute(sql`truncate table drift_samples, requests, promotions, alerts, webhook_deliveries, checkpoints restart identity`);
    });

    test("migrate is idempotent and creates exactly the expected tables, columns and keys", async () => {
      const total = readMigrationFiles({ migrationsFolder }).length;
      expect(first.total).toBe(total);
      if (options.fresh) expect(first.applied).toBe(total);
      expect(await migrate(handle!)).toEqual({ applied: 0, total });

      const tables = await selectRows<{ table_name: string }>(
        ctx.db,
        sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`,
      );
      const names = tables.map((r) => r.table_name);
      if (options.fresh) expect(names).toEqual(TABLES);
      else expect(names).toEqual(expect.arrayContaining(TABLES));

      for (const table of TABLES) {
        const columns = await selectRows<{ column_name: string; data_type: string; is_nullable: string }>(
          ctx.db,
          sql`select column_name, data_type, is_nullable from information_schema.columns
              where table_schema = 'public' and table_name = ${table} order by ordinal_position`,
        );
        expect(columns.map((c) => [c.column_name, c.data_type, c.is_nullable]), table).toEqual(COLUMNS[table]);

        const pk = await selectRows<{ column_name: string }>(
          ctx.db,
          sql`select k.column_name from information_schema.table_constraints c
              join information_schema.key_column_usage k
                on k.constraint_schema = c.constraint_schema and k.constraint_name = c.constraint_name
              where c.table_schema = 'public' and c.table_name = ${table} and c.constraint_type = 'PRIMARY KEY'
              order by k.ordinal_position`,
        );
        expect(pk.map((r) => r.column_name), `${table} primary key`).toEqual(PRIMARY_KEYS[table]);
      }
    });

    test("per-request tables are partition-ready: created_at-led btree index, no foreign keys", async () => {
      for (const table of ["requests", "drift_samples"]) {
        const indexes = await selectRows<{ indexdef: string }>(
          ctx.db,
          sql`select indexdef from pg_indexes where schemaname = 'public' and tablename = ${table}`,
        );
        expect(indexes.some((i) => /USING btree \(created_at[,)]/.test(i.indexdef)), table).toBe(true);
      }
      const fks = await selectRows<{ conname: string }>(
        ctx.db,
        sql`select conname from pg_constraint where contype = 'f'
            and (conrelid in ('requests'::regclass, 'drift_samples'::regclass)
              or confrelid in ('requests'::regclass, 'drift_samples'::regclass))`,
      );
      expect(fks).toEqual([]);
    });

    test("closed sets are enforced by the database", async () => {
      await expect(
        ctx.db.execute(sql`insert into checkpoints (id, kind, path, manifest) values ('x', 'bogus', '/x', '{}')`),
      ).rejects.toThrow();
      await expect(
        ctx.db.execute(sql`insert into alerts (rule, state, since) values ('r', 'silenced', now())`),
      ).rejects.toThrow();
      await expect(
        ctx.db.execute(sql`insert into requests (id, created_at, endpoint, model, status, total_ms, arm) values ('r', now(), 'completions', 'm', 200, 1, 'shadow')`),
      ).rejects.toThrow();
      // One open row per dedupe key (a restarted monitor re-opens it); resolved rows may repeat the key.
      await ctx.db.execute(sql`insert into alerts (rule, state, since, dedupe_key) values ('r', 'resolved', now(), 'k'), ('r', 'firing', now(), 'k')`);
      await expect(ctx.db.execute(sql`insert into alerts (rule, state, since, dedupe_key) values ('r', 'pending', now(), 'k')`)).rejects.toThrow();
      await ctx.db.execute(sql`insert into checkpoints (id, kind, path, manifest) values ('x', 'policy', '/x', '{}')`);
      const [row] = await selectRows<{ status: string }>(ctx.db, sql`select status from checkpoints where id = 'x'`);
      expect(row?.status).toBe("registered");
    });

    defineRoundTripTests(ctx);
    defineWriteTests(ctx);
    definePruneTests(ctx);
  });
}
