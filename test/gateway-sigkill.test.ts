// The gateway SIGKILLed under load and restarted on the same data dir (issue 15): with drift_log.durability
// "fsync" (the default) every request answered 200 before the kill is in the database after the restart,
// once, because its entry was in the write-ahead log before its response was sent. PGlite under the data
// dir, or real PostgreSQL (a database of its own) when TEST_DATABASE_URL is set. Also: a second gateway on
// the same data dir is refused with one line while the first runs, and the dead one's lock is taken over.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { selectRows } from "@tether/db";
import { DEMO_POLICY, manifestId, sleep, tempDir } from "./gateway-helpers";
import { openGatewayDb, ownPostgres, spawnGateway, type GatewayProcess } from "./gateway-process";

const CLIENTS = 4;
const KILL_AFTER = 40; // answered requests before the kill (a count, not a time: the machine may be busy)
const started: GatewayProcess[] = [];
const data = tempDir("tether-sigkill-");
afterAll(() => {
  for (const g of started) g.proc.kill("SIGKILL");
  data.remove();
});

/** CLIENTS loops of completions until one fails at the connection level; the ids answered 200. */
async function load(url: string, stopAt: () => boolean, answered: string[], other: number[]): Promise<void> {
  let seed = 0;
  const loop = async () => {
    while (!stopAt()) {
      try {
        const res = await fetch(`${url}/v1/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: manifestId(DEMO_POLICY), prompt: "12+7=", max_tokens: 6, temperature: 1, seed: seed++ }),
        });
        await res.arrayBuffer(); // answered = the whole body arrived
        if (res.status === 200) answered.push(res.headers.get("x-tether-request-id")!);
        else other.push(res.status);
      } catch {
        return; // the process is gone
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, loop));
}

describe("gateway process: SIGKILL mid-load, restart on the same data dir", () => {
  it("every request answered 200 before the kill is in the drift log after the restart, once; a second gateway is refused", async () => {
    const pg = await ownPostgres("tether_sigkill");
    const dataDir = join(data.dir, "data");
    mkdirSync(dataDir);
    try {
      const first = await spawnGateway({ dataDir, databaseUrl: pg?.url });
      started.push(first);

      // A second gateway on the same dir: refused before it loads anything, one line, exit 1.
      const second = await spawnGateway({ dataDir, databaseUrl: pg?.url }).then(
        (g) => (started.push(g), "started"),
        (e: Error) => e.message,
      );
      expect(second).toMatch(new RegExp(`exited \\(1\\) before serving; stderr:\\ntether: data dir \\S+ is in use by gateway pid ${first.proc.pid} \\(since [^)]+\\); one data dir per gateway \\(set TETHER_DATA_DIR\\)\\n$`));

      let killedAt = Infinity;
      const answered: string[] = [];
      const other: number[] = [];
      const loading = load(first.url, () => performance.now() > killedAt, answered, other);
      for (const deadline = performance.now() + 60_000; answered.length < KILL_AFTER && performance.now() < deadline; ) await sleep(10);
      first.proc.kill("SIGKILL"); // mid-load: CLIENTS requests are in flight
      killedAt = performance.now();
      await loading;
      expect(await first.exited).toEqual({ code: null, signal: "SIGKILL" });
      expect(other).toEqual([]);
      expect(answered.length).toBeGreaterThanOrEqual(KILL_AFTER);

      // Restart on the same dir: the stale lock is taken over, the log replayed; SIGTERM flushes and exits.
      const restarted = await spawnGateway({ dataDir, databaseUrl: pg?.url });
      started.push(restarted);
      restarted.proc.kill("SIGTERM");
      expect(await restarted.exited).toEqual({ code: 0, signal: null });
      expect(restarted.stderr()).toMatch(/drift log: replaying \d+ spill file\(s\)/);

      const handle = await openGatewayDb(dataDir, pg?.url);
      try {
        const rows = await selectRows<{ id: string; status: number }>(handle.db, sql`select id, status from requests`);
        const ids = rows.map((r) => r.id);
        expect(new Set(ids).size).toBe(ids.length); // no duplicates
        const inLog = new Set(ids);
        expect(answered.filter((id) => !inLog.has(id))).toEqual([]); // nothing answered is missing
        // Rows beyond the answered ones: requests whose entry was durable but whose response the kill cut.
        expect(rows.length - answered.length).toBeGreaterThanOrEqual(0);
        expect(rows.length - answered.length).toBeLessThanOrEqual(CLIENTS);
        console.log(`sigkill test [${pg ? "postgres" : "pglite"}]: ${answered.length} answered 200 before SIGKILL, ${rows.length} request rows after restart`);
      } finally {
        await handle.close();
      }
    } finally {
      await pg?.drop();
    }
  }, 240_000);
});
