// AlertStore on the drift log's database (drizzle; PGlite or PostgreSQL): the `alerts` rows the monitor
// opens and updates in place, the `webhook_deliveries` log, and the history a restarted monitor rebuilds
// its windows from (one query per table over the longest window).
import { alerts, driftSamples, requests, webhookDeliveries, type Alert } from "@tether/db/schema";
import type { Db } from "@tether/db/create-db";
import { and, asc, desc, eq, gt, inArray, isNotNull, max, sql } from "drizzle-orm";
import type { AlertJson, AlertState } from "../monitor/alert-bus";
import type { AlertStore, NewDelivery, OpenAlert } from "../monitor/alert-store";
import type { DriftHistory } from "../monitor/monitor";
import type { SampleRowLike } from "../monitor/observation";

const OPEN_STATES: AlertState[] = ["pending", "firing"];
const iso = (d: Date | null) => (d === null ? null : d.toISOString());
const date = (s: string | null) => (s === null ? null : new Date(s));

export function alertJsonOf(row: Alert): AlertJson {
  return {
    id: row.id, rule: row.rule, severity: row.severity, state: row.state, arm: row.arm, checkpoint_id: row.checkpointId,
    metric: row.metric ?? "", window: row.window ?? "", statistic: row.statistic ?? "", comparison: row.comparison ?? "",
    threshold: row.threshold ?? Number.NaN, value: row.value, samples: row.samples ?? 0, pending_since: iso(row.pendingSince),
    fired_at: iso(row.firedAt), resolved_at: iso(row.resolvedAt), details: (row.details as Record<string, unknown> | null) ?? {},
  };
}

function columns(a: Omit<AlertJson, "id">, eventSeq: number) {
  return {
    rule: a.rule, state: a.state, checkpointId: a.checkpoint_id, severity: a.severity, arm: a.arm, metric: a.metric, window: a.window,
    statistic: a.statistic, comparison: a.comparison, threshold: a.threshold, value: a.value, samples: a.samples,
    pendingSince: date(a.pending_since), firedAt: date(a.fired_at), resolvedAt: date(a.resolved_at), details: a.details, eventSeq,
  };
}

/**
 * @example const store = new DbAlertStore(handle.db); await store.list({ state: "firing", limit: 50 });
 */
export class DbAlertStore implements AlertStore {
  constructor(private readonly db: Db) {}

  async loadOpen(): Promise<OpenAlert[]> {
    const rows = await this.db.select().from(alerts).where(and(inArray(alerts.state, OPEN_STATES), isNotNull(alerts.dedupeKey)));
    return rows.map((r) => ({ alert: alertJsonOf(r), dedupeKey: r.dedupeKey! }));
  }

  async lastEventSeq(): Promise<number> {
    const [row] = await this.db.select({ seq: max(alerts.eventSeq) }).from(alerts);
    return row?.seq ?? 0;
  }

  async open(a: Omit<AlertJson, "id">, dedupeKey: string, eventSeq: number): Promise<number> {
    const values = { ...columns(a, eventSeq), dedupeKey, since: date(a.pending_since) ?? new Date() };
    // ON CONFLICT on the partial unique index (one open row per key): a restarted or racing monitor
    // updates the row that is still open instead of inserting a second one.
    const [row] = await this.db
      .insert(alerts)
      .values(values)
      .onConflictDoUpdate({ target: alerts.dedupeKey, targetWhere: sql`state in ('pending', 'firing')`, set: { ...columns(a, eventSeq), pendingSince: sql`${alerts.pendingSince}` } })
      .returning({ id: alerts.id });
    return row!.id;
  }

  async update(a: AlertJson, eventSeq: number): Promise<void> {
    await this.db.update(alerts).set(columns(a, eventSeq)).where(eq(alerts.id, a.id));
  }

  async list(filter: { state?: AlertState; limit: number }): Promise<AlertJson[]> {
    const q = this.db.select().from(alerts);
    const rows = await (filter.state ? q.where(eq(alerts.state, filter.state)) : q).orderBy(desc(alerts.id)).limit(filter.limit);
    return rows.map(alertJsonOf);
  }

  async changedSince(seq: number, limit: number): Promise<Array<{ seq: number; alert: AlertJson }>> {
    const rows = await this.db.select().from(alerts).where(gt(alerts.eventSeq, seq)).orderBy(asc(alerts.eventSeq)).limit(limit);
    return rows.map((r) => ({ seq: r.eventSeq, alert: alertJsonOf(r) }));
  }

  async recordDelivery(row: NewDelivery): Promise<void> {
    await this.db.insert(webhookDeliveries).values(row);
  }
}

/**
 * The monitor's rebuild source: requests (with a checkpoint) and their drift samples since a time, in
 * arrival order, samples in (round, candidate, layer) order as the live ledger has them.
 */
export function driftHistory(db: Db): DriftHistory {
  return async (since) => {
    const reqs = await db
      .select({ id: requests.id, createdAt: requests.createdAt, policyId: requests.policyId, arm: requests.arm, guardMode: requests.guardMode, fallback: requests.fallback, errorCode: requests.errorCode, klMean: requests.klMean, totalMs: requests.totalMs })
      .from(requests)
      .where(and(gt(requests.createdAt, since), isNotNull(requests.policyId)))
      .orderBy(asc(requests.createdAt), asc(requests.id));
    const samples = await db
      .select({ requestId: driftSamples.requestId, createdAt: driftSamples.createdAt, layer: driftSamples.layer, choiceIndex: driftSamples.choiceIndex, klMax: driftSamples.klMax, accepted: driftSamples.accepted, sketchPercentile: driftSamples.sketchPercentile })
      .from(driftSamples)
      .where(gt(driftSamples.createdAt, since))
      .orderBy(asc(driftSamples.createdAt), asc(driftSamples.requestId), asc(driftSamples.round), asc(driftSamples.candidate), asc(driftSamples.layer));
    const byRequest = new Map<string, SampleRowLike[]>();
    for (const s of samples) {
      const key = `${s.createdAt.getTime()}|${s.requestId}`;
      let list = byRequest.get(key);
      if (!list) byRequest.set(key, (list = []));
      list.push(s);
    }
    return reqs.map((r) => ({ request: r, samples: byRequest.get(`${r.createdAt.getTime()}|${r.id}`) ?? [] }));
  };
}
