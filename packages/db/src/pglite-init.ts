// A new PGlite data directory is initialised (initdb) in a short-lived child process, then opened here.
// PGlite's wasm heap grows to ~700 MB during initdb and WebAssembly memory never shrinks, so a process that ran
// initdb itself keeps that for its whole life; opening an initialised directory needs ~230 MB (measured on the
// gateway's first start: docs/performance.md). The child exits before the parent opens the files (one opener).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** PostgreSQL settings for every embedded database: the drift log is append-mostly and needs no 128 MB buffer pool. */
export const PGLITE_CONF = ["shared_buffers=16MB"];

const INIT = `
const [url, dir, conf] = process.argv.slice(1);
const { PGlite } = await import(url);
const db = await PGlite.create(dir, { postgresqlconf: JSON.parse(conf) });
await db.close();`;

/** Runs initdb for `dataDir` in a child process unless it holds a cluster already; resolves false if that failed. */
export async function initPgliteInChild(dataDir: string): Promise<boolean> {
  if (existsSync(join(dataDir, "PG_VERSION"))) return true;
  let url: string;
  try {
    url = import.meta.resolve("@electric-sql/pglite");
  } catch {
    return false; // a runner without import.meta.resolve: initdb happens in this process
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", INIT, url, dataDir, JSON.stringify(PGLITE_CONF)], { stdio: "ignore" });
    child.on("error", () => resolve(false));
    child.on("exit", (code) => resolve(code === 0 && existsSync(join(dataDir, "PG_VERSION"))));
  });
}
