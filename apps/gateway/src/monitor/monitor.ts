// The drift monitor: observes every logged request into rolling windows (O(1), on the request path),
// evaluates alert rules on a timer (off it), persists each lifecycle transition and publishes it on the
// AlertBus. Runtime-free: the Node entry drives evaluate() with a timer; a Worker's Cron Trigger can
// rebuild from the database (start) and evaluate the same rules.
import type { Clock } from "../clock";
import type { AlertBus, AlertEvent, AlertJson, AlertState } from "./alert-bus";
import type { AlertStore } from "./alert-store";
import { INACTIVE, step, type AlertPhase } from "./lifecycle";
import { observationOf, type Arm, type RequestRowLike, type SampleRowLike } from "./observation";
import { resolveThreshold, ruleValue, type AlertRule, type ReferenceStats } from "./rules";
import { Summary } from "./summary";
import { LONGEST_WINDOW_S, MonitorWindows, type WindowName, type WindowView } from "./windows";

export interface MonitorOptions {
  rules: AlertRule[];
  references: (checkpointId: string) => ReferenceStats; // what thresholds are relative to, per checkpoint
  store: AlertStore;
  bus: AlertBus;
  clock: Clock;
  logError: (message: string, error: unknown) => void;
}

/** Rows of requests (with their samples) logged since a time: the database's history for a rebuild. */
export type DriftHistory = (since: Date) => Promise<Array<{ request: RequestRowLike; samples: SampleRowLike[] }>>;

interface Tracked {
  rule: AlertRule;
  checkpointId: string;
  arm: Arm;
  phase: AlertPhase;
  alert: AlertJson | null; // the open row, once persisted
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export class DriftMonitor {
  readonly windows = new MonitorWindows();
  private readonly tracked = new Map<string, Tracked>();
  private readonly thresholds = new Map<string, number | null>();
  private seq = 0;
  private evaluating: Promise<AlertEvent[]> | null = null;
  readonly transitions = new Map<string, number>(); // "firing|critical" → count, for /metrics

  private readonly o: MonitorOptions;

  constructor(options: MonitorOptions) {
    this.o = { ...options };
  }

  get rules(): readonly AlertRule[] {
    return this.o.rules;
  }

  /**
   * Where reference-relative thresholds come from per checkpoint (promotions: a canary's own eval.json).
   * Thresholds are re-resolved at the next evaluation.
   */
  setReferences(references: (checkpointId: string) => ReferenceStats): void {
    this.o.references = references;
    this.thresholds.clear();
  }

  /**
   * Adds rules not yet known by name (the defaults of a newly served checkpoint whose eval.json has more than
   * the first one's); existing rules and their open alerts are kept. Thresholds are re-resolved.
   */
  addRules(rules: readonly AlertRule[]): void {
    const known = new Set(this.o.rules.map((r) => r.name));
    this.o.rules = [...this.o.rules, ...rules.filter((r) => !known.has(r.name))];
    this.thresholds.clear();
  }

  /** One logged request (its drift-log rows). O(1): a few counter and histogram updates per ring. */
  observe(request: RequestRowLike, samples: readonly SampleRowLike[]): void {
    const obs = observationOf(request, samples);
    if (obs) this.windows.observe(obs);
  }

  /**
   * Resumes after a restart: the event counter, the open alerts (so they are re-opened, not duplicated),
   * and the windows from the longest window of history.
   */
  async start(history?: DriftHistory): Promise<void> {
    this.seq = Math.max(this.seq, await this.o.store.lastEventSeq());
    for (const { alert, dedupeKey } of await this.o.store.loadOpen()) {
      const rule = this.o.rules.find((r) => r.name === alert.rule);
      const at = (s: string | null) => (s === null ? null : Date.parse(s));
      const phase: AlertPhase = { phase: alert.state === "firing" ? "firing" : "pending", high: true, pendingSince: at(alert.pending_since), firedAt: at(alert.fired_at), clearSince: null };
      if (!rule) {
        const now = this.o.clock.now();
        await this.emit({ ...alert, state: "resolved", resolved_at: iso(now), details: { ...alert.details, reason: "rule removed from config" } }, "resolved", false, now);
        continue;
      }
      this.tracked.set(dedupeKey, { rule, checkpointId: alert.checkpoint_id ?? "", arm: alert.arm, phase, alert });
    }
    if (history) {
      const now = this.o.clock.now();
      for (const { request, samples } of await history(new Date(now - LONGEST_WINDOW_S * 1000))) this.observe(request, samples);
    }
  }

  /** Merged windows ending now. */
  view(window: WindowName, now = this.o.clock.now(), checkpointId?: string): WindowView[] {
    return this.windows.view(window, now, checkpointId);
  }

  /** Evaluates every rule once; overlapping calls share one evaluation. Resolves with the events published. */
  evaluate(now = this.o.clock.now()): Promise<AlertEvent[]> {
    this.evaluating ??= this.evaluateOnce(now).finally(() => (this.evaluating = null));
    return this.evaluating;
  }

  /** Open alerts by state, for /metrics. */
  openCounts(): Record<"pending" | "firing", number> {
    const counts = { pending: 0, firing: 0 };
    for (const t of this.tracked.values()) if (t.phase.phase !== "inactive") counts[t.phase.phase]++;
    return counts;
  }

  private async evaluateOnce(now: number): Promise<AlertEvent[]> {
    const events: AlertEvent[] = [];
    const views = new Map<WindowName, WindowView[]>();
    const seen = new Set<string>();
    for (const rule of this.o.rules) {
      let list = views.get(rule.window);
      if (!list) views.set(rule.window, (list = this.windows.view(rule.window, now)));
      for (const v of list) {
        if (rule.arm !== "any" && rule.arm !== v.arm) continue;
        const key = `${rule.name}|${v.checkpointId}|${v.arm}`;
        seen.add(key);
        events.push(...(await this.evaluateKey(key, rule, v.checkpointId, v.arm, v.total, now)));
      }
    }
    // Open alerts whose checkpoint/arm has no traffic left in any window: evaluated on an empty window (no data).
    for (const [key, t] of this.tracked) {
      if (!seen.has(key)) events.push(...(await this.evaluateKey(key, t.rule, t.checkpointId, t.arm, new Summary(), now)));
    }
    return events;
  }

  private threshold(rule: AlertRule, checkpointId: string): number | null {
    const key = `${rule.name}|${checkpointId}`;
    if (!this.thresholds.has(key)) this.thresholds.set(key, resolveThreshold(rule, this.o.references(checkpointId)));
    return this.thresholds.get(key)!;
  }

  private async evaluateKey(key: string, rule: AlertRule, checkpointId: string, arm: Arm, total: Summary, now: number): Promise<AlertEvent[]> {
    const threshold = this.threshold(rule, checkpointId);
    if (threshold === null) return [];
    const t = this.tracked.get(key) ?? { rule, checkpointId, arm, phase: INACTIVE, alert: null };
    const rv = ruleValue(rule, total);
    const lifecycle = { comparison: rule.comparison, threshold, hysteresis: rule.hysteresis, minSamples: rule.min_samples, forMs: rule.forMs };
    const { next, transitions } = step(lifecycle, t.phase, now, rv.value, rv.samples);
    const events: AlertEvent[] = [];
    for (const transition of transitions) {
      const alert: AlertJson = {
        id: t.alert?.id ?? 0, rule: rule.name, severity: rule.severity, state: transition, arm, checkpoint_id: checkpointId,
        metric: rule.metric, window: rule.window, statistic: rule.statistic, comparison: rule.comparison, threshold,
        value: rv.value, samples: rv.samples,
        pending_since: iso(transition === "resolved" ? t.phase.pendingSince : next.pendingSince),
        fired_at: iso(transition === "resolved" ? t.phase.firedAt : transition === "firing" ? next.firedAt : null),
        resolved_at: transition === "resolved" ? iso(now) : null,
        details: { ...rv.details, min_samples: rule.min_samples, for: rule.for, hysteresis: rule.hysteresis, ...(transition === "resolved" && t.phase.firedAt === null ? { reason: "cleared before firing" } : {}) },
      };
      const event = await this.emit(alert, transition, rule.auto_rollback, now, key);
      t.alert = event.alert;
      events.push(event);
    }
    t.phase = next;
    if (next.phase === "inactive") this.tracked.delete(key);
    else this.tracked.set(key, t);
    return events;
  }

  /** Persists (insert when it opens, else update), then publishes. A database failure is logged; the event still goes out. */
  private async emit(alert: AlertJson, transition: AlertState, autoRollback: boolean, at: number, dedupeKey?: string): Promise<AlertEvent> {
    const seq = ++this.seq;
    try {
      if (alert.id === 0) alert.id = await this.o.store.open(alert, dedupeKey!, seq);
      else await this.o.store.update(alert, seq);
    } catch (error) {
      this.o.logError(`tether monitor: persisting alert ${alert.rule} (${transition})`, error);
    }
    const event: AlertEvent = { seq, transition, at, alert, autoRollback };
    const counter = `${transition}|${alert.severity}`;
    this.transitions.set(counter, (this.transitions.get(counter) ?? 0) + 1);
    this.o.bus.publish(event);
    return event;
  }
}
