// One structured log line per alert transition: a single JSON object per line (jq-, Loki- and
// CloudWatch-friendly), carrying the values that caused the transition.
import type { AlertBus, AlertEvent } from "../monitor/alert-bus";

/** The line for one event. */
export function alertLogLine(e: AlertEvent): string {
  const a = e.alert;
  return JSON.stringify({
    ts: new Date(e.at).toISOString(),
    level: e.transition === "firing" ? (a.severity === "critical" ? "error" : "warn") : "info",
    msg: `alert ${a.rule} ${e.transition}`,
    event: `alert.${e.transition}`, seq: e.seq, alert_id: a.id, rule: a.rule, severity: a.severity, arm: a.arm,
    checkpoint_id: a.checkpoint_id, metric: a.metric, window: a.window, statistic: a.statistic, comparison: a.comparison,
    threshold: a.threshold, value: a.value, samples: a.samples, pending_since: a.pending_since, fired_at: a.fired_at,
    resolved_at: a.resolved_at,
  });
}

/** @example attachAlertLog(ctx.alerts, (line) => console.log(line)) */
export function attachAlertLog(bus: AlertBus, write: (line: string) => void): () => void {
  return bus.subscribe((e) => write(alertLogLine(e)));
}
