// Two real gateway processes on one real PostgreSQL (TEST_DATABASE_URL) promoting and rolling back AT THE SAME
// TIME, round after round: the changes apply one after the other across processes (registry lock), so the
// promotions history is one chain (each row's previous checkpoint is the row before's checkpoint), the table
// ends with exactly one active row, and both processes end up serving it. Without the lock both processes
// decide from what they served before, so two rows name the same previous checkpoint (and two rows can end
// up active). Skipped only when TEST_DATABASE_URL is unset outside CI; in CI its absence fails the test.
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEMO_POLICY, DEMO_REFERENCE, manifestId, tempDir } from "./gateway-helpers";
import { ownPostgres, spawnGateway, type GatewayProcess } from "./gateway-process";
import { policyVariant } from "./promotion-fixtures";

const TOKEN = "race-admin-token-0123456789";
const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
const cleanups: Array<() => Promise<void> | void> = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Row {
  id: number;
  action: string;
  checkpoint_id: string;
  previous_checkpoint_id: string | null;
}

async function servedBy(url: string): Promise<string | null> {
  const model = ((await (await fetch(`${url}/v1/models`)).json()) as { data: Array<{ id: string }> }).data[0]!.id;
  const res = await fetch(`${url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, prompt: "2+2=", max_tokens: 1, drift_guard: false }) });
  await res.text();
  return res.status === 200 ? res.headers.get("x-tether-checkpoint") : `status ${res.status}`;
}

describe.skipIf(!process.env.TEST_DATABASE_URL && !process.env.CI)("concurrent promotions from two gateway processes (PostgreSQL)", () => {
  it("serialise into one consistent chain and leave both processes on the same serving set", async () => {
    const pg = await ownPostgres("tether_race");
    expect(pg, "TEST_DATABASE_URL must be set in CI").not.toBeNull();
    cleanups.push(pg!.drop);
    const root = tempDir("tether-race-");
    cleanups.push(root.remove);
    cpSync(DEMO_POLICY, join(root.dir, "policy"), { recursive: true });
    cpSync(DEMO_REFERENCE, join(root.dir, "reference"), { recursive: true });
    const variants = [0, 1, 2, 3].map((i) => policyVariant(root.dir, `v${i}`, `policy-race-v${i}`, { klMean: 0.5, retention: 0.95 }));
    const config = { policy: join(root.dir, "policy"), reference: join(root.dir, "reference"), drift_guard: { allow_disable: true }, promotion: { checkpoint_root: root.dir, sync_interval_ms: 60_000 } };
    const env = { TETHER_ADMIN_TOKEN: TOKEN, TETHER_POLICY: "", TETHER_REFERENCE: "" };
    const procs: GatewayProcess[] = [];
    cleanups.push(() => Promise.all(procs.map(async (p) => {
      p.proc.kill("SIGTERM");
      await p.exited;
    })).then(() => undefined));
    for (const i of [1, 2]) procs.push(await spawnGateway({ dataDir: join(root.dir, `data-${i}`), databaseUrl: pg!.url, config, env }));
    const [a, b] = procs.map((p) => p.url) as [string, string];

    const ids: string[] = [];
    for (const path of variants) {
      const res = await fetch(`${a}/admin/checkpoints`, { method: "POST", headers, body: JSON.stringify({ path }) });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const post = (url: string, path: string, body: unknown) => fetch(`${url}${path}`, { method: "POST", headers, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, json: (await r.json()) as { error?: { code: string } } }));
    // Each round both processes change the serving set at once: A promotes one variant, B another (or rolls back).
    const ROUNDS = 8;
    let applied = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const fromA = post(a, `/admin/checkpoints/${ids[(2 * r) % 4]}/promote`, { reason: `round ${r} A` });
      const fromB = r % 3 === 2 ? post(b, "/admin/rollback", { reason: `round ${r} B` }) : post(b, `/admin/checkpoints/${ids[(2 * r + 1) % 4]}/promote`, { reason: `round ${r} B` });
      for (const res of await Promise.all([fromA, fromB])) {
        // 409 only when the other process's change made this one moot (its target is already active).
        if (res.status !== 200) expect(res.json.error?.code, JSON.stringify(res.json)).toMatch(/^(already_active|no_previous_active)$/);
        else applied++;
      }
    }
    expect(applied).toBeGreaterThanOrEqual(ROUNDS); // most changes apply: the test exercised real races

    const history = ((await (await fetch(`${a}/admin/promotions?limit=1000`, { headers })).json()) as { data: Row[] }).data.reverse();
    expect(history.length).toBe(applied);
    expect(history[0]!.previous_checkpoint_id).toBe(manifestId(DEMO_POLICY));
    for (let i = 1; i < history.length; i++) {
      expect(history[i]!.previous_checkpoint_id, `promotion ${history[i]!.id} (${history[i]!.action}) must start where ${history[i - 1]!.id} ended`).toBe(history[i - 1]!.checkpoint_id);
    }
    const last = history.at(-1)!.checkpoint_id;
    const table = ((await (await fetch(`${b}/admin/checkpoints`, { headers })).json()) as { data: Array<{ id: string; status: string }> }).data;
    expect(table.filter((c) => c.status === "active").map((c) => c.id)).toEqual([last]);
    expect(table.filter((c) => c.status === "canary")).toEqual([]);
    // Both processes serve the last change (the one that made it applied it; the other heard its NOTIFY).
    const t0 = performance.now();
    let served: Array<string | null> = [];
    while (performance.now() - t0 < 5000 && (served = await Promise.all([servedBy(a), servedBy(b)])).some((s) => s !== last)) await new Promise((r) => setTimeout(r, 20));
    expect(served).toEqual([last, last]);
  }, 300_000);
});
