// The monitor on a real database (PGlite always, PostgreSQL when TEST_DATABASE_URL is set): windows rebuilt
// from the drift log equal the live ones, alert rows are deduplicated across restarts, deliveries logged.
import { createDb, type DbHandle } from "@tether/db/create-db";
import { migrate } from "@tether/db/migrate";
import { alerts, webhookDeliveries } from "@tether/db/schema";
import { insertDriftBatch } from "@tether/db/writes";
import { makeSketchSpec, ReferenceStatsBuilder, SketchReference } from "@tether/shared/sketch/reference";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { driftJson } from "../monitor/drift-json";
import { rule, syntheticRows, testMonitor } from "../../../../test/support/monitor-streams";
import { WINDOW_NAMES } from "../monitor/windows";
import { post, testApp, TEXT_ONLY } from "../../../../test/support/gateway-app";
import { DbAlertStore, driftHistory } from "./alert-db";
import { toDriftBatch, type DriftLogEntry } from "./drift-store";

function sketchReference(layers: number[], m: number): SketchReference {
  const builder = new ReferenceStatsBuilder(makeSketchSpec({ d: 16, layers, m }));
  const rng = new Pcg32(4);
  for (let i = 0; i < 20; i++) builder.addRequest(layers.map(() => Array.from({ length: m }, () => 2 * rng.nextFloat() - 1)));
  return SketchReference.fromJson(JSON.stringify(builder.build()));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function defineMonitorDbTests(name: string, open: () => Promise<DbHandle>, skip: boolean): void {
  describe.skipIf(skip)(`monitor on a database [${name}]`, () => {
    let handle: DbHandle;
    beforeAll(async () => {
      handle = await open();
      await migrate(handle);
    }, 60_000);
    afterAll(async () => handle?.close());
    beforeEach(async () => {
      await handle.db.execute(sql`truncate table drift_samples, requests, alerts, webhook_deliveries restart identity`);
    });

    test("windows rebuilt from the drift log after a restart equal the live windows, number for number", async () => {
      const sketch = { layers: [1, 3], m: 3 };
      const { app, store } = testApp({ policy: { ...TEXT_ONLY, sketch }, reference: TEXT_ONLY, sketch: sketchReference(sketch.layers, sketch.m) });
      const live = app.context.monitoring.monitor;
      const bodies = [
        { prompt: "ab", max_tokens: 4, drift_guard: { candidates: 2, max_kl: 1 } },
        { prompt: "a", max_tokens: 3, n: 2, drift_guard: { max_kl: 1e-9, candidates: 2, max_rounds: 2 } }, // fallbacks
        { prompt: "ba", max_tokens: 5, drift_guard: false },
        { prompt: "abc", max_tokens: 2, drift_guard: { max_kl: 1e-9, fallback: "reject", max_rounds: 1 } }, // 422
      ];
      for (let i = 0; i < 12; i++) {
        const res = await post(app, "/v1/completions", { ...bodies[i % bodies.length], seed: i });
        expect([200, 422]).toContain(res.status);
        await res.text();
        await sleep(2); // distinct created_at: the rebuild adds in the same order, so float sums match bit for bit
      }
      // a canary arm and an older request (only the 1h window holds it), logged through the same entries
      const now = Date.now();
      const extra: DriftLogEntry[] = [
        syntheticRows({ at: now - 30 * 60_000, klMean: 0.3, sketch: [10, 90] }, "old"),
        syntheticRows({ at: now - 1000, klMean: 0.7, arm: "canary", rejected: 2, checkpoint: "fake-policy" }, "can"),
      ];
      for (const e of extra) live.observe(e.request, e.samples);
      const entries = [...store.entries, ...extra];
      expect(store.entries.some((e) => e.request.errorCode === "drift_limit_exceeded")).toBe(true);
      expect(store.entries.some((e) => e.request.fallback === "reference")).toBe(true);
      await insertDriftBatch(handle.db, toDriftBatch(entries));

      const restarted = testMonitor([], { now: Date.now() });
      await restarted.monitor.start(driftHistory(handle.db));
      const at = restarted.clock.t;
      for (const w of WINDOW_NAMES) {
        const before = driftJson(w, live.view(w, at), at);
        expect(before.arms.length).toBeGreaterThan(0);
        expect(driftJson(w, restarted.monitor.view(w, at), at), w).toEqual(before);
      }
      const hour = driftJson("1h", live.view("1h", at), at);
      expect(hour.arms.map((a) => [a.arm, a.checkpoint_id, a.requests])).toEqual([["active", "fake-policy", 12], ["active", "pol", 1], ["canary", "fake-policy", 1]]);
    });

    test("an open alert is re-opened by a restarted monitor, never inserted twice, and resolved in place", async () => {
      const store = new DbAlertStore(handle.db);
      const r = rule({ name: "kl-high", for: "0s", min_samples: 1 });
      const first = testMonitor([r], { store });
      first.feed({ at: first.clock.t, klMean: 0.9 });
      first.clock.t += 1000;
      await first.monitor.evaluate();
      expect(first.events.map((e) => e.transition)).toEqual(["pending", "firing"]);

      const second = testMonitor([r], { store, now: first.clock.t + 1000 });
      await second.monitor.start();
      second.feed({ at: second.clock.t, klMean: 0.95 });
      await second.monitor.evaluate();
      expect(second.events).toEqual([]);
      second.clock.t += 3_600_000;
      await second.monitor.evaluate();
      expect(second.events.map((e) => [e.transition, e.seq])).toEqual([["resolved", 3]]);
      const rows = await handle.db.select().from(alerts);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ state: "resolved", rule: "kl-high", arm: "active", severity: "warning", metric: "kl_mean", window: "1m", eventSeq: 3, threshold: 0.5, dedupeKey: "kl-high|pol|active" });
      expect(rows[0]!.firedAt).not.toBeNull();
      expect(await store.list({ state: "resolved", limit: 10 })).toHaveLength(1);
      expect((await store.changedSince(2, 10)).map((c) => c.seq)).toEqual([3]);

      // Two monitors racing to open the same key: one row, the same id.
      const fresh = { ...second.events[0]!.alert, state: "pending" as const, resolved_at: null };
      const id1 = await store.open(fresh, "k2", 4);
      const id2 = await store.open(fresh, "k2", 5);
      expect(id2).toBe(id1);
      expect(await store.lastEventSeq()).toBe(5);
      await store.recordDelivery({ url: "http://x", event: "alert.firing", eventSeq: 2, alertId: id1, attempt: 1, status: 500, ok: false, error: "HTTP 500", durationMs: 1.5, createdAt: new Date() });
      expect(await handle.db.select().from(webhookDeliveries)).toMatchObject([{ status: 500, ok: false, attempt: 1 }]);
    });
  });
}

defineMonitorDbTests("pglite", () => createDb("memory://"), false);
defineMonitorDbTests("postgres", () => createDb(process.env.TEST_DATABASE_URL!), !process.env.TEST_DATABASE_URL);
