// Two real gateway processes on one real PostgreSQL (TEST_DATABASE_URL): a promotion through one is served by
// the other within 2 s (LISTEN/NOTIFY; the poll is set to a minute so it cannot be what switched it), and a
// third process started afterwards serves the promoted checkpoint from the start (the table is re-read).
// Skipped only when TEST_DATABASE_URL is unset outside CI; in CI its absence fails the test.
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { DEMO_POLICY, DEMO_REFERENCE, REPO, tempDir } from "./gateway-helpers";
import { policyVariant } from "./promotion-fixtures";

const BASE_URL = process.env.TEST_DATABASE_URL;
const TOKEN = "replica-admin-token-0123456789";
const running = new Set<ChildProcess>();
const cleanups: Array<() => Promise<void> | void> = [];

/** Starts `node --import tsx server.node.ts` and resolves with its URL once it serves. */
async function startReplica(label: string, env: NodeJS.ProcessEnv): Promise<string> {
  const proc = spawn(process.execPath, ["--import", "tsx", "apps/gateway/src/server.node.ts"], { cwd: REPO, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  running.add(proc);
  proc.once("exit", () => running.delete(proc));
  proc.stdout!.resume();
  let stderr = "";
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: not serving within 90 s:\n${stderr}`)), 90_000);
    proc.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /tether: serving \S+ on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.once("exit", (code) => reject(new Error(`${label}: exited (${code}) before serving:\n${stderr}`)));
  });
}

async function servedBy(url: string): Promise<string | null> {
  const model = ((await (await fetch(`${url}/v1/models`)).json()) as { data: Array<{ id: string }> }).data[0]!.id; // the served name
  const res = await fetch(`${url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, prompt: "2+2=", max_tokens: 1 }) });
  await res.text();
  return res.status === 200 ? res.headers.get("x-tether-checkpoint") : `status ${res.status}`;
}

afterAll(async () => {
  await Promise.all(
    [...running].map((p) => new Promise<void>((done) => {
      p.once("exit", () => done());
      p.kill("SIGTERM");
    })),
  );
  for (const c of cleanups.reverse()) await c();
});

describe.skipIf(!BASE_URL && !process.env.CI)("two gateway processes on one PostgreSQL", () => {
  it("switch together within 2 s of a promotion, and a later process starts on the promoted checkpoint", async () => {
    expect(BASE_URL, "TEST_DATABASE_URL must be set in CI").toBeDefined();
    // A database of its own, so parallel suites on TEST_DATABASE_URL are not disturbed.
    const name = `tether_replicas_${process.pid}_${Date.now()}`;
    const admin = postgres(BASE_URL!, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    cleanups.push(async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    });
    const url = new URL(BASE_URL!);
    url.pathname = `/${name}`;
    const root = tempDir("tether-replicas-");
    cleanups.push(root.remove);
    cpSync(DEMO_POLICY, join(root.dir, "policy"), { recursive: true });
    cpSync(DEMO_REFERENCE, join(root.dir, "reference"), { recursive: true });
    const good = policyVariant(root.dir, "good", "policy-replica-good", { klMean: 0.5, retention: 0.95 });
    const config = join(root.dir, "tether.json");
    writeFileSync(config, JSON.stringify({ policy: join(root.dir, "policy"), reference: join(root.dir, "reference"), promotion: { checkpoint_root: root.dir, sync_interval_ms: 60_000 } }));
    const env = (i: number) => ({ PORT: "0", HOST: "127.0.0.1", DATABASE_URL: url.toString(), TETHER_CONFIG: config, TETHER_DATA_DIR: join(root.dir, `data-${i}`), TETHER_ADMIN_TOKEN: TOKEN, TETHER_ORT_THREADS: "1", TETHER_POLICY: "", TETHER_REFERENCE: "" });
    const a = await startReplica("A", env(1));
    const b = await startReplica("B", env(2));
    const demo = await servedBy(a);
    expect(await servedBy(b)).toBe(demo);

    const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const reg = await fetch(`${a}/admin/checkpoints`, { method: "POST", headers, body: JSON.stringify({ path: good }) });
    expect(reg.status).toBe(201);
    const goodId = ((await reg.json()) as { id: string }).id;
    const promoted = await fetch(`${a}/admin/checkpoints/${goodId}/promote`, { method: "POST", headers, body: JSON.stringify({ reason: "replica test" }) });
    expect(promoted.status).toBe(200);
    const t0 = performance.now();
    expect(await servedBy(a)).toBe(goodId); // the promoting process switched before answering
    let seen: string | null = null;
    while (performance.now() - t0 < 5000 && (seen = await servedBy(b)) !== goodId) await new Promise((r) => setTimeout(r, 20));
    const elapsed = performance.now() - t0;
    console.log(`replica switch: B served ${goodId} ${elapsed.toFixed(0)} ms after the promotion returned`);
    expect(seen).toBe(goodId);
    expect(elapsed).toBeLessThan(2000);

    const c = await startReplica("C", env(3));
    expect(await servedBy(c)).toBe(goodId);
  }, 240_000);
});
