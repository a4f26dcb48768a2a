// A local Worker for the benches: `wrangler dev` (real workerd, offline) on 127.0.0.1 and a free port, its
// drift log in a fresh PostgreSQL database (`tether_bench_worker_<pid>` on TEST_DATABASE_URL / DATABASE_URL's
// server, migrated, dropped on close), and the CPU time its workerd processes have used (/proc), which is
// what Cloudflare bills and limits per request.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { sql } from "drizzle-orm";
import { createDb, migrate } from "@tether/db";
import { REPO, wranglerEnv } from "./worker-bundle";

export interface LocalWorker {
  url: string;
  databaseUrl: string;
  /** CPU seconds (user + system) used so far by the workerd processes serving the Worker. */
  cpuSeconds(): number;
  close(): Promise<void>;
}

const TICKS_PER_S = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.once("error", reject);
  });
}

/** A fresh migrated database on the server of TEST_DATABASE_URL / DATABASE_URL, and its removal. */
export async function benchDatabase(tag: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const server = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (!server) throw new Error("set TEST_DATABASE_URL or DATABASE_URL (postgres://…): the Worker keeps its drift log in PostgreSQL");
  const name = `tether_bench_${tag}_${process.pid}`;
  const admin = await createDb(server);
  await admin.db.execute(sql.raw(`create database "${name}"`));
  const u = new URL(server);
  u.pathname = `/${name}`;
  if (u.password === "") u.password = "unused"; // Hyperdrive's local URL needs one; trust auth ignores it
  const handle = await createDb(u.toString());
  await migrate(handle);
  await handle.close();
  return {
    url: u.toString(),
    drop: async () => {
      await admin.db.execute(sql.raw(`drop database if exists "${name}" with (force)`));
      await admin.close();
    },
  };
}

/** Pids of `root` and every process below it. */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // the process ended while we listed
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, ppid] of parent) if (ppid === out[i]) out.push(pid);
  return out;
}

function cpuOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S; // utime, stime (fields 14, 15 of stat)
  } catch {
    return 0;
  }
}

/**
 * @example const w = await startLocalWorker({ drift_guard: { allow_disable: true } }); … await w.close();
 */
export async function startLocalWorker(config: object = {}): Promise<LocalWorker> {
  const db = await benchDatabase("worker");
  const port = await freePort();
  const child: ChildProcess = spawn("npx", ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(port), "--var", `TETHER_CONFIG:${JSON.stringify(config)}`], {
    cwd: REPO,
    env: wranglerEnv({ CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: db.url }),
    detached: true, // its own process group: close() ends wrangler, esbuild and workerd together
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const close = async () => {
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      // already gone
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    await db.drop();
  };
  const deadline = Date.now() + 120_000;
  while (!/Ready on http/.test(log)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await close();
      throw new Error(`wrangler dev did not start:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const isWorkerd = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "workerd";
    } catch {
      return false;
    }
  };
  const workerd = () => descendants(child.pid!).filter(isWorkerd);
  return { url: `http://127.0.0.1:${port}`, databaseUrl: db.url, cpuSeconds: () => workerd().reduce((s, pid) => s + cpuOf(pid), 0), close };
}
