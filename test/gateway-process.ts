// Test and soak support: the gateway's Node entry (server.node.ts) as a real child process on the demo pair,
// with its own data dir, PORT=0 (the URL is read from its "tether: serving … on http://…" line), its RSS, and
// a database of its own on TEST_DATABASE_URL's server when one is wanted (PGlite under the data dir otherwise).
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { createDb, type DbHandle } from "@tether/db";
import { DEMO_POLICY, DEMO_REFERENCE, REPO } from "./gateway-helpers";

export interface GatewayProcess {
  proc: ChildProcess;
  url: string;
  /** stderr so far (startup lines, warnings, signals). */
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface GatewayLaunch {
  dataDir: string;
  /** TETHER_CONFIG contents (written to <dataDir>/../<name>.json beside, not inside, the data dir). */
  config?: object;
  /** postgres:// URL; unset: PGlite under dataDir. */
  databaseUrl?: string;
  /** Extra environment. */
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
}

/** Starts the gateway; resolves once it serves, rejects (with its stderr) if it exits first. */
export async function spawnGateway(launch: GatewayLaunch): Promise<GatewayProcess> {
  const configFile = `${launch.dataDir}.config.json`;
  writeFileSync(configFile, JSON.stringify(launch.config ?? {}));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: "0",
    HOST: "127.0.0.1",
    TETHER_DATA_DIR: launch.dataDir,
    TETHER_CONFIG: configFile,
    TETHER_POLICY: DEMO_POLICY,
    TETHER_REFERENCE: DEMO_REFERENCE,
    DATABASE_URL: launch.databaseUrl ?? "", // empty = unset: PGlite
    TETHER_ORT_THREADS: "1",
    ...launch.env,
  };
  const proc = spawn(process.execPath, ["--import", "tsx", "apps/gateway/src/server.node.ts"], { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  proc.stdout!.resume();
  proc.stderr!.on("data", (chunk: Buffer) => void (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway: no "serving … on http://…" line within ${launch.startTimeoutMs ?? 120_000} ms; stderr:\n${stderr}`)), launch.startTimeoutMs ?? 120_000);
    const poll = setInterval(() => {
      const m = /tether: serving \S+ on (http:\/\/\S+)/.exec(stderr);
      if (!m) return;
      clearInterval(poll);
      clearTimeout(timer);
      resolve(m[1]!);
    }, 20);
    void exited.then(({ code, signal }) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code ?? signal}) before serving; stderr:\n${stderr}`));
    });
  });
  return { proc, url, stderr: () => stderr, exited };
}

/** Resident set size of a process in bytes (Linux /proc), or NaN. */
export function rssBytes(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * A fresh database on TEST_DATABASE_URL's server (`<prefix>_<pid>`), dropped by `drop`; null when the
 * variable is unset (the gateway then uses PGlite under its data dir).
 */
export async function ownPostgres(prefix: string): Promise<{ url: string; drop: () => Promise<void> } | null> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) return null;
  const name = `${prefix}_${process.pid}`;
  const admin = await createDb(base);
  // Identifiers cannot be parameters: `name` is built from a fixed prefix and a pid.
  await admin.db.execute(sql.raw(`drop database if exists ${name} with (force)`));
  await admin.db.execute(sql.raw(`create database ${name}`));
  const own = new URL(base);
  own.pathname = `/${name}`;
  return {
    url: own.toString(),
    drop: async () => {
      await admin.db.execute(sql.raw(`drop database if exists ${name} with (force)`));
      await admin.close();
    },
  };
}

/** The gateway's database after it exited: its PostgreSQL database, or the PGlite dir it left. */
export function openGatewayDb(dataDir: string, databaseUrl: string | undefined): Promise<DbHandle> {
  return createDb(databaseUrl ?? join(dataDir, "pgdata"));
}
