// The gateway's `alerts` config section: alert rules over the monitor's rolling windows, webhooks, and the
// SSE stream's limits. Rules are validated at startup; a bad one stops the gateway with one line per
// problem naming the rule and the field (loadGatewayConfig adds the rule's name to the path).
// Without `rules`, the gateway derives default rules from the policy's eval.json and sketch.json
// (apps/gateway/src/monitor/default-rules.ts), so that thresholds are relative to the reference.

import { z } from "zod";
import { bool, int, oneOf, real } from "./common";

export const ALERT_METRICS = ["kl_mean", "kl_max", "rejection_rate", "fallback_rate", "sketch_percentile", "request_rate", "latency_ms"] as const;
export const ALERT_STATISTICS = ["mean", "p50", "p95", "p99", "max", "rate"] as const;
export const ALERT_WINDOWS = ["1m", "5m", "1h"] as const;
export const ALERT_COMPARISONS = [">", ">=", "<", "<="] as const;
/** Metrics that are a ratio or a rate: their only statistic is "rate". */
export const RATE_METRICS: readonly string[] = ["rejection_rate", "fallback_rate", "request_rate"];

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * "30s" → 30000. Units ms, s, m, h.
 * @example durationMs("1.5m") // 90000
 */
export function durationMs(text: string): number {
  const m = DURATION.exec(text);
  if (!m) throw new RangeError(`duration must look like 30s, 5m, 1h or 500ms (got ${JSON.stringify(text)})`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

const duration = z
  .string({ error: "must be a duration such as \"30s\", \"5m\", \"1h\"" })
  .regex(DURATION, { error: (iss) => `must be a duration such as "30s", "5m", "1h" (got ${JSON.stringify(iss.input)})` });

const percentile = real({ value: 0, exclusive: true }, 100); // percent, (0, 100]
const times = real({ value: 0, exclusive: true });

/**
 * A threshold: a number in the metric's unit, or relative to the reference's own distribution:
 * - {from:"eval", percentile, times}: times × that percentile of eval.json's per-request kl_mean (kl_max for
 *   metric kl_max; for sketch_percentile the rule's layer's, or the highest over layers, of eval.json's
 *   sketch.per_request_percentile), i.e. of what the healthy policy produced on held-out prompts;
 * - {from:"sketch", percentile}: that percentile of the reference's calibration distribution, on the 0–100
 *   percentile-score scale the gateway logs (sketch.json's quantiles are what the scores are ranked in);
 * - {from:"guard", times}: times × the candidate rejection rate a healthy policy would have under the guard's
 *   max_kl, 1 − F(max_kl) with F eval.json's per-request kl_mean distribution.
 */
export const alertThreshold = z.union([
  z.number({ error: "must be a number or an object {from: \"eval\" | \"sketch\" | \"guard\", …}" }),
  z.strictObject({ from: z.literal("eval"), percentile, times: times.default(1) }),
  z.strictObject({ from: z.literal("sketch"), percentile }),
  z.strictObject({ from: z.literal("guard"), times: times.default(1) }),
]);
export type AlertThreshold = z.infer<typeof alertThreshold>;

export const alertRule = z
  .strictObject({
    name: z.string({ error: (iss) => (iss.input === undefined ? "is required" : "must be a string") }).regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, { error: "must be 1–64 of a-z 0-9 . _ - (starting with a letter or digit)" }),
    metric: oneOf(ALERT_METRICS),
    window: oneOf(ALERT_WINDOWS),
    statistic: oneOf(ALERT_STATISTICS),
    comparison: oneOf(ALERT_COMPARISONS),
    threshold: alertThreshold,
    min_samples: int(0).default(1), // observations the window needs before the condition counts (else: no data)
    severity: oneOf(["warning", "critical"]).default("warning"),
    for: duration.default("0s"), // the condition must hold this long before pending → firing (and clear this long to resolve)
    hysteresis: real(0, { value: 1, exclusive: true }).default(0.1), // resolve only past threshold ∓ hysteresis·|threshold|
    arm: oneOf(["active", "canary", "any"]).default("any"),
    fallback: oneOf(["reference", "least_kl", "reject", "any"]).optional(), // fallback_rate: which kind (default any)
    layer: int(-1).optional(), // sketch_percentile: one monitored layer (default: the worst layer)
    auto_rollback: bool().default(false), // firing on the canary arm asks promotions to roll it back
  })
  .superRefine((r, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
    const rate = RATE_METRICS.includes(r.metric);
    if (rate && r.statistic !== "rate") issue("statistic", `must be "rate" for metric ${r.metric} (got ${JSON.stringify(r.statistic)})`);
    if (!rate && r.statistic === "rate") issue("statistic", `"rate" applies to rejection_rate, fallback_rate, request_rate only; use mean, p50, p95, p99 or max for ${r.metric}`);
    if (typeof r.threshold === "object") {
      const allowed = { eval: ["kl_mean", "kl_max", "sketch_percentile"], sketch: ["sketch_percentile"], guard: ["rejection_rate"] }[r.threshold.from];
      if (!allowed.includes(r.metric)) issue("threshold", `{from: "${r.threshold.from}"} applies to metric ${allowed.join(" or ")}, not ${r.metric}`);
    }
    if (r.fallback !== undefined && r.metric !== "fallback_rate") issue("fallback", "applies to metric fallback_rate only");
    if (r.layer !== undefined && r.metric !== "sketch_percentile") issue("layer", "applies to metric sketch_percentile only");
  });
export type AlertRuleConfig = z.infer<typeof alertRule>;

export const webhookConfig = z.strictObject({
  url: z.string({ error: "must be an http(s) URL" }).regex(/^https?:\/\/\S+$/, { error: "must be an http:// or https:// URL" }),
  secret: z.string({ error: "must be a string" }).min(16, { error: "must be at least 16 characters (it signs every delivery)" }),
  events: z.array(oneOf(["pending", "firing", "resolved"])).min(1).default(["firing", "resolved"]),
  timeout_ms: int(1, 120_000).default(5000), // one attempt's limit; a receiver that never answers costs this, off the request path
  max_attempts: int(1, 20).default(5), // attempts per event, including the first
  backoff_ms: int(1, 3_600_000).default(1000), // delay before the first retry; doubles each time (1 s, 2 s, 4 s, 8 s)
});
export type WebhookConfig = z.infer<typeof webhookConfig>;

export const alertsConfig = z
  .strictObject({
    rules: z.array(alertRule).optional(), // unset: defaults derived from eval.json / sketch.json; [] = no rules
    webhooks: z.array(webhookConfig).default([]),
    evaluate_interval_s: real({ value: 0, exclusive: true }, 3600).default(5), // half a 10-s slot: a new slot is seen within half its width
    stream_interval_s: real({ value: 0, exclusive: true }, 3600).default(2), // SSE `event: drift` period
    max_streams: int(0, 10_000).default(16), // concurrent SSE streams; beyond → 429
    retained_events: int(1, 1_000_000).default(1000), // alert events kept in memory for Last-Event-ID resumption
    webhook_queue: int(1, 1_000_000).default(1000), // deliveries waiting; beyond, the oldest is dropped (and logged)
  })
  .superRefine((a, ctx) => {
    const seen = new Set<string>();
    a.rules?.forEach((r, i) => {
      if (seen.has(r.name)) ctx.addIssue({ code: "custom", path: ["rules", i, "name"], message: `duplicates another rule's name ${JSON.stringify(r.name)}` });
      seen.add(r.name);
    });
  });
export type AlertsConfig = z.infer<typeof alertsConfig>;

/** A "name" (or "#index") for a rule path in an error line. */
export function ruleLabel(rules: unknown, index: number): string {
  const rule = Array.isArray(rules) ? rules[index] : undefined;
  const name = rule && typeof rule === "object" ? (rule as { name?: unknown }).name : undefined;
  return typeof name === "string" ? JSON.stringify(name) : `#${index}`;
}

