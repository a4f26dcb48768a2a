// The committed migrations/ must match schema.ts: a schema edit without `drizzle-kit generate` fails here, before any database sees it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { generateDrizzleJson, generateMigration, type DrizzleSnapshotJSON } from "drizzle-kit/api";
import { describe, expect, test } from "vitest";
import { migrationsFolder } from "./migrate";
import * as schema from "./schema";

describe("migrations", () => {
  test("the latest snapshot in migrations/meta matches schema.ts (nothing left to generate)", async () => {
    const journal = JSON.parse(readFileSync(join(migrationsFolder, "meta", "_journal.json"), "utf8")) as {
      entries: Array<{ idx: number; tag: string; when: number }>;
    };
    const last = journal.entries.at(-1)!;
    const snapshotFile = join(migrationsFolder, "meta", `${String(last.idx).padStart(4, "0")}_snapshot.json`);
    const committed = JSON.parse(readFileSync(snapshotFile, "utf8")) as DrizzleSnapshotJSON;
    const current = generateDrizzleJson(schema, committed.id);
    expect(await generateMigration(committed, current)).toEqual([]);
  });

  test("journal timestamps increase (drizzle's migrator skips a migration older than the last applied)", () => {
    const journal = JSON.parse(readFileSync(join(migrationsFolder, "meta", "_journal.json"), "utf8")) as {
      entries: Array<{ when: number }>;
    };
    const whens = journal.entries.map((e) => e.when);
    expect(whens).toEqual([...whens].sort((a, b) => a - b));
    expect(new Set(whens).size).toBe(whens.length);
  });
});
