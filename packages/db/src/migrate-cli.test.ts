// `npm run db:migrate` as a process: one line on success, exit 1 with one line (no stack) when the server is unreachable.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { migrationsFolder } from "./migrate";

const repoRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");
const postgresUrl = process.env.TEST_DATABASE_URL;
const total = readMigrationFiles({ migrationsFolder }).length;
const applied = `applied ${total} migration${total === 1 ? "" : "s"}`;

interface Run {
  code: number | null;
  stdout: string[];
  stderr: string[];
}

/** Runs the CLI with `npx tsx` and exactly the database variables given (inherited ones removed). */
function runCli(env: Record<string, string>): Promise<Run> {
  const { DATABASE_URL: _url, TETHER_DATA_DIR: _dir, ...inherited } = process.env;
  return new Promise((done, fail) => {
    const child = spawn("npx", ["tsx", "packages/db/src/migrate-cli.ts"], {
      cwd: repoRoot,
      // npm's own config warnings would otherwise share stderr with the CLI's line.
      env: { ...inherited, npm_config_loglevel: "error", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout: lines(out), stderr: lines(err) }));
  });
}

const lines = (text: string) => text.split("\n").filter((l) => l.trim() !== "");

describe("db:migrate", () => {
  test("the migrations folder is found from the module, not the working directory", () => {
    expect(migrationsFolder).toBe(join(repoRoot, "migrations"));
  });

  test("exits 1 with one line and no stack when DATABASE_URL is unreachable", async () => {
    const run = await runCli({ DATABASE_URL: "postgres://postgres:secret@127.0.0.1:1/x" });
    expect(run.code).toBe(1);
    expect(run.stdout).toEqual([]);
    expect(run.stderr).toHaveLength(1);
    expect(run.stderr[0]).toMatch(/^db:migrate: failed to migrate PostgreSQL 127\.0\.0\.1:1\/x: .*ECONNREFUSED/);
    expect(run.stderr[0]).not.toMatch(/secret/);
  });

  describe("on the embedded PGlite", () => {
    const root = mkdtempSync(join(tmpdir(), "tether-migrate-"));
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    test("migrates TETHER_DATA_DIR/pgdata once, then reports it up to date", async () => {
      const first = await runCli({ TETHER_DATA_DIR: root });
      expect(first).toEqual({
        code: 0,
        stdout: [`db:migrate: PGlite ${join(root, "pgdata")}: ${applied} (${total} in migrations/)`],
        stderr: [],
      });
      const again = await runCli({ TETHER_DATA_DIR: root });
      expect(again.stdout).toEqual([`db:migrate: PGlite ${join(root, "pgdata")}: already up to date (${total} in migrations/)`]);
      expect(again.code).toBe(0);
    });
  });

  test.skipIf(!postgresUrl)("migrates DATABASE_URL on PostgreSQL", async () => {
    const run = await runCli({ DATABASE_URL: postgresUrl! });
    expect(run.stderr).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.stdout).toHaveLength(1);
    expect(run.stdout[0]).toMatch(/^db:migrate: PostgreSQL [^@]+: (applied \d+ migrations?|already up to date) \(\d+ in migrations\/\)$/);
  });
});
