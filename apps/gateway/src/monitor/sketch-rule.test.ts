// The default sketch rule is relative to the approved policy's OWN held-out sketch percentiles (eval.json
// `sketch`), one rule per layer: thresholds equal eval's stored p99 per layer; a stream drawn from that
// distribution (the healthy policy) does not fire, the same stream with one layer moved past its p99 does.
// The draws use inverse-CDF sampling written here from the definition of the piecewise-linear distribution.
import { evalReport, type EmpiricalDistribution } from "@tether/shared/schemas/eval";
import { policyEval } from "../../../../test/support/schema-documents";
import { describe, expect, test } from "vitest";
import { defaultAlertRules } from "./default-rules";
import { resolveThreshold } from "./rules";
import { testMonitor } from "../../../../test/support/monitor-streams";

/** Quantile points of a distribution concentrated high, as on traffic unlike the calibration set. */
const dist = (p50: number, p95: number, p99: number): EmpiricalDistribution => ({
  count: 200, mean: p50, min: p50 / 2, max: Math.min(100, p99 + 0.5),
  quantiles: [{ q: 0.5, value: p50 }, { q: 0.95, value: p95 }, { q: 0.99, value: p99 }],
});
const ev = evalReport.parse({ ...policyEval(), sketch: { per_request_percentile: [{ layer: 2, distribution: dist(80, 95, 97.5) }, { layer: 4, distribution: dist(60, 88, 93) }] } });

/** x with F(x) = u for the piecewise-linear CDF through (0, min), (q_i, value_i), (1, max). */
function inverse(d: EmpiricalDistribution, u: number): number {
  const pts: Array<[number, number]> = [[0, d.min], ...d.quantiles.map((p): [number, number] => [p.q, p.value]), [1, d.max]];
  for (let i = 1; i < pts.length; i++) {
    const [q0, v0] = pts[i - 1]!;
    const [q1, v1] = pts[i]!;
    if (u <= q1) return v0 + ((u - q0) / (q1 - q0)) * (v1 - v0);
  }
  return d.max;
}

describe("default sketch rule relative to the approved policy's held-out sketch scores", () => {
  test("one rule per layer at eval's own p99; no sketch rule without eval's sketch or without sketch scores", () => {
    const rules = defaultAlertRules(ev, true).filter((r) => r.metric === "sketch_percentile");
    expect(rules.map((r) => [r.name, r.layer, r.statistic])).toEqual([["sketch-p95-high-layer-2", 2, "p95"], ["sketch-p95-high-layer-4", 4, "p95"]]);
    const ref = { eval: ev, guardMaxKl: 0.15, hasSketch: true };
    expect(rules.map((r) => resolveThreshold(r, ref))).toEqual([97.5, 93]); // the stored p99 points
    expect(defaultAlertRules(ev, false).some((r) => r.metric === "sketch_percentile")).toBe(false);
    expect(resolveThreshold(rules[0]!, { ...ref, hasSketch: false })).toBeNull();
  });

  test("no rule for a layer whose held-out p99 is already 100 (no window statistic can exceed it)", () => {
    const saturated = evalReport.parse({ ...policyEval(), sketch: { per_request_percentile: [{ layer: 1, distribution: dist(79, 99, 99.7) }, { layer: 2, distribution: dist(100, 100, 100) }] } });
    const names = defaultAlertRules(saturated, true).filter((r) => r.metric === "sketch_percentile").map((r) => r.name);
    expect(names).toEqual(["sketch-p95-high-layer-1"]);
  });

  test("the healthy policy's own distribution does not fire; one layer past its p99 does", async () => {
    const rules = defaultAlertRules(ev, true).filter((r) => r.metric === "sketch_percentile");
    const [d2, d4] = ev.sketch!.per_request_percentile.map((l) => l.distribution) as [EmpiricalDistribution, EmpiricalDistribution];
    const run = async (shift4: number) => {
      const h = testMonitor(rules, { references: { eval: ev, guardMaxKl: 0.15, hasSketch: true } });
      const start = h.clock.t;
      // 2 requests/s for 3 minutes: 360 requests, stratified draws u = (i + 0.5)/N shuffled by a fixed stride.
      const N = 360;
      for (let i = 0; i < N; i++) {
        const u = (((i * 139) % N) + 0.5) / N;
        h.feed({ at: start + i * 500, klMean: 0.01, sketch: [0, 0, inverse(d2, u), 0, Math.min(100, inverse(d4, u) + shift4)] });
        if (i % 20 === 19) {
          h.clock.t = start + i * 500;
          await h.monitor.evaluate();
        }
      }
      return h.events.filter((e) => e.transition === "firing").map((e) => e.alert.rule);
    };
    expect(await run(0)).toEqual([]);
    expect(await run(93 - 60 + 5)).toEqual(["sketch-p95-high-layer-4"]); // layer 4's median moved past its p99
  });
});
