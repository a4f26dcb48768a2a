// /metrics lines of the drift monitor and its delivery: open alerts by state, transitions, the 5-minute
// window's kl_mean p95 per checkpoint and arm, webhook deliveries and failures, SSE streams.
import type { Monitoring } from "../monitor/monitoring";

function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

export function family(name: string, help: string, type: "gauge" | "counter", samples: Array<[Record<string, string>, number]>): string[] {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value] of samples) {
    const text = Object.entries(labels).map(([k, v]) => `${k}="${esc(v)}"`).join(",");
    lines.push(`${name}${text ? `{${text}}` : ""} ${value}`);
  }
  return lines;
}

/** The monitoring families, read at scrape time. `now` is the app clock (ms). */
export function monitoringMetricLines(m: Monitoring, now: number): string[] {
  const open = m.monitor.openCounts();
  const transitions = [...m.monitor.transitions].map(([key, n]): [Record<string, string>, number] => {
    const [transition, severity] = key.split("|");
    return [{ transition: transition!, severity: severity! }, n];
  });
  const windows = m.monitor.view("5m", now).flatMap((v): Array<[Record<string, string>, number]> => {
    const p95 = v.total.klMean.quantile(0.95);
    return p95 === null ? [] : [[{ checkpoint: v.checkpointId, arm: v.arm, window: "5m" }, p95]];
  });
  const w = m.webhooks.snapshot();
  return [
    ...family("tether_alerts", "Alerts open now, by state.", "gauge", [[{ state: "pending" }, open.pending], [{ state: "firing" }, open.firing]]),
    ...family("tether_alert_transitions_total", "Alert lifecycle transitions, by the state entered and severity.", "counter", transitions),
    ...family("tether_window_kl_mean_p95", "p95 of per-request kl_mean (nats/token) over the window, by checkpoint and arm (1% relative error).", "gauge", windows),
    ...family("tether_webhook_deliveries_total", "Webhook attempts by outcome (ok; failed = an attempt that failed; gave_up = events that exhausted max_attempts; dropped = queue full).", "counter", [
      [{ outcome: "ok" }, w.delivered], [{ outcome: "failed" }, w.failedAttempts], [{ outcome: "gave_up" }, w.gaveUp], [{ outcome: "dropped" }, w.dropped],
    ]),
    ...family("tether_webhook_queue", "Webhook deliveries waiting (queued or backing off) and in flight.", "gauge", [[{ stage: "waiting" }, w.queued], [{ stage: "in_flight" }, w.inFlight]]),
    ...family("tether_alert_streams", "Open /admin/alerts/stream connections.", "gauge", [[{}, m.streams.streams]]),
    ...family("tether_alert_streams_refused_total", "Alert streams refused with 429 (alerts.max_streams reached).", "counter", [[{}, m.streams.refused]]),
  ];
}
