// The gateway's Node entry (apps/gateway/src/server.node.ts) as a real process with PGlite under a temp
// TETHER_DATA_DIR, PORT=0 (the URL is read from its "tether: serving … on http://…" line), shut down with
// SIGTERM while requests are queued and decoding. What server.node.ts promises: stop accepting, drain, flush
// the drift log, exit 0. Checked here:
//   - every request the server held when SIGTERM arrived is answered completely (200; a streamed one ends
//     with `data: [DONE]`) — none is cut;
//   - a new connection attempted after SIGTERM is refused (the listening socket is closed first; NOT checked:
//     a keep-alive connection that was busy at SIGTERM stays open after its response and is served further
//     requests during the drain, which then lasts until the client or Node's 5 s keepAliveTimeout closes it);
//   - the process prints that it drains, and exits with code 0 on its own;
//   - afterwards the PGlite directory holds exactly one `requests` row per answered request, and the spill
//     directory is empty (the flush reached the database).
// limits.max_concurrent = 1 (TETHER_CONFIG) makes requests queue, so SIGTERM reliably lands mid-load; /metrics
// (queue depth + in flight) tells when the server holds every request.
//
// Two launchers, one process at a time:
//   1) `node --import tsx server.node.ts`: the signal reaches the server process itself — the server's contract;
//   2) package.json's `prestart` then `start` command as npm would exec them (the bundle that
//      apps/gateway/scripts/build.mjs makes; npm itself is left out: signalled, `npm start` exits
//      at once and its `sh -c` child dies without passing the signal on, orphaning the server). With
//      `"start": "tsx apps/gateway/src/server.node.ts"` that is the tsx CLI, a parent process that relays SIGTERM
//      to the server in a child process and SIGKILLs that child unless the child acknowledges over IPC within
//      30 ms (tsx 4.23 dist/cli.mjs relaySignalToChild). A server busy decoding often cannot answer that fast; then
//      the drain never happens (exit 143, in-flight requests cut, the drift log's memory buffer lost).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { createDb, selectRows } from "@tether/db";
import { DEMO_POLICY, DEMO_REFERENCE, manifestId, metricValue, REPO, sleep, tempDir } from "./gateway-helpers";

const MODEL = manifestId(DEMO_POLICY);

const COMPLETIONS = 8; // plain JSON requests, 8 guard candidates each: long enough to still be queued when the metrics are read
const STREAMS = 2; // SSE chat requests
const TOTAL = COMPLETIONS + STREAMS;

interface Outcome {
  status: number; // 0: failed at the connection level, or the body was cut
  id: string | null; // x-tether-request-id
  body: string; // the whole body, or the error
  at: number; // performance.now() when the whole body had arrived
}

interface ShutdownRun {
  stderr: string;
  exit: { code: number | null; signal: NodeJS.Signals | null };
  held: number; // requests queued or decoding when SIGTERM was sent
  outcomes: Outcome[];
  sigtermAt: number;
  late: string; // what a request on a new connection 200 ms after SIGTERM got
  dataDir: string;
}

/** A POST on a connection of its own (no keep-alive pool): what a new client gets. */
function postOnNewConnection(url: string, body: object): Promise<string> {
  return new Promise((resolve) => {
    const req = request(url, { method: "POST", agent: false, headers: { "content-type": "application/json" } }, (res) => {
      res.resume();
      res.on("end", () => resolve(`answered ${res.statusCode}`));
    });
    req.on("error", (e) => resolve(`failed: ${e.message}`));
    req.end(JSON.stringify({ model: MODEL, ...body }));
  });
}

/** package.json's script `name` as argv (a plain command line: no quotes, no shell operators). */
function scriptCommand(name: "prestart" | "start"): string[] {
  const { scripts } = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { scripts: Record<string, string> };
  return scripts[name]!.trim().split(/\s+/);
}

/** What npm would run for a command name: node itself, or a binary from node_modules/.bin. */
function resolveBin(name: string): string {
  if (name === "node") return process.execPath;
  const local = join(REPO, "node_modules", ".bin", name);
  return existsSync(local) ? local : name;
}

const running = new Set<ReturnType<typeof spawn>>();
const dirs: (() => void)[] = [];

/** Starts the entry with `argv`, loads it, sends SIGTERM mid-load, and waits for the process to exit. */
async function shutdownUnderLoad(label: string, command: string, argv: string[]): Promise<ShutdownRun> {
  const data = tempDir("tether-shutdown-");
  dirs.push(data.remove);
  const configFile = join(data.dir, "tether.json");
  writeFileSync(configFile, JSON.stringify({ limits: { max_concurrent: 1 } }));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: "0",
    HOST: "127.0.0.1",
    TETHER_DATA_DIR: data.dir,
    TETHER_CONFIG: configFile,
    TETHER_POLICY: DEMO_POLICY,
    TETHER_REFERENCE: DEMO_REFERENCE,
    DATABASE_URL: "", // empty = unset: PGlite under TETHER_DATA_DIR
    TETHER_ORT_THREADS: "1",
  };
  const proc = spawn(command, argv, { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
  running.add(proc);
  let stderr = "";
  proc.stdout.resume();
  const exited = new Promise<ShutdownRun["exit"]>((resolve) =>
    proc.once("exit", (code, signal) => {
      running.delete(proc);
      resolve({ code, signal });
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: no "serving … on http://…" line within 90 s; stderr:\n${stderr}`)), 90_000);
    proc.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /tether: serving \S+ on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then(({ code }) => reject(new Error(`${label}: the gateway exited (${code}) before serving; stderr:\n${stderr}`)));
  });

  const post = async (path: string, body: object): Promise<Outcome> => {
    try {
      const res = await fetch(url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, ...body }) });
      const text = await res.text(); // the whole body: a cut stream rejects here
      return { status: res.status, id: res.headers.get("x-tether-request-id"), body: text, at: performance.now() };
    } catch (e) {
      return { status: 0, id: null, body: String((e as Error).cause ?? e), at: performance.now() };
    }
  };
  const calls = [
    ...Array.from({ length: COMPLETIONS }, (_, i) => post("/v1/completions", { prompt: "Hello", max_tokens: 32, temperature: 1, seed: i, drift_guard: { candidates: 8 } })),
    ...Array.from({ length: STREAMS }, (_, i) =>
      post("/v1/chat/completions", { messages: [{ role: "user", content: "7*8=" }], max_tokens: 16, temperature: 1, seed: 100 + i, stream: true }),
    ),
  ];
  let finished = 0;
  calls.forEach((c) => void c.then(() => finished++));

  // SIGTERM once the server holds every request and several are still waiting or decoding
  let held = 0;
  for (const deadline = performance.now() + 30_000; ; ) {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    held = metricValue(metrics, "tether_queue_depth") + metricValue(metrics, "tether_requests_in_flight");
    if (held + finished === TOTAL && held >= 3) break;
    if (finished === TOTAL || performance.now() > deadline) throw new Error(`${label}: never saw the load in flight (held ${held}, finished ${finished})`);
    await sleep(5);
  }
  const sigtermAt = performance.now();
  proc.kill("SIGTERM");
  await sleep(200);
  const late = await postOnNewConnection(`${url}/v1/completions`, { prompt: "1+1=", max_tokens: 2 });
  const outcomes = await Promise.all(calls);
  const exit = await exited;
  const answers = outcomes.map((o) => `${o.status}@${Math.round(o.at - sigtermAt)}ms${o.status === 200 ? "" : ` (${o.body})`}`);
  console.log(
    `shutdown test [${label}]: SIGTERM with ${held} of ${TOTAL} requests held by the server; answers ${answers.join(" ")}; ` +
      `late request ${late}; exit ${JSON.stringify(exit)} ${Math.round(performance.now() - sigtermAt)} ms after SIGTERM`,
  );
  return { stderr, exit, held, outcomes, sigtermAt, late, dataDir: data.dir };
}

/** The assertions both launchers must meet. */
async function expectGracefulDrain(run: ShutdownRun): Promise<void> {
  expect(run.stderr).toMatch(/SIGTERM: draining requests and flushing the drift log/);
  expect(run.exit).toEqual({ code: 0, signal: null });
  expect(run.late).toMatch(/^failed: connect ECONNREFUSED/);
  // every request was answered in full, several of them after SIGTERM
  expect(run.outcomes.map((o) => (o.status === 200 ? 200 : `${o.status} ${o.body}`))).toEqual(Array(TOTAL).fill(200));
  expect(run.outcomes.filter((o) => o.at > run.sigtermAt).length).toBeGreaterThanOrEqual(3);
  for (const o of run.outcomes.slice(0, COMPLETIONS)) expect((JSON.parse(o.body) as { choices: unknown[] }).choices.length).toBe(1);
  for (const o of run.outcomes.slice(COMPLETIONS)) expect(o.body.trimEnd().endsWith("data: [DONE]")).toBe(true);
  // the drift log: flushed to PGlite (server.node.ts keeps it in <data_dir>/pglite), nothing left to replay
  const spill = join(run.dataDir, "spill");
  expect(existsSync(spill) ? readdirSync(spill).filter((f) => !f.startsWith(".")) : []).toEqual([]);
  const handle = await createDb(join(run.dataDir, "pgdata"));
  try {
    const rows = await selectRows<{ id: string; status: number }>(handle.db, sql`select id, status from requests`);
    expect(rows.map((r) => `${r.id} ${r.status}`).sort()).toEqual(run.outcomes.map((o) => `${o.id} ${o.status}`).sort());
  } finally {
    await handle.close();
  }
}

describe("gateway process: SIGTERM mid-load", () => {
  afterAll(() => {
    for (const proc of running) proc.kill("SIGKILL");
    for (const remove of dirs) remove();
  });

  it("node --import tsx server.node.ts: drains queued and running requests, flushes every one to the database, exits 0", async () => {
    await expectGracefulDrain(await shutdownUnderLoad("node --import tsx", process.execPath, ["--import", "tsx", "apps/gateway/src/server.node.ts"]));
  }, 60_000);

  it("package.json's `start` command (what `npm start` runs, without npm in between): the same drain", async () => {
    const [build, ...buildArgv] = scriptCommand("prestart"); // npm runs it before start: the bundle start runs
    const built = spawnSync(resolveBin(build!), buildArgv, { cwd: REPO, encoding: "utf8" });
    expect(built.status, built.stderr).toBe(0);
    const [command, ...argv] = scriptCommand("start");
    await expectGracefulDrain(await shutdownUnderLoad(`start script: ${[command, ...argv].join(" ")}`, resolveBin(command!), argv));
  }, 60_000);
});
