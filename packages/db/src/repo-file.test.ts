import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { migrationsFolder } from "./migrate";
import { repoFile } from "./repo-file";

describe("repoFile", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-repo-file-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, "migrations/meta"), { recursive: true });
  writeFileSync(join(root, "migrations/meta/_journal.json"), "{}");
  mkdirSync(join(root, "packages/db/src"), { recursive: true });
  mkdirSync(join(root, "apps/gateway/dist/node"), { recursive: true });
  const moduleIn = (dir: string) => pathToFileURL(join(root, dir, "module.js")).href;

  it("finds a root file from a module at any depth: the sources and the bundle alike", () => {
    for (const dir of ["packages/db/src", "apps/gateway/dist/node", "."]) {
      expect(repoFile("migrations/meta/_journal.json", moduleIn(dir))).toBe(join(root, "migrations/meta/_journal.json"));
    }
  });

  it("takes the nearest directory that holds the path", () => {
    mkdirSync(join(root, "apps/gateway/migrations"), { recursive: true });
    expect(repoFile("migrations", moduleIn("apps/gateway/dist/node"))).toBe(join(root, "apps/gateway/migrations"));
    expect(repoFile("migrations", moduleIn("packages/db/src"))).toBe(join(root, "migrations"));
  });

  it("throws naming the path when no directory above holds it", () => {
    expect(() => repoFile("no-such-file-7f3a", moduleIn("packages/db/src"))).toThrow(/no-such-file-7f3a not found in any directory above .*packages\/db\/src/);
  });

  it("locates this repository's migrations from packages/db/src", () => {
    expect(migrationsFolder).toBe(join(import.meta.dirname, "../../../migrations"));
  });
});
