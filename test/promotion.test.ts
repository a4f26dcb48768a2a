// Checkpoint registry and promotion on the real demo engines (ONNX Runtime) with an in-memory PGlite
// registry: refusals leave serving untouched, gates answer 409 with their numbers, a canary takes its
// share of traffic within binomial bounds and sticks per user, alerts roll it back, a promotion under load
// fails no request and every drift-log row names the checkpoint that served it, tokens are checked.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { promotions } from "@tether/db/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdminToken, revokeAdminToken, namedTokenAuthenticator } from "../apps/gateway/src/admin/named-tokens";
import { bootstrapAuthenticator } from "../apps/gateway/src/admin/auth";
import type { AlertEvent } from "../apps/gateway/src/monitor/alert-bus";
import { DEMO_POLICY, manifestId } from "./gateway-helpers";
import { otherTokenizerCopy, policyVariant, promotionApp, tamperedCopy } from "./promotion-fixtures";

const ADMIN = { authorization: "Bearer bootstrap-token-0123456789", "content-type": "application/json" };
const GOOD = "policy-good-variant";
const BAD = "policy-bad-variant";

// FNV-1a 32 written from its definition (offset basis 2166136261, prime 16777619), independent of serving-set.ts.
function fnvPercent(text: string): number {
  let h = 2166136261n;
  for (const b of Buffer.from(text, "utf8")) h = ((h ^ BigInt(b)) * 16777619n) % 2n ** 32n;
  return (Number(h) / 2 ** 32) * 100;
}

describe("checkpoint registry and promotion (demo engines, PGlite)", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-promo-"));
  let t: Awaited<ReturnType<typeof promotionApp>>;
  const demoId = manifestId(DEMO_POLICY);
  const admin = (method: string, path: string, body?: unknown, headers: Record<string, string> = ADMIN) =>
    Promise.resolve(t.app.request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
  const complete = async (extra: Record<string, unknown> = {}) => {
    const res = await Promise.resolve(t.app.request("/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: t.app.context.modelName, prompt: "12*3=", max_tokens: 1, drift_guard: false, ...extra }) }));
    return { status: res.status, checkpoint: res.headers.get("x-tether-checkpoint"), id: res.headers.get("x-tether-request-id"), body: await res.text() };
  };
  const registered: Record<string, string> = {};

  beforeAll(async () => {
    registered.good = policyVariant(root, "good", GOOD, { klMean: 0.5, retention: 0.95 });
    registered.bad = policyVariant(root, "bad", BAD, { klMean: 2.5, retention: 0.95 });
    registered.tampered = tamperedCopy(root);
    registered.otherTokenizer = otherTokenizerCopy(root);
    // Real traffic on the demo pair stays far below 50 nats/token: only the fed stream below fires the rule.
    const rule = { name: "canary-kl-critical", metric: "kl_mean", window: "1m", statistic: "mean", comparison: ">", threshold: 50, min_samples: 20, severity: "critical", arm: "canary", auto_rollback: true } as const;
    t = await promotionApp(root, { promotion: { kl_budget: 1.0, retention_floor: 0.9 }, alerts: { rules: [rule] } });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("refuses a tampered checkpoint, a different tokenizer and paths outside the root; serving is unaffected", async () => {
    const tampered = await admin("POST", "/admin/checkpoints", { path: registered.tampered });
    expect(tampered.status).toBe(422);
    expect((await tampered.json()).error.message).toMatch(/model\.safetensors.*sha256/);
    const tok = await admin("POST", "/admin/checkpoints", { path: registered.otherTokenizer });
    expect(tok.status).toBe(422);
    expect((await tok.json()).error.message).toMatch(/tokenizer\.json: sha256 .* differs from the reference's/);
    expect((await admin("POST", "/admin/checkpoints", { path: DEMO_POLICY })).status).toBe(403); // outside the root
    expect((await admin("POST", "/admin/checkpoints", { path: join(root, "..", "..", DEMO_POLICY) })).status).toBe(403);
    const list = (await (await admin("GET", "/admin/checkpoints")).json()).data as Array<{ id: string; status: string }>;
    expect(list.map((c) => c.id).sort()).toEqual([demoId, manifestId(join(root, "reference"))].sort());
    const served = await complete();
    expect(served.status).toBe(200);
    expect(served.checkpoint).toBe(demoId);
  });

  it("registers content-addressed checkpoints; the gate answers 409 with the failing numbers next to the limits", async () => {
    for (const name of ["good", "bad"]) {
      const res = await admin("POST", "/admin/checkpoints", { path: registered[name] });
      expect(res.status).toBe(201);
      expect(await res.json()).toMatchObject({ status: "registered", kind: "policy", eval: { kl: { mean_token_kl: name === "good" ? 0.5 : 2.5 } } });
    }
    expect((await admin("POST", "/admin/checkpoints", { path: registered.good })).status).toBe(200); // same content, same id
    const ids = ((await (await admin("GET", "/admin/checkpoints")).json()).data as Array<{ id: string }>).map((c) => c.id);
    const badId = ids.find((id) => id.startsWith(BAD))!;
    expect(badId).toMatch(new RegExp(`^${BAD}-[0-9a-f]{10}$`)); // not trainer-addressed: sha256 of its files appended
    const refused = await admin("POST", `/admin/checkpoints/${badId}/promote`, {});
    expect(refused.status).toBe(409);
    const body = await refused.json();
    expect(body.error.code).toBe("promotion_gate_failed");
    expect(body.gates).toContainEqual(expect.objectContaining({ gate: "kl_budget", metric: "kl.mean_token_kl", value: 2.5, limit: 1.0, passed: false }));
    expect(body.gates).toContainEqual(expect.objectContaining({ gate: "retention_floor", value: 0.95, limit: 0.9, passed: true }));
    expect((await admin("POST", `/admin/checkpoints/${badId}/promote`, { force: true })).status).toBe(400); // force needs a reason
    expect((await complete()).checkpoint).toBe(demoId);
  });

  it("a 30% canary takes 30% of 2,000 requests within 4σ of the binomial, and sticks per user", async () => {
    const goodId = ((await (await admin("GET", "/admin/checkpoints")).json()).data as Array<{ id: string }>).find((c) => c.id.startsWith(GOOD))!.id;
    const res = await admin("POST", `/admin/checkpoints/${goodId}/promote`, { canary_percent: 30, reason: "canary" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ action: "canary", checkpoint_id: goodId, previous_checkpoint_id: demoId, canary_percent: 30, forced: false, actor: "bootstrap" });
    const models = ((await (await t.app.request("/v1/models")).json()).data as Array<{ id: string }>).map((m) => m.id);
    expect(models).toEqual(expect.arrayContaining([demoId, goodId]));
    const N = 2000;
    const p = 0.3;
    let canary = 0;
    for (let i = 0; i < N; i += 8) {
      const batch = await Promise.all(Array.from({ length: 8 }, () => complete()));
      for (const r of batch) {
        expect(r.status).toBe(200);
        if (r.checkpoint === goodId) canary++;
      }
    }
    const sigma = Math.sqrt(N * p * (1 - p)); // binomial standard deviation: √(N p (1 − p)) ≈ 20.5
    expect(Math.abs(canary - N * p)).toBeLessThanOrEqual(4 * sigma);
    // Sticky: a user's arm is FNV-1a(user) < 30%, the same on every request.
    for (let u = 0; u < 60; u++) {
      const user = `user-${u}`;
      const expected = fnvPercent(user) < 30 ? goodId : demoId;
      for (let k = 0; k < 2; k++) expect((await complete({ user })).checkpoint).toBe(expected);
    }
    const rows = t.store.entries.map((e) => e.request).filter((r) => r.policyId === goodId);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.arm === "canary")).toBe(true);
  }, 300_000);

  it("a critical alert fired by the monitor on the canary arm rolls it back, recorded with the alert id", async () => {
    const canaryId = t.app.context.serving.state.canary!.id;
    const event = (arm: "active" | "canary", id: number): AlertEvent => ({
      seq: id, transition: "firing", at: Date.now(), autoRollback: true,
      alert: { id, rule: "kl-p95-critical", severity: "critical", state: "firing", arm, checkpoint_id: arm === "canary" ? canaryId : demoId, metric: "kl_mean", window: "1m", statistic: "p95", comparison: ">", threshold: 3, value: 7.2, samples: 200, pending_since: null, fired_at: new Date().toISOString(), resolved_at: null, details: {} },
    });
    t.app.context.alerts.publish(event("active", 41)); // the active arm is never rolled back automatically
    await new Promise((r) => setTimeout(r, 200));
    expect(t.app.context.serving.state.canary?.id).toBe(canaryId);
    // The monitor sees canary requests whose kl_mean (500 nats/token) lifts the canary's 1-minute mean —
    // which also holds the ~600 real canary requests above at ≈ 2.5 — past the rule's 50: (600·2.5 + 200·500)/800 ≈ 127.
    const monitor = t.app.context.monitoring.monitor;
    for (let i = 0; i < 200; i++) monitor.observe({ createdAt: new Date(), policyId: canaryId, arm: "canary", klMean: 500, totalMs: 5 }, []);
    const events = [...(await monitor.evaluate()), ...(await monitor.evaluate())];
    const fired = events.find((e) => e.transition === "firing");
    expect(fired, JSON.stringify(events.map((e) => [e.transition, e.alert.rule, e.alert.value]))).toBeDefined();
    expect(fired!.alert).toMatchObject({ rule: "canary-kl-critical", severity: "critical", arm: "canary", checkpoint_id: canaryId });
    expect(fired!.autoRollback).toBe(true);
    for (let i = 0; i < 200 && t.app.context.serving.state.canary; i++) await new Promise((r) => setTimeout(r, 10));
    expect(t.app.context.serving.state.canary).toBeNull();
    const [row] = await t.handle.db.select().from(promotions).where(eq(promotions.alertId, fired!.alert.id));
    expect(row).toMatchObject({ action: "rollback", actor: "auto-rollback", checkpointId: demoId, previousCheckpointId: canaryId });
    expect(((await (await admin("GET", `/admin/checkpoints/${canaryId}`)).json()) as { status: string }).status).toBe("retired");
  });

  it("promoting in the middle of concurrent requests fails none; each row names the checkpoint that served it", async () => {
    const goodId = ((await (await admin("GET", "/admin/checkpoints")).json()).data as Array<{ id: string }>).find((c) => c.id.startsWith(GOOD))!.id;
    const load = Array.from({ length: 48 }, (_, i) => complete({ max_tokens: 6, stream: i % 3 === 0 }));
    await new Promise((r) => setTimeout(r, 30));
    const promoted = await admin("POST", `/admin/checkpoints/${goodId}/promote`, { reason: "ship it" });
    expect(promoted.status).toBe(200);
    const after = Array.from({ length: 8 }, () => complete({ max_tokens: 2 }));
    const results = await Promise.all([...load, ...after]);
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));
    expect(results.every((r) => !r.body.includes('"error"'))).toBe(true); // no stream ended in an error event
    const byId = new Map(t.store.entries.map((e) => [e.request.id, e.request]));
    for (const r of results) expect(byId.get(r.id!)?.policyId).toBe(r.checkpoint);
    const served = new Set(results.map((r) => r.checkpoint));
    expect(served).toEqual(new Set([demoId, goodId])); // the swap happened while requests were running
    expect(results.slice(48).every((r) => r.checkpoint === goodId)).toBe(true);
    await t.app.context.serving.drained(); // the old engine was released once its last request ended
    expect(t.app.context.serving.inFlight()).toEqual({ [goodId]: 0 });
  }, 120_000);

  it("forces a failing checkpoint with a reason, rolls back to the previous active, and keeps the audit trail", async () => {
    const list = (await (await admin("GET", "/admin/checkpoints")).json()).data as Array<{ id: string; status: string }>;
    const goodId = list.find((c) => c.id.startsWith(GOOD))!.id;
    const badId = list.find((c) => c.id.startsWith(BAD))!.id;
    expect(list.find((c) => c.id === demoId)?.status).toBe("retired");
    const forced = await admin("POST", `/admin/checkpoints/${badId}/promote`, { force: true, reason: "hotfix, gate waived" });
    expect(forced.status).toBe(200);
    expect(await forced.json()).toMatchObject({ action: "promote", forced: true, reason: "hotfix, gate waived", previous_checkpoint_id: goodId });
    expect((await complete()).checkpoint).toBe(badId);
    const back = await admin("POST", "/admin/rollback", { reason: "drift" });
    expect(back.status).toBe(200);
    expect(await back.json()).toMatchObject({ action: "rollback", checkpoint_id: goodId, previous_checkpoint_id: badId });
    expect((await complete()).checkpoint).toBe(goodId);
    const audit = (await (await admin("GET", "/admin/promotions")).json()).data as Array<{ action: string; checkpoint_id: string }>;
    expect(audit.map((a) => a.action)).toEqual(["rollback", "promote", "promote", "rollback", "canary"]);
  });

  it("named tokens: 401 without one, 403 wrong or revoked, the name is the audit actor", async () => {
    t.app.context.adminAuth = namedTokenAuthenticator(t.handle.db, bootstrapAuthenticator("bootstrap-token-0123456789"));
    const secret = await createAdminToken(t.handle.db, "alice");
    const as = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });
    expect((await admin("GET", "/admin/promotions", undefined, {})).status).toBe(401);
    expect((await admin("GET", "/admin/promotions", undefined, as(`${secret}x`))).status).toBe(403);
    expect((await admin("GET", "/admin/promotions", undefined, as(secret))).status).toBe(200);
    const back = await admin("POST", "/admin/rollback", { reason: "alice rolls back" }, as(secret));
    expect(await back.json()).toMatchObject({ actor: "alice" });
    expect(await revokeAdminToken(t.handle.db, "alice")).toBe(true);
    expect((await admin("GET", "/admin/promotions", undefined, as(secret))).status).toBe(403);
    expect((await admin("GET", "/admin/promotions")).status).toBe(200); // the bootstrap token still works
  });
});
