// Rule evaluation on synthetic streams through the whole monitor (windows → rule value → lifecycle →
// store → bus): fires only after `for`, resolves only after the value is back past the hysteresis band
// for `for`, never flaps at the threshold, respects min_samples, and re-opens instead of duplicating.
import { describe, expect, test } from "vitest";
import { step, INACTIVE, type AlertPhase, type LifecycleRule } from "./lifecycle";
import { rule, testMonitor } from "../../../../test/support/monitor-streams";

const S = 1000;

/** Feeds `perSecond` requests per second from `from` to `to` (ms) with kl(t), evaluating every 5 s. */
async function drive(h: ReturnType<typeof testMonitor>, from: number, to: number, kl: (t: number, i: number) => number, perSecond = 2) {
  for (let t = from; t < to; t += S) {
    for (let i = 0; i < perSecond; i++) h.feed({ at: t + i * (S / perSecond), klMean: kl(t, i) });
    h.clock.t = t + S;
    if ((t + S - from) % (5 * S) === 0) await h.monitor.evaluate();
  }
}

describe("alert lifecycle on synthetic streams", () => {
  test("fires only once the condition has held for `for`, then resolves after it clears for `for`", async () => {
    const h = testMonitor([rule({ name: "kl-high", for: "30s" })]);
    const t0 = h.clock.t;
    await drive(h, t0, t0 + 120 * S, () => 0.9);
    const pending = h.events.find((e) => e.transition === "pending")!;
    const firing = h.events.find((e) => e.transition === "firing")!;
    expect(pending.at).toBe(t0 + 5 * S); // first evaluation: 10 samples ≥ min_samples 5
    expect(firing.at - pending.at).toBeGreaterThanOrEqual(30 * S);
    expect(firing.at - pending.at).toBeLessThan(35 * S); // the first evaluation after `for`
    expect(firing.alert).toMatchObject({ state: "firing", rule: "kl-high", threshold: 0.5, arm: "active", checkpoint_id: "pol", window: "1m" });
    expect(firing.alert.value).toBeCloseTo(0.9, 12);
    expect(firing.alert.id).toBe(pending.alert.id);

    // Drop to 0.1: the 1-minute mean falls below 0.45 (= 0.5 − 10%) once enough old slots have left.
    const drop = h.clock.t;
    await drive(h, drop, drop + 180 * S, () => 0.1);
    const resolved = h.events.filter((e) => e.transition === "resolved");
    expect(resolved).toHaveLength(1);
    expect(resolved[0]!.alert).toMatchObject({ id: firing.alert.id, state: "resolved", fired_at: firing.alert.fired_at });
    // By hand: the 1m window is the 6 newest 10-s slots (20 requests per full slot). The mean is below
    // 0.45 when the share f of 0.9-requests satisfies 0.9f + 0.1(1 − f) < 0.45, f < 0.4375. At drop+25 s:
    // 3 old slots (60) vs 2 new + half a slot (50): f = 0.545. At drop+30 s: 2 old (40) vs 3 new (60):
    // f = 0.4 → clear; resolved `for` = 30 s later, at drop+60 s.
    expect(resolved[0]!.at - drop).toBe(60 * S);
    expect(h.events.map((e) => e.transition)).toEqual(["pending", "firing", "resolved"]);
    expect(h.store.rows).toHaveLength(1);
    expect(h.store.rows[0]!.alert.state).toBe("resolved");
    expect(h.events.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  test("a condition that clears before `for` resolves the pending alert without firing", async () => {
    const h = testMonitor([rule({ name: "kl-high", for: "60s" })]);
    const t0 = h.clock.t;
    await drive(h, t0, t0 + 20 * S, () => 0.9);
    await drive(h, t0 + 20 * S, t0 + 200 * S, () => 0.01);
    expect(h.events.map((e) => e.transition)).toEqual(["pending", "resolved"]);
    expect(h.events[1]!.alert).toMatchObject({ fired_at: null, details: { reason: "cleared before firing" } });
  });

  test("a stream oscillating around the threshold fires once and never flaps", async () => {
    const h = testMonitor([rule({ name: "kl-high", for: "30s" })]);
    const t0 = h.clock.t;
    // per-request values alternate 0.46 / 0.56; the window mean hovers at 0.51 ± a few hundredths
    await drive(h, t0, t0 + 600 * S, (t, i) => ((t / S + i) % 2 === 0 ? 0.46 : 0.56), 3);
    expect(h.events.map((e) => e.transition)).toEqual(["pending", "firing"]);
  });

  test("the window value oscillating across the threshold: Schmitt trigger vs none", () => {
    const run = (hysteresis: number) => {
      const r: LifecycleRule = { comparison: ">", threshold: 0.5, hysteresis, minSamples: 1, forMs: 10 * S };
      let phase: AlertPhase = INACTIVE;
      const out: string[] = [];
      for (let k = 0; k < 60; k++) {
        const value = k < 3 ? 0.1 : k % 2 ? 0.53 : 0.47; // crosses 0.5 at every evaluation
        const res = step(r, phase, k * 5 * S, value, 100);
        phase = res.next;
        out.push(...res.transitions);
      }
      return out;
    };
    expect(run(0.1)).toEqual(["pending", "firing"]);
    const flapping = run(0);
    expect(flapping.filter((t) => t === "pending").length).toBeGreaterThan(10); // what hysteresis prevents
    expect(flapping).not.toContain("firing");
  });

  test("min_samples: a window with fewer observations never fires, whatever its value", async () => {
    const h = testMonitor([rule({ name: "kl-high", for: "0s", min_samples: 61 })]);
    const t0 = h.clock.t;
    await drive(h, t0, t0 + 120 * S, () => 5, 1); // 1/s → at most 60 in the 1m window
    expect(h.events).toEqual([]);
  });

  test("for = 0 makes pending and firing at the same evaluation; arms are tracked apart", async () => {
    const h = testMonitor([rule({ name: "kl-high", for: "0s", min_samples: 1, arm: "canary" })]);
    h.feed({ at: h.clock.t, klMean: 0.9, arm: "active" });
    h.feed({ at: h.clock.t, klMean: 0.9, arm: "canary" });
    h.clock.t += S;
    const events = await h.monitor.evaluate();
    expect(events.map((e) => [e.transition, e.alert.arm])).toEqual([["pending", "canary"], ["firing", "canary"]]);
    expect(events[0]!.alert.fired_at).toBeNull();
    expect(h.monitor.openCounts()).toEqual({ pending: 0, firing: 1 });
  });

  test("thresholds per checkpoint follow setReferences (a canary's own eval.json)", async () => {
    const h = testMonitor([rule({ name: "kl-high", for: "0s", min_samples: 1, threshold: { from: "sketch", percentile: 99 }, metric: "sketch_percentile", statistic: "max" })], { references: { eval: null, guardMaxKl: null, hasSketch: false } });
    h.feed({ at: h.clock.t, klMean: 0.1, sketch: [99.5] });
    h.clock.t += S;
    expect(await h.monitor.evaluate()).toEqual([]); // no sketch.json: the rule skips this checkpoint
    h.monitor.setReferences(() => ({ eval: null, guardMaxKl: null, hasSketch: true }));
    expect((await h.monitor.evaluate()).map((e) => [e.transition, e.alert.threshold])).toEqual([["pending", 99], ["firing", 99]]);
  });

  test("a restarted monitor re-opens the open alert (no second row) and resolves the same row", async () => {
    const first = testMonitor([rule({ name: "kl-high", for: "0s", min_samples: 1 })]);
    first.feed({ at: first.clock.t, klMean: 0.9 });
    first.clock.t += S;
    await first.monitor.evaluate();
    expect(first.store.rows).toHaveLength(1);
    const second = testMonitor([rule({ name: "kl-high", for: "0s", min_samples: 1 })], { store: first.store, now: first.clock.t + S });
    await second.monitor.start();
    second.feed({ at: second.clock.t, klMean: 0.9 });
    await second.monitor.evaluate();
    expect(second.events).toEqual([]); // still firing: nothing new
    second.clock.t += 10 * 60 * S; // traffic stops: no data → resolves
    await second.monitor.evaluate();
    expect(second.events.map((e) => [e.transition, e.alert.id, e.seq])).toEqual([["resolved", 1, 3]]);
    expect(first.store.rows).toHaveLength(1);
  });
});
