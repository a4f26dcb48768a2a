// The gateway's Prometheus metrics (text exposition format 0.0.4), kept in memory per app instance.
// Hand-written rather than prom-client: a few counters and one histogram, and it must run in Workers.

import type { DriftStoreStats } from "../store/drift-store";

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const entry = this.values.get(key) ?? { labels, value: 0 };
    entry.value += by;
    this.values.set(key, entry);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels))?.value ?? 0;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${labelText(labels)} ${value}`);
    return lines;
  }
}

class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const key = labelText(labels);
    const s = this.series.get(key) ?? { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
    this.buckets.forEach((b, i) => {
      if (value <= b) s.counts[i]!++;
    });
    s.sum += value;
    s.count++;
    this.series.set(key, s);
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`, `${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines;
  }
}

/** Guard outcome per returned choice. */
export type GuardOutcome = "accepted" | "fallback_reference" | "fallback_least_kl" | "rejected" | "unguarded";

/**
 * @example
 * metrics.requests.inc({ endpoint: "completions", status: "200" });
 * metrics.render(() => ({ queueDepth: 0, inFlight: 1 })); // Prometheus text
 */
export class GatewayMetrics {
  readonly requests = new Counter("tether_requests_total", "HTTP requests to the OpenAI-compatible API, by endpoint and status.");
  readonly tokens = new Counter("tether_tokens_total", "Tokens processed, by kind (prompt, completion, candidate = every token the guard sampled).");
  readonly guard = new Counter("tether_guard_choices_total", "Returned choices by drift-guard outcome; rejected counts choices that made the request fail.");
  readonly candidates = new Counter("tether_guard_candidates_total", "Candidates drawn and scored against the reference.");
  readonly duration = new Histogram(
    "tether_request_duration_seconds",
    "Wall time from arrival to the last byte of the response, by endpoint.",
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  );
  readonly klMean = new Histogram("tether_choice_kl_mean", "kl_mean (nats/token) of returned choices.", [0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3]);

  /** Text exposition; gauges and the drift log's counters are read at scrape time; `extra` = other families' lines. */
  render(gauges: { queueDepth: number; inFlight: number }, log?: DriftStoreStats, extra: string[] = []): string {
    const gauge = (name: string, help: string, value: number, type = "gauge") => [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`];
    const logLines = log
      ? [
          ...gauge("tether_drift_log_rows_written_total", "Drift-log rows committed to the database.", log.rowsWritten, "counter"),
          ...gauge("tether_drift_log_refused_total", "Requests refused (503) because the drift log was full.", log.refused, "counter"),
          ...gauge("tether_drift_log_spilled_rows_total", "Drift-log rows written to spill files while the database was slow or down.", log.spilledRows, "counter"),
          ...gauge("tether_drift_log_buffer_rows", "Drift-log rows waiting in memory.", log.bufferRows),
          ...gauge("tether_drift_log_spill_bytes", "Bytes in drift-log spill files.", log.spillBytes),
        ]
      : [];
    return [
      ...this.requests.render(),
      ...this.tokens.render(),
      ...this.guard.render(),
      ...this.candidates.render(),
      ...this.duration.render(),
      ...this.klMean.render(),
      ...gauge("tether_queue_depth", "Requests waiting for a decode slot.", gauges.queueDepth),
      ...gauge("tether_requests_in_flight", "Requests decoding now.", gauges.inFlight),
      ...logLines,
      ...extra,
    ].join("\n") + "\n";
  }
}
