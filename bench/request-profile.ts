// Where the gateway's main thread spends a request: a real server (`npm start`'s entry, models/demo, PGlite in a
// temp data dir, one ORT intra-op thread) under node --cpu-prof, one client connection posting completions for
// RUN_S seconds, then SIGTERM; the main thread's samples taken while requests ran are attributed to the innermost
// frame that belongs to a known part (ORT's graph run, HTTP, PGlite, softmax/KL, sampling, …) and printed as
// ms per request and share of wall time, with the load. `npm run bench -- profile [--pool] [--connections N]`
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";

const RUN_S = 15;
const BODY = { prompt: "1+1=", max_tokens: 16, temperature: 1 }; // default guard: k = 4 candidates

// Innermost matching frame wins; order breaks ties within one frame.
const PARTS: [string, RegExp][] = [
  ["ORT graph run (synchronous, on the main thread)", /onnxruntime-node\/dist\/backend\.js/],
  // PGlite's package, its wasm, and (PGlite in a worker thread) the main-thread proxy; not any path with "pglite"
  // in it (a checkout in a directory named so would put every frame here)
  ["PGlite (wasm + js, drift log)", /@electric-sql\/pglite|packages\/db\/src\/pglite-thread|wasm-function|GenericJSToWasm/],
  ["drizzle / drift writer", /drizzle|gateway\/src\/store\/|packages\/db\//],
  ["softmax / KL (packages/shared/src/math)", /packages\/shared\/src\/math\//],
  ["sampling (packages/shared/src/sampling)", /packages\/shared\/src\/sampling\//],
  ["engine JS (feeds, KV-cache copies)", /gateway\/src\/engine\/|onnxruntime-common/],
  ["HTTP (sockets, node:http, Hono, body)", /_http_|node:net|stream_base|@hono|hono\/dist|undici|http\/body|internal\/streams/],
  ["gateway service / guard / decode / render", /apps\/gateway\/src\//],
];

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/** ms per request and share of the load window for each part, from a .cpuprofile. */
export function attribute(profile: CpuProfile, requests: number, pool = false): [string, number, number][] {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stack = function* (id: number) {
    for (let c: number | undefined = id; c !== undefined; c = parent.get(c)) yield nodes.get(c)!.callFrame;
  };
  // the load window: first to last sample with a decode in progress (with the pool, decodes run in the workers:
  // first to last sample in the gateway's own code)
  // (start-up — opening PGlite, migrations, loading the engines — runs under server.node.ts and is not load)
  const busy = profile.samples.map((id) => {
    const frames = [...stack(id)];
    if (!pool) return frames.some((f) => f.functionName === "decodeBatch");
    return frames.some((f) => f.url.includes("apps/gateway/src/")) && !frames.some((f) => f.url.endsWith("apps/gateway/src/server.node.ts"));
  });
  const first = busy.indexOf(true);
  const last = busy.lastIndexOf(true);
  const totals = new Map<string, number>();
  let window = 0;
  for (let i = first; i <= last; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    window += dt;
    const leaf = nodes.get(profile.samples[i]!)!.callFrame.functionName;
    let part = leaf === "(idle)" ? "idle (waiting for the client / timers)" : leaf === "(garbage collector)" ? "garbage collector" : "other (zod, V8, node internals)";
    if (part.startsWith("other")) {
      outer: for (const f of stack(profile.samples[i]!)) {
        for (const [name, re] of PARTS) if (re.test(`${f.functionName} ${f.url}`)) {
          part = name;
          break outer;
        }
      }
    }
    totals.set(part, (totals.get(part) ?? 0) + dt);
  }
  return [...totals].sort((a, b) => b[1] - a[1]).map(([k, us]) => [k, us / 1000 / requests, us / window]);
}

export async function benchRequestProfile(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tether-profile-"));
  const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");
  // engines on the main thread (engine.workers = 0) by default: the main thread's time, graph runs included, as
  // before the engine pool; `--pool` profiles the default server, whose graphs run in worker threads, with
  // `--connections N` request loops at once.
  const pool = process.argv.includes("--pool");
  const c = process.argv.indexOf("--connections");
  const connections = c > 0 ? Number(process.argv[c + 1]) : 1;
  writeFileSync(join(dir, "config.json"), JSON.stringify(pool ? {} : { engine: { workers: 0 } }));
  const server = spawn(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${join(dir, "prof")}`, "--import", "tsx", "apps/gateway/src/server.node.ts"], {
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", TETHER_DATA_DIR: join(dir, "data"), TETHER_CONFIG: join(dir, "config.json"), TETHER_ORT_THREADS: "1", DATABASE_URL: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let log = "";
      server.stderr.on("data", (chunk: Buffer) => {
        log += chunk.toString();
        const m = /serving (\S+) on (http:\/\/\S+)/.exec(log);
        if (m) resolve(m[2]!);
      });
      server.on("exit", (code) => reject(new Error(`server exited (${code}) before listening:\n${log}`)));
    });
    const model = ((await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] }).data[0]!.id;
    const body = JSON.stringify({ model, ...BODY });
    const latencies: number[] = [];
    const end = performance.now() + RUN_S * 1000;
    const loop = async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const res = await fetch(`${url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body });
        await res.text();
        if (res.status !== 200) throw new Error(`request answered ${res.status}`);
        latencies.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: connections }, loop));
    const exited = new Promise((resolve) => server.on("exit", resolve));
    server.kill("SIGTERM");
    await exited;
    // the main thread's profile: thread id 0 in the name (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile);
    // worker threads (engines, tsx) write their own
    const files = readdirSync(join(dir, "prof")).map((f) => join(dir, "prof", f)).sort((a, b) => statSync(b).size - statSync(a).size);
    const main = files.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0]!;
    const parts = attribute(JSON.parse(readFileSync(main, "utf8")) as CpuProfile, latencies.length, pool);
    latencies.sort((a, b) => a - b);
    console.log(`request profile · models/demo, PGlite ${process.env.TETHER_PGLITE_THREAD === "0" ? "in process (TETHER_PGLITE_THREAD=0)" : "in its worker thread"}, 1 ORT thread, ${pool ? "engine pool" : "engines on the main thread"}, ${connections} connection(s), ${JSON.stringify(BODY)} · ${latencies.length} requests in ${RUN_S} s, p50 ${latencies[latencies.length >> 1]!.toFixed(2)} ms · load ${load()}`);
    console.log("| main thread, per request | ms | share of wall time |\n|---|---:|---:|");
    for (const [part, ms, share] of parts) console.log(`| ${part} | ${ms.toFixed(2)} | ${(100 * share).toFixed(1)}% |`);
  } finally {
    if (server.exitCode === null) server.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}
