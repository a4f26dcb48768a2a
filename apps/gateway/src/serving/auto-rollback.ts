// Auto-rollback: an alert that fires on the canary arm, from a rule that asks for it (mon's rules: on by
// default for critical ones, `auto_rollback` per rule), ends the canary at once; the audit row names the
// alert. The bus listener only enqueues the rollback (AlertBus listeners must not block).
import { HttpError } from "../http/errors";
import type { AlertBus, AlertEvent } from "../monitor/alert-bus";
import type { Registry } from "./registry";

/** The actor of automatic rollbacks in the promotions table. */
export const AUTO_ROLLBACK_ACTOR = "auto-rollback";

/** Whether this event should end the canary it names. */
export function triggersRollback(e: AlertEvent, canaryId: string | null): boolean {
  return e.transition === "firing" && e.autoRollback && e.alert.arm === "canary" && canaryId !== null && e.alert.checkpoint_id === canaryId;
}

/**
 * @example const stop = attachAutoRollback(registry, ctx.alerts); … stop();
 */
export function attachAutoRollback(registry: Registry, alerts: AlertBus): () => void {
  return alerts.subscribe((e) => {
    const canary = registry.ctx.serving.state.canary?.id ?? null;
    if (!triggersRollback(e, canary)) return;
    const a = e.alert;
    const reason = `alert ${a.id} (${a.rule}, ${a.severity}): ${a.statistic} ${a.metric} over ${a.window} = ${a.value} ${a.comparison} ${a.threshold}`;
    registry.rollback({ actor: AUTO_ROLLBACK_ACTOR, reason, alertId: a.id, onlyCanary: canary! }).then(
      (audit) => console.error(`tether: auto-rollback: canary ${canary} rolled back after ${reason} (promotion ${audit.id})`),
      (error: unknown) => {
        // Several replicas see the same canary drift: the first one's rollback wins (registry lock), the
        // others find the canary gone, which is the outcome they wanted.
        if (error instanceof HttpError && error.response.body.error.code === "not_canary") console.error(`tether: auto-rollback: canary ${canary} was already rolled back (another replica), alert ${a.id}`);
        else registry.ctx.logError(`tether: auto-rollback of ${canary} after alert ${a.id} failed`, error);
      },
    );
  });
}
