// Everything the alerting needs, built once per app from the config: the monitor (windows + rules), where
// alerts persist, the webhook dispatcher, the SSE hub and the structured log subscriber. createContext
// calls it; the Node entry starts the evaluation timer (startMonitoring) and closes it on shutdown.
import { ConfigError } from "@tether/shared/schemas/common";
import { ruleLabel, type AlertsConfig } from "@tether/shared/schemas/alerts";
import type { EvalReport } from "@tether/shared/schemas/eval";
import type { Db } from "@tether/db/create-db";
import type { Clock } from "../clock";
import { attachAlertLog } from "../delivery/alert-log";
import { AlertStreamHub } from "../delivery/alert-stream";
import { WebhookDispatcher } from "../delivery/webhooks";
import { DbAlertStore, driftHistory } from "../store/alert-db";
import type { AlertBus } from "./alert-bus";
import type { AlertStore } from "./alert-store";
import { defaultAlertRules } from "./default-rules";
import { driftJson } from "./drift-json";
import { MemoryAlertStore } from "./memory-alert-store";
import { DriftMonitor } from "./monitor";
import { compileRule, resolveThreshold, type ReferenceStats } from "./rules";
import { WINDOW_NAMES } from "./windows";

export interface Monitoring {
  monitor: DriftMonitor;
  store: AlertStore;
  webhooks: WebhookDispatcher;
  streams: AlertStreamHub;
  /** Rebuilds from the database (when there is one) and resumes open alerts; call before serving. */
  start(): Promise<void>;
  /**
   * The checkpoints served now (after a promotion, a rollback or a replica sync): eval-relative thresholds
   * are re-derived from each one's own eval.json and guard max_kl at the next evaluation. Checkpoints
   * served earlier keep theirs (their requests still in the windows are judged by their own numbers).
   */
  serve(served: ReadonlyArray<{ id: string; stats: ReferenceStats }>): void;
}

export interface MonitoringDeps {
  config: AlertsConfig;
  policyId: string;
  evalReport: EvalReport | null;
  hasSketch: boolean;
  guardMaxKl: number;
  db: Db | null;
  bus: AlertBus;
  clock: Clock;
  logLine: (line: string) => void;
  logError: (message: string, error: unknown) => void;
}

/** Throws ConfigError (one line per rule) when a configured rule's threshold needs what the policy lacks. */
export function createMonitoring(d: MonitoringDeps): Monitoring {
  // One entry per checkpoint this process has served (a handful: one per promotion), the startup policy first.
  const known = new Map<string, ReferenceStats>([[d.policyId, { eval: d.evalReport, guardMaxKl: d.guardMaxKl, hasSketch: d.hasSketch }]]);
  const references = (id: string): ReferenceStats => known.get(id) ?? { eval: null, guardMaxKl: null, hasSketch: d.hasSketch };
  const configured = d.config.rules;
  const rules = (configured ?? defaultAlertRules(d.evalReport, d.hasSketch)).map(compileRule);
  const problems = configured
    ? configured.flatMap((r, i) =>
        resolveThreshold(r, references(d.policyId)) === null && typeof r.threshold === "object"
          ? [`alerts.rules[${i}] (${ruleLabel(configured, i)}).threshold: {from: "${r.threshold.from}"} needs the policy's ${r.threshold.from === "sketch" ? "sketch.json" : "eval.json"}${r.metric === "kl_max" ? " with kl.per_request_kl_max" : ""}, which is not loaded`]
          : [],
      )
    : [];
  if (problems.length) throw new ConfigError("gateway config", problems);
  const store: AlertStore = d.db ? new DbAlertStore(d.db) : new MemoryAlertStore();
  const monitor = new DriftMonitor({ rules, references, store, bus: d.bus, clock: d.clock, logError: d.logError });
  const webhooks = new WebhookDispatcher({ hooks: d.config.webhooks, store, maxQueue: d.config.webhook_queue, now: () => d.clock.now(), logError: d.logError });
  webhooks.attach(d.bus);
  attachAlertLog(d.bus, d.logLine);
  const shortest = WINDOW_NAMES[0]!;
  const streams = new AlertStreamHub({
    bus: d.bus, store, maxStreams: d.config.max_streams, retained: d.config.retained_events, intervalMs: d.config.stream_interval_s * 1000,
    drift: () => driftJson(shortest, monitor.view(shortest), d.clock.now()), logError: d.logError,
  });
  const serve = (served: ReadonlyArray<{ id: string; stats: ReferenceStats }>) => {
    for (const s of served) known.set(s.id, s.stats);
    // Default rules come from eval.json: a served checkpoint whose eval.json has more (kl_max, sketch) adds
    // the rules it makes possible; a checkpoint without those numbers has no threshold for them (skipped).
    if (!configured) for (const s of served) monitor.addRules(defaultAlertRules(s.stats.eval, s.stats.hasSketch).map(compileRule));
    monitor.setReferences(references); // clears the resolved thresholds: each is re-resolved from `known`
  };
  return { monitor, store, webhooks, streams, start: () => monitor.start(d.db ? driftHistory(d.db) : undefined), serve };
}

/**
 * Evaluates the rules every alerts.evaluate_interval_s (Node entry). Returns stop().
 * @example const stop = startMonitoring(app.context.monitoring, config.alerts.evaluate_interval_s); … stop();
 */
export function startMonitoring(m: Monitoring, intervalS: number, logError: (message: string, error: unknown) => void): () => void {
  const timer = setInterval(() => void m.monitor.evaluate().catch((e: unknown) => logError("tether monitor: evaluation failed", e)), intervalS * 1000);
  (timer as { unref?: () => void }).unref?.();
  return () => clearInterval(timer);
}
