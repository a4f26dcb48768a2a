// `npm run drift`: the summary, requests and alerts reports over a drift log whose numbers were worked out by
// hand (test/drift-log-fixture.ts), on PGlite and on a real PostgreSQL (a fresh database on the
// TEST_DATABASE_URL server); then the command as a process, reading a PGlite directory and refusing, in one
// line, a directory another process holds open.
import { spawn } from "node:child_process";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, migrate, type DbHandle } from "@tether/db";
import { parseDriftArgs, runDriftCommand, UsageError } from "../apps/gateway/src/cli/drift";
import { EXPECTED_SINCE_1H, insertDriftLog } from "./drift-log-fixture";
import { REPO, tempDir } from "./gateway-helpers";

const postgresUrl = process.env.TEST_DATABASE_URL;

type Json = { data: Array<Record<string, unknown>> };
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

function expectRow(row: Record<string, unknown> | undefined, want: Record<string, number>, label: string): void {
  expect(row, label).toBeDefined();
  for (const [k, v] of Object.entries(want)) expect(close(Number(row![k]), v), `${label} ${k}: ${String(row![k])} vs ${v}`).toBe(true);
}

/** A fresh database on the TEST_DATABASE_URL server (the suite inserts fixed ids), dropped afterwards. */
async function freshPostgres(url: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `tether_drift_cli_${process.pid}_${Date.now() % 1e6}`;
  const admin = postgres(url, { onnotice: () => {}, max: 1 });
  await admin.unsafe(`create database ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  return {
    url: u.href,
    drop: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}

function defineReports(name: string, open: () => Promise<{ handle: DbHandle; dispose: () => Promise<void> }>, skip = false) {
  describe.skipIf(skip)(`drift reports on ${name}`, () => {
    const now = new Date();
    let handle: DbHandle;
    let dispose: () => Promise<void>;
    const run = async (argv: string[]) => runDriftCommand(handle.db, parseDriftArgs(argv, now));
    const json = async (argv: string[]) => JSON.parse(await run([...argv, "--json"])) as Json;

    beforeAll(async () => {
      ({ handle, dispose } = await open());
      await migrate(handle);
      await insertDriftLog(handle.db, now);
    }, 120_000);
    afterAll(async () => dispose());

    it("summary --since 1h: per checkpoint and arm, numbers as computed by hand", async () => {
      const { data } = await json(["summary", "--since", "1h", "--checkpoint", "policy-a"]);
      expect(data.map((r) => `${r.checkpoint_id}/${r.arm}`)).toEqual(["policy-a/active", "policy-a/canary"]);
      expectRow(data[0], EXPECTED_SINCE_1H.active, "active");
      expectRow(data[1], EXPECTED_SINCE_1H.canary, "canary");
    });

    it("summary without --since includes the 3-hour-old request; without --checkpoint the other policy", async () => {
      const { data } = await json(["summary"]);
      const active = data.find((r) => r.checkpoint_id === "policy-a" && r.arm === "active");
      expectRow(active, { requests: 5, kl_mean: 2.12 }, "all-time active");
      expect(data.find((r) => r.checkpoint_id === "policy-b")?.requests).toBe(1);
    });

    it("requests: newest first, limited, filtered by checkpoint", async () => {
      expect((await json(["requests", "--limit", "3"])).data.map((r) => r.id)).toEqual(["b-r7", "a-r6", "a-r5"]);
      const filtered = (await json(["requests", "--limit", "3", "--checkpoint", "policy-a"])).data;
      expect(filtered.map((r) => r.id)).toEqual(["a-r6", "a-r5", "a-r4"]);
      expect(filtered[1]).toMatchObject({ status: 422, fallback: "reject", accepted: 0, arm: "canary", kl_mean: 2 });
    });

    it("alerts: open or resolved within --since, newest first", async () => {
      expect((await json(["alerts", "--since", "1h"])).data.map((r) => [r.state, r.checkpoint_id])).toEqual([
        ["pending", "policy-b"],
        ["firing", "policy-a"],
      ]);
      const all = (await json(["alerts", "--checkpoint", "policy-a"])).data;
      expect(all.map((r) => r.state)).toEqual(["firing", "resolved"]);
      expect(all[0]).toMatchObject({ severity: "critical", arm: "canary", metric: "kl_mean", statistic: "p95", threshold: 2.25, value: 2.95 });
    });

    it("prints tables a person can read", async () => {
      const table = (await run(["summary", "--since", "1h", "--checkpoint", "policy-a"])).split("\n");
      expect(table[0]).toMatch(/^checkpoint\s+arm\s+requests\s+errors\s+kl mean\s+kl p95\s+rejected\s+fallback/);
      expect(table[1]).toMatch(/^─+( +─+)+$/);
      expect(table[2]).toMatch(/^policy-a\s+active\s+4\s+0\s+0\.4000\s+0\.8950\s+60\.0%\s+25\.0%\s+25\.0\s+38\.5/);
      expect(table[3]).toMatch(/^policy-a\s+canary\s+2\s+1\s+2\.5000\s+2\.9500\s+66\.7%\s+50\.0%\s+60\.0\s+69\.0/);
      expect(await run(["alerts", "--since", "1h"])).toMatch(/firing\s+critical\s+kl-p95-high\s+policy-a\s+canary\s+p95\(kl_mean, 5m\) > 2\.2500\s+2\.9500/);
      expect(await run(["summary", "--checkpoint", "nobody"])).toBe("no requests in the drift log");
    });
  });
}

defineReports("PGlite", async () => {
  const handle = await createDb("memory://");
  return { handle, dispose: () => handle.close() };
});
defineReports(
  "PostgreSQL",
  async () => {
    const db = await freshPostgres(postgresUrl!);
    const handle = await createDb(db.url);
    return { handle, dispose: async () => (await handle.close(), await db.drop()) };
  },
  !postgresUrl,
);

describe("drift arguments", () => {
  const now = new Date("2026-01-02T00:00:00Z");
  it("--since takes s, m, h and d relative to now", () => {
    expect(parseDriftArgs(["summary", "--since", "90s"], now).since?.toISOString()).toBe("2026-01-01T23:58:30.000Z");
    expect(parseDriftArgs(["alerts", "--since", "2d"], now).since?.toISOString()).toBe("2025-12-31T00:00:00.000Z");
  });
  it.each([
    [["summary", "--since", "1 week"], /--since: expected a duration/],
    [["summarise"], /expected one command, summary, requests or alerts/],
    [["requests", "--limit", "0"], /--limit: expected an integer/],
    [["requests", "--bogus"], /Unknown option '--bogus'/],
  ])("%j is refused by name", (argv, message) => {
    expect(() => parseDriftArgs(argv as string[], now)).toThrow(UsageError);
    expect(() => parseDriftArgs(argv as string[], now)).toThrow(message);
  });
});

/** `npm run drift`'s entry as a process with exactly the database variables given. */
function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { DATABASE_URL: _u, TETHER_DATA_DIR: _d, TETHER_CONFIG: _c, ...inherited } = process.env;
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", "apps/gateway/src/cli/drift.ts", ...args], { cwd: REPO, env: { ...inherited, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

describe("npm run drift as a process", () => {
  const data = tempDir("tether-drift-cli-");
  afterAll(() => data.remove());

  it("reads TETHER_DATA_DIR/pgdata; refuses in one line while another process holds it open", async () => {
    const handle = await createDb(join(data.dir, "pgdata"));
    await migrate(handle);
    await insertDriftLog(handle.db, new Date());
    // This process holds the directory: the CLI must say so instead of opening it behind our back.
    const busy = await runCli(["summary"], { TETHER_DATA_DIR: data.dir });
    expect(busy.code).toBe(1);
    expect(busy.stderr.trim().split("\n")).toHaveLength(1);
    expect(busy.stderr).toMatch(new RegExp(`^drift: PGlite .*pgdata is in use by process ${process.pid} \\(a running gateway\\?\\)`));
    await handle.close();
    const ok = await runCli(["summary", "--since", "1h", "--checkpoint", "policy-a", "--json"], { TETHER_DATA_DIR: data.dir });
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const { data: rows } = JSON.parse(ok.stdout) as Json;
    expectRow(rows[0], EXPECTED_SINCE_1H.active, "process active");
    expectRow(rows[1], EXPECTED_SINCE_1H.canary, "process canary");
  }, 120_000);

  it("says where it looked when there is no drift log", async () => {
    const run = await runCli(["alerts"], { TETHER_DATA_DIR: join(data.dir, "nowhere") });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^drift: no drift log at .*nowhere\/pgdata \(start the gateway first/);
  });

  it.skipIf(!postgresUrl)("reads DATABASE_URL", async () => {
    const db = await freshPostgres(postgresUrl!);
    try {
      const handle = await createDb(db.url);
      await migrate(handle);
      await insertDriftLog(handle.db, new Date());
      await handle.close();
      const run = await runCli(["requests", "--limit", "2"], { DATABASE_URL: db.url });
      expect(run.code).toBe(0);
      const lines = run.stdout.trim().split("\n");
      expect(lines[0]).toMatch(/^id\s+time \(UTC\)\s+checkpoint\s+arm\s+kl mean\s+accepted\s+fallback\s+status\s+ms$/);
      expect(lines.slice(2).map((l) => l.split(/\s+/)[0])).toEqual(["b-r7", "a-r6"]);
    } finally {
      await db.drop();
    }
  }, 60_000);
});
