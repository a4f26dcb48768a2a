// Idle memory of the gateway right after it starts on the demo pair, and where it goes. Each variant is a real
// server process (bench/server-process.ts) started twice on a new data dir (the first start runs PGlite's
// initdb in a child process; the restart is what is printed) and read from /proc/<pid>/smaps_rollup after it
// settles. The variants differ in one thing each from `npm start`'s defaults (the bundle, engine.workers = the
// cores, PGlite in its worker thread, PGlite's wasm on V8's baseline compiler), so the differences are the
// parts' costs. Goal (issue #12): `npm start`'s idle RSS < 300 MB. `npm run bench -- idle-rss`
// (BENCH_DATABASE_URL=postgres://… adds the server on PostgreSQL, with no PGlite in the process).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { buildBundle, memory, mib, startServer, type Entry, type Memory } from "./server-process";

const SETTLE_MS = 3000;
const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");

interface Variant {
  name: string;
  config?: object;
  env?: Record<string, string>;
  entry?: Entry;
}

async function idle(v: Variant): Promise<Memory> {
  const dir = mkdtempSync(join(tmpdir(), "tether-idle-rss-"));
  try {
    for (let start = 0; ; start++) {
      const server = await startServer(dir, v.config ?? {}, v.env ?? {}, v.entry ?? "bundle");
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const m = memory(server.pid);
      await server.stop();
      if (start === 1) return m;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function bareNode(argv: string[]): Promise<Memory> {
  const child = spawn(process.execPath, [...argv, "-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const m = memory(child.pid!);
  child.kill();
  return m;
}

export async function benchIdleRss(): Promise<void> {
  buildBundle();
  const cores = availableParallelism();
  console.log(`idle RSS after start: demo pair, ${cores} cores (engine.workers default = ${cores}), load ${load()}`);
  const pg = process.env.BENCH_DATABASE_URL;
  const variants: Record<string, Variant> = {
    base: { name: "npm start (defaults)" },
    turbofan: { name: "PGlite wasm also on TurboFan (pglite_wasm: optimizing)", env: { TETHER_PGLITE_WASM: "optimizing" } },
    sources: { name: "the TypeScript sources through tsx (the old npm start)", entry: "sources" },
    pgliteMain: { name: "PGlite in the main thread (TETHER_PGLITE_THREAD=0)", env: { TETHER_PGLITE_THREAD: "0" } },
    enginesMain: { name: "engines on the main thread (engine.workers: 0)", config: { engine: { workers: 0 } } },
    bothMain: { name: "engine.workers: 0 and PGlite in the main thread", config: { engine: { workers: 0 } }, env: { TETHER_PGLITE_THREAD: "0" } },
    ...(pg
      ? {
          postgres: { name: "on PostgreSQL (no PGlite)", env: { DATABASE_URL: pg } },
          postgresMain: { name: "on PostgreSQL, engine.workers: 0", config: { engine: { workers: 0 } }, env: { DATABASE_URL: pg } },
        }
      : {}),
  };
  const rss: Record<string, number> = {};
  for (const [key, v] of Object.entries(variants)) {
    const m = await idle(v);
    rss[key] = m.rss;
    console.log(`  ${v.name.padEnd(58)} ${mib(m)}   load ${load()}`);
  }
  const bare = await bareNode([]);
  const bareTsx = await bareNode(["--import", "tsx"]);
  console.log(`  ${"bare node".padEnd(58)} ${mib(bare)}`);
  console.log(`  ${"bare node --import tsx".padEnd(58)} ${mib(bareTsx)}`);
  const d = (a: string, b: string) => `${(rss[a]! - rss[b]!).toFixed(0)} MiB`;
  console.log(`\nwhere npm start's ${rss.base!.toFixed(0)} MiB go (differences between the variants above):`);
  console.log(`  node itself: ${bare.rss.toFixed(0)} MiB`);
  console.log(`  PGlite's wasm on TurboFan would add ${d("turbofan", "base")}; tsx would add ${d("sources", "base")}`);
  console.log(`  PGlite's worker thread: ${d("base", "pgliteMain")} over PGlite in the main thread`);
  console.log(`  ${cores} engine worker threads: ${d("base", "enginesMain")} over the engines on the main thread`);
  if (pg) console.log(`  embedded PGlite (thread included): ${d("base", "postgres")}; the server on PostgreSQL with engine.workers 0: ${rss.postgresMain!.toFixed(0)} MiB`);
  const mb = rss.base! * 1.048576;
  console.log(`goal: npm start < 300 MB (${mb.toFixed(0)} MB): ${mb < 300 ? "met" : "NOT met"}   load ${load()}`);
}
