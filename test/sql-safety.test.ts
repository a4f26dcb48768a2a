// SQL only through parameters: every TypeScript source is scanned for SQL built from strings — sql.raw() on
// anything but a plain literal, and untagged template strings or non-literals handed to a driver's
// unsafe()/query()/exec() — and each hit must be in the reviewed allowlist below, with the reason it is safe.
// drizzle's sql`…${value}` tag sends values as parameters and is not flagged.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "./gateway-helpers";

const ROOTS = ["apps", "packages", "bench", "test", "scripts"];
const SKIP_DIRS = new Set(["node_modules", "dist", "migrations", ".tether", "models"]);

/** Reviewed string-built SQL: file, a substring of the line, and why no outside input reaches it. */
const ALLOWLIST: Array<{ file: string; line: string; why: string }> = [
  { file: "packages/db/src/schema.ts", line: "sql.raw(values.map(", why: "oneOf() CHECK helper: values are the schema's own enum literals, quoted and '-escaped" },
  { file: "packages/db/src/writes.ts", line: "sql.raw(column.getSQLType())", why: "a column's SQL type from the drizzle schema, not data" },
  { file: "bench/gateway-overhead.ts", line: "sql.raw(`create database ${name}`)", why: "identifier from a fixed prefix and the pid (identifiers cannot be parameters)" },
  { file: "bench/gateway-overhead.ts", line: "sql.raw(`drop database if exists ${name} with (force)`)", why: "as above" },
  { file: "bench/gateway-overhead.ts", line: "sql.raw(`select count(*)::int as n from ${table}`)", why: "table is the literal union \"requests\" | \"drift_samples\"" },
  { file: "test/gateway-process.ts", line: "sql.raw(`drop database if exists ${name} with (force)`)", why: "identifier from a fixed prefix and the pid" },
  { file: "test/gateway-process.ts", line: "sql.raw(`create database ${name}`)", why: "as above" },
  { file: "bench/worker-dev.ts", line: "sql.raw(`create database \"${name}\"`)", why: "identifier from a fixed prefix (identifiers cannot be parameters)" },
  { file: "bench/worker-dev.ts", line: "sql.raw(`drop database if exists \"${name}\" with (force)`)", why: "as above" },
  { file: "test/workerd/global-setup.ts", line: "sql.raw(`drop database if exists \"${name}\" with (force)`)", why: "the test database's name with a fixed suffix" },
  { file: "test/workerd/global-setup.ts", line: "sql.raw(`create database \"${name}\"`)", why: "as above" },
  { file: "test/drift-cli.test.ts", line: "admin.unsafe(`create database ${name}`)", why: "identifier from a fixed prefix and the pid" },
  { file: "test/drift-cli.test.ts", line: "admin.unsafe(`drop database if exists ${name} with (force)`)", why: "as above" },
  { file: "test/promotion-replicas.test.ts", line: "admin.unsafe(`create database ${name}`)", why: "identifier from a fixed prefix and the pid" },
  { file: "test/promotion-replicas.test.ts", line: "admin.unsafe(`drop database if exists ${name} with (force)`)", why: "as above" },
];

// A plain literal: '…' or "…" (no concatenation after it), or a template without ${…}.
const LITERAL = /^\s*(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`$]*`)\s*[),]/;
const RAW = /\bsql\.raw\(/g;
const DRIVER = /\b(?:client|pg|pglite|db|admin|conn|tx|sql|\$client)\.(?:unsafe|query|exec)\(/g;

export interface SqlHit {
  file: string;
  line: number;
  text: string;
}

/** String-built SQL in one file's text (exported for the self-test below). */
export function findStringSql(file: string, source: string): SqlHit[] {
  const hits: SqlHit[] = [];
  source.split("\n").forEach((text, i) => {
    if (/^\s*(\/\/|\*)/.test(text)) return; // comments
    for (const pattern of [RAW, DRIVER]) {
      for (const m of text.matchAll(pattern)) {
        const rest = text.slice(m.index + m[0].length);
        if (!LITERAL.test(rest)) hits.push({ file, line: i + 1, text: text.trim() });
      }
    }
  });
  return hits;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

describe("SQL only through parameters", () => {
  it("finds string-built SQL (self-test on known bad and good lines)", () => {
    const bad = [
      "await db.execute(sql.raw(`select * from requests where id = '${id}'`));",
      "await client.unsafe(`delete from requests where id = ${id}`);",
      "await pg.query('select * from t where id = ' + id);",
      "await pglite.exec(text);",
      "sql.raw(userInput)",
    ];
    const good = [
      "await db.execute(sql`select * from requests where id = ${id}`);",
      "await client.query(\"select 1 as one\");",
      "sql.raw('now()')",
      "await pg.query('select $1::int', [x]);",
      "const m = FILE_NAME.exec(last);",
    ];
    expect(bad.map((l) => findStringSql("x.ts", l).length)).toEqual(bad.map(() => 1));
    expect(good.map((l) => findStringSql("x.ts", l).length)).toEqual(good.map(() => 0));
  });

  it("every hit in the repository is in the reviewed allowlist, and every allowlist entry still exists", () => {
    const hits = ROOTS.flatMap((root) => {
      try {
        return sources(join(REPO, root));
      } catch {
        return []; // a root that does not exist (scripts/)
      }
    })
      .filter((path) => path !== import.meta.filename) // this file's own fixtures
      .flatMap((path) => findStringSql(relative(REPO, path), readFileSync(path, "utf8")));
    const allowed = (h: SqlHit) => ALLOWLIST.some((a) => a.file === h.file && h.text.includes(a.line));
    expect(hits.filter((h) => !allowed(h)).map((h) => `${h.file}:${h.line}: ${h.text}`)).toEqual([]);
    const stale = ALLOWLIST.filter((a) => !hits.some((h) => h.file === a.file && h.text.includes(a.line)));
    expect(stale.map((a) => `${a.file}: ${a.line}`)).toEqual([]);
  });
});
