// Files of this repository that Node code reads at run time (migrations/, the dashboard's client files,
// package.json), found by walking up from the calling module. The same lookup works from the TypeScript
// sources (tsx, vitest) and from `npm start`'s bundle (apps/gateway/scripts/build.mjs), whose modules live in
// apps/gateway/dist/node/, at another depth than their sources.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Absolute path of `relative` (a repo-root-relative path such as "migrations/meta/_journal.json") in the nearest
 * directory above `from` (a module URL) that holds it; throws naming the path when none does.
 * @example repoFile("migrations", import.meta.url) // "/work/tether/migrations"
 */
export function repoFile(relative: string, from: string): string {
  const start = dirname(fileURLToPath(from));
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`${relative} not found in any directory above ${start}`);
  }
}
