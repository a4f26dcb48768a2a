// Thresholds relative to the reference (checked against hand computation on the fixture eval.json), rule
// values per metric against values computed directly from the synthetic requests, and the default rules.
import { evalReport } from "@tether/shared/schemas/eval";
import { policyEval } from "../../../../test/support/schema-documents";
import { describe, expect, test } from "vitest";
import { defaultAlertRules } from "./default-rules";
import { cdfAt, resolveThreshold, ruleValue } from "./rules";
import { Summary } from "./summary";
import { observationOf } from "./observation";
import { rule, syntheticRows, type SyntheticRequest } from "../../../../test/support/monitor-streams";
import { RELATIVE_ERROR } from "./log-histogram";

const ev = evalReport.parse(policyEval()); // per_request_kl_mean: min 0.004, p50 0.035, p90 0.07, p95 0.09, p99 0.15, max 0.19

describe("thresholds relative to the reference", () => {
  test("eval percentile × times, guard rejection rate from F(max_kl), sketch percentile", () => {
    const ref = { eval: ev, guardMaxKl: 0.08, hasSketch: true };
    expect(resolveThreshold(rule({ name: "a", threshold: { from: "eval", percentile: 99, times: 1.5 } }), ref)).toBeCloseTo(0.225, 12);
    expect(resolveThreshold(rule({ name: "b", threshold: { from: "eval", percentile: 97 } }), ref)).toBeCloseTo(0.09 + 0.5 * 0.06, 12); // halfway p95→p99
    // F(0.08) = 0.9 + (0.08 − 0.07)/(0.09 − 0.07)·0.05 = 0.925 → expected rejection 0.075, ×2 = 0.15
    expect(resolveThreshold(rule({ name: "c", metric: "rejection_rate", statistic: "rate", threshold: { from: "guard", times: 2 } }), ref)).toBeCloseTo(0.15, 12);
    expect(resolveThreshold(rule({ name: "d", metric: "sketch_percentile", statistic: "p95", threshold: { from: "sketch", percentile: 99 } }), ref)).toBe(99);
    expect(resolveThreshold(rule({ name: "e", threshold: { from: "eval", percentile: 99 } }), { eval: null, guardMaxKl: null, hasSketch: false })).toBeNull();
    expect(resolveThreshold(rule({ name: "f", metric: "kl_max", statistic: "max", threshold: { from: "eval", percentile: 99 } }), ref)).toBeNull(); // no per_request_kl_max
  });

  test("cdfAt inverts quantileAt's interpolation", () => {
    const d = ev.kl.per_request_kl_mean;
    expect(cdfAt(d, 0.001)).toBe(0);
    expect(cdfAt(d, 0.035)).toBeCloseTo(0.5, 12);
    expect(cdfAt(d, 0.15)).toBeCloseTo(0.99, 12);
    expect(cdfAt(d, 0.17)).toBeCloseTo(0.995, 12);
    expect(cdfAt(d, 0.19)).toBe(1);
  });

  test("default rules: derived from eval.json, none without it (a sketch rule needs eval.json's sketch distribution)", () => {
    const rules = defaultAlertRules(ev, true);
    expect(rules.map((r) => r.name)).toEqual(["kl-mean-p95-high", "kl-mean-critical", "rejection-rate-high"]);
    const ref = { eval: ev, guardMaxKl: 0.15, hasSketch: true };
    expect(resolveThreshold(rules[0]!, ref)).toBeCloseTo(0.15, 12); // eval p99
    expect(resolveThreshold(rules[2]!, ref)).toBeCloseTo(5 * 0.01, 12); // 5 × (1 − F(p99))
    expect(rules[0]!.min_samples).toBe(20);
    expect(rules[2]!.min_samples).toBe(100);
    expect(rules.find((r) => r.severity === "critical")!.auto_rollback).toBe(true);
    expect(defaultAlertRules(null, false)).toEqual([]);
    expect(defaultAlertRules(null, true)).toEqual([]); // sketch.json alone: its calibration set may not look like the traffic
  });
});

describe("rule values over a window", () => {
  const requests: SyntheticRequest[] = Array.from({ length: 40 }, (_, i) => ({
    at: 1000 * i, klMean: 0.01 * (i + 1), klMax: 0.05 * (i + 1), rejected: i % 4, fallback: i % 10 === 0 ? "reference" : null,
    latencyMs: 5 + i, sketch: [i * 2.5, 100 - i * 2.5], arm: "active",
  }));
  const s = new Summary();
  for (const r of requests) {
    const { request, samples } = syntheticRows(r);
    s.add(observationOf(request, samples)!);
  }
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const nearest = (xs: number[], q: number) => sorted(xs)[Math.ceil(q * xs.length) - 1]!;

  test.each([
    ["kl_mean", "mean", requests.reduce((a, r) => a + r.klMean, 0) / 40],
    ["kl_mean", "p95", nearest(requests.map((r) => r.klMean), 0.95)],
    ["kl_max", "max", 2],
    ["latency_ms", "p50", nearest(requests.map((r) => r.latencyMs!), 0.5)],
  ] as const)("%s %s", (metric, statistic, expected) => {
    const v = ruleValue(rule({ name: "x", metric, statistic }), s);
    expect(Math.abs(v.value! - expected) / expected).toBeLessThanOrEqual(RELATIVE_ERROR);
    expect(v.samples).toBe(40);
  });

  test("rates: rejection (per candidate), fallback (per guarded request), request rate", () => {
    const rejected = requests.reduce((a, r) => a + r.rejected!, 0); // 0+1+2+3 per 4 requests = 60
    expect(ruleValue(rule({ name: "r", metric: "rejection_rate", statistic: "rate" }), s)).toMatchObject({ value: rejected / (rejected + 40), samples: rejected + 40 });
    expect(ruleValue(rule({ name: "f", metric: "fallback_rate", statistic: "rate", fallback: "reference" }), s).value).toBe(4 / 40);
    expect(ruleValue(rule({ name: "f2", metric: "fallback_rate", statistic: "rate", fallback: "least_kl" }), s).value).toBe(0);
    expect(ruleValue(rule({ name: "q", metric: "request_rate", statistic: "rate", window: "1m" }), s).value).toBe(40 / 60);
  });

  test("sketch: the worst layer's statistic, or one layer's", () => {
    const worst = ruleValue(rule({ name: "s", metric: "sketch_percentile", statistic: "max" }), s);
    expect(worst.value).toBe(100); // layer 1 starts at 100
    expect(worst.details).toMatchObject({ layer: 1 });
    const layer0 = ruleValue(rule({ name: "s0", metric: "sketch_percentile", statistic: "max", layer: 0 }), s);
    expect(layer0.value).toBe(39 * 2.5);
  });
});
