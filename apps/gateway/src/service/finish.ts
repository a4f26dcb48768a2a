// The end of a generation request: the drift-log entry handed to the store and the drift monitor's
// windows (O(1); rules are evaluated on a timer, off the request path), then metrics.
// store.record() normally enqueues in memory and returns at once (the database write leaves the request
// path). Only while the memory buffer is full does it return a promise, settled once the entry is fsync'd
// in a spill file: that is when the entry is safe, so the response waits for it. DriftLogFullError (thrown
// or rejected) propagates so the caller answers 503 without acknowledging the request.
import type { GatewayContext } from "../context";
import type { GuardOutcome } from "../observability/metrics";
import { driftLogEntry, type RequestFacts } from "./record";

function guardOutcome(fallback: string | null, guarded: boolean): GuardOutcome {
  if (!guarded) return "unguarded";
  if (fallback === "reference") return "fallback_reference";
  if (fallback === "least_kl") return "fallback_least_kl";
  return "accepted";
}

function observe(ctx: GatewayContext, facts: RequestFacts): void {
  const m = ctx.metrics;
  const endpoint = facts.meta.endpoint;
  m.requests.inc({ endpoint, status: String(facts.status) });
  m.duration.observe({ endpoint }, (facts.endedAt - facts.meta.arrivedAt) / 1000);
  if (facts.plan) m.tokens.inc({ kind: "prompt" }, facts.plan.prompts.reduce((a, p) => a + p.ids.length, 0));
  const ledger = facts.state?.ledger ?? [];
  m.candidates.inc({}, ledger.length);
  m.tokens.inc({ kind: "candidate" }, ledger.reduce((a, r) => a + r.stats.tokens, 0));
  if (facts.errorCode === "drift_limit_exceeded") m.guard.inc({ outcome: "rejected" });
  for (const choice of facts.result?.choices ?? []) {
    m.tokens.inc({ kind: "completion" }, choice.sequence.tokens.length);
    m.guard.inc({ outcome: guardOutcome(choice.drift.fallback, facts.plan?.guard.enabled ?? false) });
    m.klMean.observe({}, choice.drift.kl_mean);
  }
}

/**
 * Hands the drift-log entry to the store, then counts the request. Throws what store.record throws
 * (DriftLogFullError → the caller answers 503 and calls again with `record: false`).
 * @example await finishRequest(ctx, { meta, model, plan, result, state, status: 200, errorCode: null, endedAt: ctx.clock.now() });
 */
export async function finishRequest(ctx: GatewayContext, facts: RequestFacts, options: { record?: boolean } = {}): Promise<void> {
  if (options.record ?? true) {
    const entry = driftLogEntry(ctx, facts);
    await ctx.store.record(entry);
    // Only acknowledged entries reach the windows, so a restart rebuilds from the database exactly these.
    ctx.monitoring.monitor.observe(entry.request, entry.samples);
  }
  observe(ctx, facts);
}
