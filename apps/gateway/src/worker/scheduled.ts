// The Cron Trigger's work (wrangler.toml [triggers] crons): write drift-log entries an earlier pass kept in
// memory (the database was down), then evaluate the alert rules over the drift log in PostgreSQL with the
// same monitor as Node (monitor/monitoring.ts): windows rebuilt from the last hour of `requests` and
// `drift_samples` rows, open alerts resumed from `alerts` (so a pending alert fires once its `for` has passed
// across cron runs), each transition persisted and its webhooks delivered before the run ends.
import { AlertBus, type AlertEvent } from "../monitor/alert-bus";
import { createMonitoring } from "../monitor/monitoring";
import { openDb } from "./database";
import type { WorkerGateway } from "./gateway";

/**
 * @example const events = await runScheduled(gateway, new Date(controller.scheduledTime));
 */
export async function runScheduled(gw: WorkerGateway, now: Date): Promise<AlertEvent[]> {
  await gw.store.flush();
  const ctx = gw.app.context;
  const monitoring = createMonitoring({
    config: gw.config.alerts,
    policyId: ctx.policy.info.id,
    evalReport: ctx.evalReport,
    hasSketch: ctx.sketch !== null,
    guardMaxKl: ctx.guardDefaults.maxKl,
    db: openDb(gw.databaseUrl), // this invocation's client: workerd ties sockets to the event that opened them
    bus: new AlertBus((e) => ctx.logError("tether worker: alert listener failed", e)),
    clock: ctx.clock,
    logLine: (line) => console.log(line),
    logError: ctx.logError,
  });
  await monitoring.start();
  const events = await monitoring.monitor.evaluate(now.getTime());
  await monitoring.webhooks.drained();
  return events;
}
