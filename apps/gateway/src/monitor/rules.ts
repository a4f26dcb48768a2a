// Alert rules over a window: the metric's value (one statistic of the merged Summary), and thresholds made
// concrete per checkpoint from the reference-relative specs (schemas/alerts.ts) and that checkpoint's eval.json.
import { quantileAt, type EmpiricalDistribution, type EvalReport } from "@tether/shared/schemas/eval";
import { durationMs, type AlertRuleConfig } from "@tether/shared/schemas/alerts";
import type { LogHistogram } from "./log-histogram";
import type { Summary } from "./summary";
import { WINDOWS } from "./windows";

/** A rule as configured, with `for` in ms. */
export interface AlertRule extends AlertRuleConfig {
  forMs: number;
}

export function compileRule(rule: AlertRuleConfig): AlertRule {
  return { ...rule, forMs: durationMs(rule.for) };
}

/** What thresholds may be relative to, per checkpoint. */
export interface ReferenceStats {
  eval: EvalReport | null; // the checkpoint's eval.json
  guardMaxKl: number | null; // the drift guard's default max_kl for it
  hasSketch: boolean; // sketch.json loaded: sketch percentile scores exist
}

/**
 * F(x) for a stored distribution: the inverse of quantileAt's piecewise-linear interpolation.
 * @example cdfAt(d, quantileAt(d, 0.99)) // 0.99 (when the quantile is not on a flat stretch)
 */
export function cdfAt(d: EmpiricalDistribution, x: number): number {
  const points = [{ q: 0, value: d.min }, ...d.quantiles, { q: 1, value: d.max }];
  if (x < d.min) return 0;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    if (x < b.value) return a.q + ((x - a.value) / (b.value - a.value)) * (b.q - a.q); // a.value ≤ x < b.value
  }
  return 1;
}

/** The threshold for one checkpoint, or null when what it is relative to is missing (the rule then skips it). */
export function resolveThreshold(rule: AlertRuleConfig, ref: ReferenceStats): number | null {
  const t = rule.threshold;
  if (typeof t === "number") return t;
  if (t.from === "sketch") return ref.hasSketch ? t.percentile : null;
  if (!ref.eval) return null;
  if (t.from === "eval" && rule.metric === "sketch_percentile") {
    // The rule's layer, or the highest layer threshold (the rule's value is then the worst layer's).
    const layers = (ref.eval.sketch?.per_request_percentile ?? []).filter((l) => rule.layer === undefined || l.layer === rule.layer);
    if (!ref.hasSketch || layers.length === 0) return null;
    return Math.min(100, t.times * Math.max(...layers.map((l) => quantileAt(l.distribution, t.percentile / 100))));
  }
  if (t.from === "eval") {
    const dist = rule.metric === "kl_max" ? ref.eval.kl.per_request_kl_max : ref.eval.kl.per_request_kl_mean;
    return dist ? t.times * quantileAt(dist, t.percentile / 100) : null;
  }
  if (ref.guardMaxKl === null) return null;
  return Math.min(1, t.times * (1 - cdfAt(ref.eval.kl.per_request_kl_mean, ref.guardMaxKl)));
}

function statistic(h: LogHistogram, stat: string): number | null {
  if (h.count === 0) return null;
  if (stat === "mean") return h.mean();
  if (stat === "max") return h.max;
  return h.quantile(Number(stat.slice(1)) / 100); // p50, p95, p99
}

/** The rule's metric over a merged window: value (null = no data), the observations behind it, and extras. */
export interface RuleValue {
  value: number | null;
  samples: number;
  details: Record<string, unknown>;
}

export function ruleValue(rule: AlertRuleConfig, s: Summary): RuleValue {
  switch (rule.metric) {
    case "kl_mean":
      return { value: statistic(s.klMean, rule.statistic), samples: s.klMean.count, details: {} };
    case "kl_max":
      return { value: statistic(s.klMax, rule.statistic), samples: s.klMax.count, details: {} };
    case "latency_ms":
      return { value: statistic(s.latency, rule.statistic), samples: s.latency.count, details: {} };
    case "rejection_rate":
      return { value: s.candidates ? s.rejectedCandidates / s.candidates : null, samples: s.candidates, details: { rejected: s.rejectedCandidates } };
    case "fallback_rate": {
      const kind = rule.fallback ?? "any";
      const n = kind === "any" ? s.fallback.reference + s.fallback.least_kl + s.fallback.reject : s.fallback[kind];
      return { value: s.guarded ? n / s.guarded : null, samples: s.guarded, details: { fallback: kind, count: n } };
    }
    case "request_rate":
      return { value: s.requests / WINDOWS[rule.window].seconds, samples: s.requests, details: {} };
    case "sketch_percentile":
      return sketchValue(rule, s);
  }
}

/** One layer's statistic, or the worst (highest) layer's: drift shows first in some layers. */
function sketchValue(rule: AlertRuleConfig, s: Summary): RuleValue {
  let best: RuleValue = { value: null, samples: 0, details: {} };
  const layers: Record<string, number | null> = {};
  for (const [layer, h] of s.sketch) {
    if (rule.layer !== undefined && layer !== rule.layer) continue;
    const v = statistic(h, rule.statistic);
    layers[layer] = v;
    if (v !== null && (best.value === null || v > best.value)) best = { value: v, samples: h.count, details: { layer } };
  }
  return { ...best, details: { ...best.details, layers } };
}
