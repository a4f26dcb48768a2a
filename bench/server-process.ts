// The gateway as `npm start` runs it, for the benches that need a real server process: the bundle that
// apps/gateway/scripts/build.mjs makes (the `prestart` step), or the TypeScript sources through tsx.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface ServerProcess {
  url: string;
  model: string;
  pid: number;
  stop(): Promise<void>;
}

/** How the server's code is loaded: `npm start`'s bundle, or the sources through tsx (as the tests run them). */
export type Entry = "bundle" | "sources";

/** Runs `npm start`'s build step (well under a second); call once before starting "bundle" servers. */
export function buildBundle(): void {
  const r = spawnSync(process.execPath, ["apps/gateway/scripts/build.mjs"], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`apps/gateway/scripts/build.mjs exited ${r.status}`);
}

const ARGV: Record<Entry, string[]> = {
  bundle: ["apps/gateway/dist/node/server.node.js"],
  sources: ["--import", "tsx", "apps/gateway/src/server.node.ts"],
};

/** Starts the server with `config` in `dir`/config.json and data in `dir`/data; resolves at its "serving … on http://…" line. */
export async function startServer(dir: string, config: object, env: Record<string, string> = {}, entry: Entry = "bundle"): Promise<ServerProcess> {
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  const child: ChildProcess = spawn(process.execPath, ARGV[entry], {
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", TETHER_DATA_DIR: join(dir, "data"), TETHER_CONFIG: join(dir, "config.json"), DATABASE_URL: "", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const [url, model] = await new Promise<[string, string]>((resolve, reject) => {
    let log = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      const m = /serving (\S+) on (http:\/\/\S+)/.exec(log);
      if (m) resolve([m[2]!, m[1]!]);
    });
    child.on("exit", (code) => reject(new Error(`server exited (${code}) before listening:\n${log}`)));
  });
  child.stderr!.resume();
  const stop = () =>
    new Promise<void>((done) => {
      child.once("exit", () => done());
      child.kill("SIGTERM");
    });
  return { url, model, pid: child.pid!, stop };
}

export interface Memory {
  rss: number;
  pss: number;
  anon: number;
}

/** Rss, Pss and anonymous memory of a process in MiB (/proc/<pid>/smaps_rollup). */
export function memory(pid: number): Memory {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
  return { rss: kb("Rss") / 1024, pss: kb("Pss") / 1024, anon: kb("Anonymous") / 1024 };
}

export const mib = (m: Memory) => `RSS ${m.rss.toFixed(0)} MiB (anonymous ${m.anon.toFixed(0)}, PSS ${m.pss.toFixed(0)})`;
