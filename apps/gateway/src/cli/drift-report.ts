// The drift-log queries behind `npm run drift`: per checkpoint/arm summary, latest requests, alerts. Plain
// SQL over the drizzle handle so the same statements run on PGlite and PostgreSQL; aggregates are computed
// by the database (percentile_cont is PostgreSQL's linearly interpolated percentile).
import { sql, type SQL } from "drizzle-orm";
import { selectRows, type Db } from "@tether/db";

export interface ReportFilter {
  since: Date | null; // only rows at or after this time
  checkpoint: string | null; // requests.policy_id / alerts.checkpoint_id
  limit: number; // rows for `requests` and `alerts`
}

export interface SummaryRow {
  checkpoint_id: string | null;
  arm: string;
  requests: number;
  errors: number; // status >= 400
  kl_mean: number | null; // mean over requests of requests.kl_mean, nats/token
  kl_p95: number | null;
  rejection_rate: number | null; // guard-refused candidates / candidates drawn by the guard
  fallback_rate: number | null; // requests answered by a fallback / requests
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  first_at: string;
  last_at: string;
}

export interface RequestRow {
  id: string;
  created_at: string;
  checkpoint_id: string | null;
  arm: string;
  endpoint: string;
  kl_mean: number | null;
  accepted: number;
  n: number;
  fallback: string | null;
  status: number;
  total_ms: number;
}

export interface AlertRow {
  id: number;
  state: string;
  severity: string;
  rule: string;
  checkpoint_id: string | null;
  arm: string;
  metric: string | null;
  window: string | null;
  statistic: string | null;
  comparison: string | null;
  threshold: number | null;
  value: number | null;
  samples: number | null;
  since: string;
  fired_at: string | null;
  resolved_at: string | null;
}

const iso = (v: unknown): string => (v instanceof Date ? v : new Date(String(v))).toISOString();
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function requestWhere(f: ReportFilter, alias = "r"): SQL {
  const parts: SQL[] = [sql`true`];
  if (f.since) parts.push(sql`${sql.identifier(alias)}.created_at >= ${f.since.toISOString()}::timestamptz`);
  if (f.checkpoint) parts.push(sql`${sql.identifier(alias)}.policy_id = ${f.checkpoint}`);
  return sql.join(parts, sql` and `);
}

/** One row per (checkpoint, arm) with traffic in the filter, busiest first. */
export async function summary(db: Db, f: ReportFilter): Promise<SummaryRow[]> {
  const rows = await selectRows<Record<string, unknown>>(
    db,
    sql`
    with r as (select * from requests r where ${requestWhere(f)}),
    -- one row per candidate the guard drew (drift_samples has one row per monitored layer of it)
    c as (
      select r.policy_id, r.arm, s.request_id, s.round, s.candidate, bool_and(s.accepted) as accepted
      from drift_samples s join r on r.id = s.request_id and r.created_at = s.created_at
      where r.guard_mode is not null
      group by r.policy_id, r.arm, s.request_id, s.round, s.candidate
    ),
    rej as (
      select policy_id, arm, count(*) filter (where not accepted)::float8 / nullif(count(*), 0) as rejection_rate
      from c group by policy_id, arm
    ),
    agg as (
      select policy_id, arm, count(*)::int as requests, count(*) filter (where status >= 400)::int as errors,
        avg(kl_mean) as kl_mean, percentile_cont(0.95) within group (order by kl_mean) as kl_p95,
        count(*) filter (where fallback is not null)::float8 / count(*) as fallback_rate,
        percentile_cont(0.5) within group (order by total_ms) as latency_p50_ms,
        percentile_cont(0.95) within group (order by total_ms) as latency_p95_ms,
        min(created_at) as first_at, max(created_at) as last_at
      from r group by policy_id, arm
    )
    select agg.*, rej.rejection_rate from agg
    left join rej on rej.policy_id is not distinct from agg.policy_id and rej.arm = agg.arm
    order by agg.requests desc, agg.policy_id, agg.arm`,
  );
  return rows.map((r) => ({
    checkpoint_id: (r.policy_id as string | null) ?? null,
    arm: String(r.arm),
    requests: Number(r.requests),
    errors: Number(r.errors),
    kl_mean: num(r.kl_mean),
    kl_p95: num(r.kl_p95),
    rejection_rate: num(r.rejection_rate),
    fallback_rate: num(r.fallback_rate),
    latency_p50_ms: num(r.latency_p50_ms),
    latency_p95_ms: num(r.latency_p95_ms),
    first_at: iso(r.first_at),
    last_at: iso(r.last_at),
  }));
}

/** The latest `limit` requests, newest first. */
export async function latestRequests(db: Db, f: ReportFilter): Promise<RequestRow[]> {
  const rows = await selectRows<Record<string, unknown>>(
    db,
    sql`select id, created_at, policy_id, arm, endpoint, kl_mean, accepted, n, fallback, status, total_ms
        from requests r where ${requestWhere(f)} order by created_at desc, id limit ${f.limit}`,
  );
  return rows.map((r) => ({
    id: String(r.id),
    created_at: iso(r.created_at),
    checkpoint_id: (r.policy_id as string | null) ?? null,
    arm: String(r.arm),
    endpoint: String(r.endpoint),
    kl_mean: num(r.kl_mean),
    accepted: Number(r.accepted),
    n: Number(r.n),
    fallback: (r.fallback as string | null) ?? null,
    status: Number(r.status),
    total_ms: Number(r.total_ms),
  }));
}

/** Alerts open at some time since `since` (still open, or resolved after it), newest first. */
export async function alertList(db: Db, f: ReportFilter): Promise<AlertRow[]> {
  const parts: SQL[] = [sql`true`];
  if (f.since) parts.push(sql`(a.resolved_at is null or a.resolved_at >= ${f.since.toISOString()}::timestamptz)`);
  if (f.checkpoint) parts.push(sql`a.checkpoint_id = ${f.checkpoint}`);
  const rows = await selectRows<Record<string, unknown>>(
    db,
    sql`select id, state, severity, rule, checkpoint_id, arm, metric, "window", statistic, comparison, threshold, value,
          samples, since, fired_at, resolved_at
        from alerts a where ${sql.join(parts, sql` and `)} order by a.since desc, a.id desc limit ${f.limit}`,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    state: String(r.state),
    severity: String(r.severity),
    rule: String(r.rule),
    checkpoint_id: (r.checkpoint_id as string | null) ?? null,
    arm: String(r.arm),
    metric: (r.metric as string | null) ?? null,
    window: (r.window as string | null) ?? null,
    statistic: (r.statistic as string | null) ?? null,
    comparison: (r.comparison as string | null) ?? null,
    threshold: num(r.threshold),
    value: num(r.value),
    samples: num(r.samples),
    since: iso(r.since),
    fired_at: isoOrNull(r.fired_at),
    resolved_at: isoOrNull(r.resolved_at),
  }));
}
