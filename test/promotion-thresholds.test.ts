// The monitor's eval-relative thresholds follow promotions: after a promotion (or canary, or rollback) a rule
// {from: "eval", percentile: 99} is judged against the newly served checkpoint's OWN eval.json, not the one the
// gateway started with (and not "no threshold" for a checkpoint it did not start with). The expected numbers
// are read straight from each checkpoint's eval.json (p99 is one of its stored points), on the real demo
// engines with an in-memory PGlite registry.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AlertEvent } from "../apps/gateway/src/monitor/alert-bus";
import { DEMO_POLICY, manifestId } from "./gateway-helpers";
import { policyVariant, promotionApp, readJsonFile } from "./promotion-fixtures";

const ADMIN = { authorization: "Bearer bootstrap-token-0123456789", "content-type": "application/json" };

type Dist = { mean: number; min: number; max: number; quantiles: Array<{ q: number; value: number }> };
const scaled = (factor: number) => (ev: Record<string, unknown>) => {
  for (const key of ["per_request_kl_mean", "per_request_kl_max"]) {
    const d = (ev.kl as Record<string, Dist | undefined>)[key];
    if (!d) continue;
    d.mean *= factor;
    d.min *= factor;
    d.max *= factor;
    for (const p of d.quantiles) p.value *= factor;
  }
};
/** p99 of per-request kl_mean as the file stores it (a stored point: no interpolation involved). */
const p99Of = (dir: string) => (readJsonFile(join(dir, "eval.json")).kl.per_request_kl_mean as Dist).quantiles.find((p) => p.q === 0.99)!.value;

describe("monitor thresholds follow the promoted checkpoint", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-thresholds-"));
  let t: Awaited<ReturnType<typeof promotionApp>>;
  const dirs: Record<string, string> = {};
  const ids: Record<string, string> = {};
  const admin = async (path: string, body: unknown) => {
    const res = await Promise.resolve(t.app.request(path, { method: "POST", headers: ADMIN, body: JSON.stringify(body) }));
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    return (await res.json()) as { id: string };
  };
  /** n requests of one checkpoint and arm into the monitor, then the events of one evaluation for that checkpoint. */
  const feed = async (checkpoint: string, arm: "active" | "canary", klMean: number, n = 20): Promise<AlertEvent[]> => {
    const monitor = t.app.context.monitoring.monitor;
    for (let i = 0; i < n; i++) monitor.observe({ createdAt: new Date(), policyId: checkpoint, arm, klMean, totalMs: 5 }, []);
    return (await monitor.evaluate()).filter((e) => e.alert.checkpoint_id === checkpoint);
  };

  beforeAll(async () => {
    dirs.x10 = policyVariant(root, "x10", "policy-threshold-x10", { klMean: 0.5, retention: 0.95 }, scaled(10));
    dirs.x5 = policyVariant(root, "x5", "policy-threshold-x5", { klMean: 0.5, retention: 0.95 }, scaled(5));
    const rule = { name: "kl-eval-p99", metric: "kl_mean", window: "1m", statistic: "mean", comparison: ">", threshold: { from: "eval", percentile: 99 }, min_samples: 10, severity: "warning", arm: "any" } as const;
    t = await promotionApp(root, { promotion: { kl_budget: 1.0, retention_floor: 0.9 }, alerts: { rules: [rule] } });
    for (const name of ["x10", "x5"]) ids[name] = (await admin("/admin/checkpoints", { path: dirs[name] })).id;
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("a promoted checkpoint is judged by its own eval.json p99; a canary by its own; a rollback by the restored one's", async () => {
    const demoP99 = p99Of(DEMO_POLICY);
    const x10P99 = p99Of(dirs.x10!);
    const x5P99 = p99Of(dirs.x5!);
    expect(x10P99).toBeGreaterThan(demoP99); // the variants really moved their distributions

    await admin(`/admin/checkpoints/${ids.x10}/promote`, { reason: "thresholds" });
    // Between the old and the new p99: above what the startup policy allowed, below what x10 allows.
    const between = (demoP99 + x10P99) / 2;
    expect(await feed(ids.x10!, "active", between)).toEqual([]);
    const fired = await feed(ids.x10!, "active", 3 * x10P99); // window mean (between + 3·p99)/2 > p99
    expect(fired.map((e) => e.transition)).toEqual(["pending", "firing"]);
    expect(fired[0]!.alert.threshold).toBeCloseTo(x10P99, 9);

    await admin(`/admin/checkpoints/${ids.x5}/promote`, { canary_percent: 50, reason: "canary thresholds" });
    const canary = await feed(ids.x5!, "canary", 1.5 * x5P99);
    expect(canary.map((e) => [e.transition, e.alert.arm])).toEqual([["pending", "canary"], ["firing", "canary"]]);
    expect(canary[0]!.alert.threshold).toBeCloseTo(x5P99, 9);

    await admin("/admin/rollback", { reason: "end canary" }); // the canary goes
    await admin("/admin/rollback", { reason: "back to the demo policy" }); // x10 → the demo policy
    const demoId = manifestId(DEMO_POLICY);
    expect(t.app.context.serving.state.active.id).toBe(demoId);
    const back = await feed(demoId, "active", between);
    expect(back.map((e) => e.transition)).toEqual(["pending", "firing"]);
    expect(back[0]!.alert.threshold).toBeCloseTo(demoP99, 9);
  }, 120_000);

  it("default rules: a promoted checkpoint whose eval.json has a sketch section adds its per-layer sketch rules", async () => {
    const layers = (readJsonFile(join(DEMO_POLICY, "..", "reference", "sketch.json")).spec.layers as number[]);
    const own = mkdtempSync(join(root, "defaults-"));
    const withSketch = policyVariant(own, "with-sketch", "policy-threshold-sketch", { klMean: 0.5, retention: 0.95 }, (ev) => {
      ev.sketch = { per_request_percentile: layers.map((layer) => ({ layer, distribution: { count: 100, mean: 90, min: 40, max: 100, quantiles: [{ q: 0.5, value: 92 }, { q: 0.99, value: 99.5 }] } })) };
    });
    const d = await promotionApp(own, { promotion: { kl_budget: 1.0, retention_floor: 0.9 } });
    try {
      const names = () => d.app.context.monitoring.monitor.rules.map((r) => r.name);
      // The demo policy's own eval.json: a rule for each layer whose held-out p99 is below 100 (a percentile past 100 cannot be)
      const demo = (readJsonFile(join(DEMO_POLICY, "eval.json")).sketch?.per_request_percentile ?? []) as Array<{ layer: number; distribution: Dist }>;
      const demoRules = demo.filter((l) => l.distribution.quantiles.find((p) => p.q === 0.99)!.value < 100).map((l) => `sketch-p95-high-layer-${l.layer}`);
      expect(names().filter((n) => n.startsWith("sketch-"))).toEqual(demoRules);
      const reg = await Promise.resolve(d.app.request("/admin/checkpoints", { method: "POST", headers: ADMIN, body: JSON.stringify({ path: withSketch }) }));
      expect(reg.status).toBe(201);
      const id = ((await reg.json()) as { id: string }).id;
      const res = await Promise.resolve(d.app.request(`/admin/checkpoints/${id}/promote`, { method: "POST", headers: ADMIN, body: JSON.stringify({ canary_percent: 20 }) }));
      expect(res.status).toBe(200);
      expect(names()).toEqual(expect.arrayContaining(layers.map((l) => `sketch-p95-high-layer-${l}`)));
    } finally {
      await d.close();
    }
  }, 120_000);
});
