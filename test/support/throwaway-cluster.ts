// Test-only: a private, disposable PostgreSQL cluster (initdb into a temp dir, pg_ctl on a free port) that a test may stop and kill.
//
// The machine's shared server (5432) is used by other suites at the same time, so a test that crashes
// its database needs its own. Trust auth on 127.0.0.1 only, the socket in the temp dir (never in
// /var/run/postgresql). initdb refuses to run as root: as root every command runs as `postgres`
// (runuser) in a temp dir that user owns.
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface ThrowawayCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** pg_ctl stop; "immediate" is a crash (no checkpoint, clients cut off, crash recovery on start). */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  start(): Promise<void>;
  /** Stops the server if it runs and removes the directory. Idempotent. */
  destroy(): Promise<void>;
}

/**
 * Where initdb/pg_ctl of `version` are, or why a cluster cannot be made here (the caller skips with it).
 * @example const found = findPostgresBinaries(15); if ("reason" in found) test.skip(found.reason);
 */
export function findPostgresBinaries(version = 15): { binDir: string } | { reason: string } {
  const binDir = `/usr/lib/postgresql/${version}/bin`;
  for (const tool of ["initdb", "pg_ctl"]) {
    if (!existsSync(join(binDir, tool))) return { reason: `${join(binDir, tool)} not found (PostgreSQL ${version} server binaries not installed)` };
  }
  if (process.getuid?.() === 0 && postgresUser() === null) {
    return { reason: "running as root and there is no `postgres` user to run initdb as (initdb refuses root)" };
  }
  if (process.getuid?.() === 0 && !existsSync("/usr/sbin/runuser") && !existsSync("/sbin/runuser")) {
    return { reason: "running as root without runuser to drop to the postgres user" };
  }
  return { binDir };
}

function postgresUser(): { uid: number; gid: number } | null {
  try {
    const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("postgres:"));
    if (!line) return null;
    const [, , uid, gid] = line.split(":");
    return { uid: Number(uid), gid: Number(gid) };
  } catch {
    return null;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * initdb + start. The caller must destroy() it (afterAll), also when its test fails.
 * @example
 * const pg = await startThrowawayCluster();
 * try { const handle = await createDb(pg.url); … await pg.stop("immediate"); await pg.start(); } finally { await pg.destroy(); }
 */
export async function startThrowawayCluster(options: { version?: number } = {}): Promise<ThrowawayCluster> {
  const found = findPostgresBinaries(options.version ?? 15);
  if ("reason" in found) throw new Error(`startThrowawayCluster: ${found.reason}`);
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "tether-pg-"));
  if (root) {
    const user = postgresUser()!;
    chownSync(dir, user.uid, user.gid);
  }
  const data = join(dir, "data");
  const logFile = join(dir, "server.log");
  // As root, run as postgres; cwd = the temp dir, which postgres can enter (the repo may not be).
  const pg = (tool: string, args: string[]) => {
    const [file, argv] = root ? ["runuser", ["-u", "postgres", "--", join(found.binDir, tool), ...args]] : [join(found.binDir, tool), args];
    return run(file, argv, { cwd: dir, timeout: 60_000, env: { ...process.env, LC_ALL: "C", PGTZ: "UTC" } });
  };
  let running = false;
  const port = await freePort();
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=50`;
  const cluster: ThrowawayCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    async start() {
      try {
        await pg("pg_ctl", ["-D", data, "-l", logFile, "-w", "-t", "60", "-o", serverOptions, "start"]);
      } catch (err) {
        throw new Error(`pg_ctl start failed: ${String(err)}\n${tail(logFile)}`);
      }
      running = true;
    },
    async stop(mode = "fast") {
      await pg("pg_ctl", ["-D", data, "-m", mode, "-w", "-t", "60", "stop"]);
      running = false;
    },
    async destroy() {
      if (running) await cluster.stop("immediate").catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await pg("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
    await cluster.start();
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
  return cluster;
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-20).join("\n");
  } catch {
    return "(no server log)";
  }
}

