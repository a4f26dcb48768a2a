// The alert seam: the wire shape of an alert (AlertJson) and the bus its lifecycle transitions are published
// on. SSE streams, webhooks, structured log lines, /metrics and promotions' auto-rollback are subscribers;
// the monitor (monitor/monitor.ts) is the only publisher. Runtime-free: the Worker's cron runs it too.

export type AlertState = "pending" | "firing" | "resolved";
export type AlertSeverity = "warning" | "critical";
export type AlertArm = "active" | "canary";

/** An alert as every admin surface shows it (CONTRACT-admin.md). Times ISO-8601, KL in nats/token. */
export interface AlertJson {
  id: number; // alerts.id
  rule: string;
  severity: AlertSeverity;
  state: AlertState;
  arm: AlertArm;
  checkpoint_id: string | null;
  metric: string; // kl_mean, kl_max, rejection_rate, fallback_rate, sketch_percentile, request_rate, latency_ms
  window: string; // 1m, 5m, 1h
  statistic: string; // mean, p50, p95, p99, max, rate
  comparison: string; // >, >=, <, <=
  threshold: number;
  value: number | null; // the window statistic at the last transition
  samples: number; // observations in the window at the last transition
  pending_since: string | null;
  fired_at: string | null;
  resolved_at: string | null;
  details: Record<string, unknown>;
}

/** One lifecycle transition of one alert. */
export interface AlertEvent {
  seq: number; // monotonic across restarts (alerts.event_seq); the SSE `id:`
  transition: AlertState; // the state the alert entered
  at: number; // clock ms of the transition
  alert: AlertJson; // the alert after the transition
  autoRollback: boolean; // the rule asks for the canary to be rolled back when it fires (promotions)
}

export type AlertListener = (event: AlertEvent) => void;

/**
 * Synchronous fan-out: a listener runs inside publish(), so it must only enqueue work (webhooks queue,
 * SSE writes a frame). A throwing listener is reported and does not stop the others.
 * @example
 * const off = ctx.alerts.subscribe((e) => console.log(e.transition, e.alert.rule));
 * off(); // unsubscribe
 */
export class AlertBus {
  private readonly listeners = new Set<AlertListener>();

  constructor(private readonly onListenerError: (error: unknown) => void = () => {}) {}

  subscribe(fn: AlertListener): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  publish(event: AlertEvent): void {
    for (const fn of [...this.listeners]) {
      try {
        fn(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
