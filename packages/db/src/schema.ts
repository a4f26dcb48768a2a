// Drift-log schema (drizzle pg-core): checkpoints, promotions, admin_tokens, api_keys, requests, drift_samples, alerts, webhook_deliveries, each next to its inferred types.
//
// Conventions
// - Small closed sets are `text` + a CHECK constraint (typed in TypeScript through `text({ enum })`), not
//   pgEnum: a CHECK is ordinary DDL that drizzle-kit diffs as drop/add, while changing a PostgreSQL enum
//   needs ALTER TYPE (values cannot be removed) outside the migration's transaction on older servers.
// - KL values, ratios and millisecond timings are double precision; token counts and indices integer.
// - Every timestamp is timestamptz.
//
// Per-request tables (`requests`, `drift_samples`) are designed for time partitioning:
// - the partition key `created_at` leads every primary key (PostgreSQL requires the partition key in every
//   unique constraint of a partitioned table), so each PK is also the btree index for time-range scans,
//   used by the retention job and by drift windows;
// - no foreign key points at or out of them (a per-request FK would make every write a lookup and
//   would have to include created_at; drift_samples.request_id is a plain column, joined on
//   (created_at, request_id));
// - drift_samples.created_at is copied from its request, so a request and its samples fall in the same
//   partition and are dropped together.
// They are NOT partitioned by default, because drizzle-kit cannot express `PARTITION BY` (it would
// emit a plain CREATE TABLE and later diffs would fight a hand-edited one), and the default database is
// an embedded single-user PGlite where one table with a created_at index is simpler and fast enough.
// To partition on a real PostgreSQL, in a hand-written migration after the generated ones:
//   ALTER TABLE requests RENAME TO requests_old;
//   CREATE TABLE requests (LIKE requests_old INCLUDING ALL) PARTITION BY RANGE (created_at);
//     -- LIKE … INCLUDING ALL copies defaults, checks and the (created_at, id) PK, which is legal
//     -- on a partitioned table because it contains the partition key.
//   CREATE TABLE requests_2025_01 PARTITION OF requests FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');
//   INSERT INTO requests SELECT * FROM requests_old; DROP TABLE requests_old;
//   ALTER INDEX requests_pkey1 RENAME TO requests_pkey;  -- and the other copied indexes, so that
//     -- later drizzle-kit diffs still find the names of the generated migration
// (the same for drift_samples), create next month's partition ahead of time (cron or pg_partman), and
// retention becomes `DROP TABLE requests_2025_01` instead of batched deletes (see retention.ts).
import { sql, type SQL } from "drizzle-orm";
import {
  boolean,
  check,
  uniqueIndex,
  doublePrecision,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  type AnyPgColumn,
} from "drizzle-orm/pg-core";

export const checkpointKinds = ["reference", "policy"] as const;
export const checkpointStatuses = ["registered", "active", "canary", "retired"] as const;
export const promotionActions = ["promote", "canary", "rollback"] as const;
export const endpoints = ["completions", "chat.completions"] as const;
export const guardModes = ["hard", "soft"] as const;
export const fallbacks = ["reference", "least_kl", "reject"] as const;
export const alertStates = ["pending", "firing", "resolved"] as const;
export const trafficArms = ["active", "canary"] as const;
export const alertSeverities = ["warning", "critical"] as const;

/** `column IN ('a', 'b')` for a CHECK constraint; values are our own literals, inlined because DDL takes no parameters. */
function oneOf(column: AnyPgColumn, values: readonly string[]): SQL {
  return sql`${column} in (${sql.raw(values.map((v) => `'${v.replace(/'/g, "''")}'`).join(", "))})`;
}

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

/** Checkpoint registry: one row per checkpoint directory, keyed by its manifest id. */
export const checkpoints = pgTable(
  "checkpoints",
  {
    id: text("id").primaryKey(), // manifest.json id
    kind: text("kind", { enum: checkpointKinds }).notNull(),
    parentId: text("parent_id"), // checkpoint it was fine-tuned from; no FK: parents need not be registered
    referenceId: text("reference_id"), // frozen reference it is anchored to (policies)
    path: text("path").notNull(), // checkpoint directory
    manifest: jsonb("manifest").notNull(), // manifest.json as read
    eval: jsonb("eval"), // eval.json, null until evaluated
    status: text("status", { enum: checkpointStatuses }).notNull().default("registered"),
    canaryPercent: doublePrecision("canary_percent"), // share of traffic in percent while status = 'canary'
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    updatedAt: timestamptz("updated_at")
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date()),
  },
  (t) => [
    check("checkpoints_kind_check", oneOf(t.kind, checkpointKinds)),
    check("checkpoints_status_check", oneOf(t.status, checkpointStatuses)),
    check("checkpoints_canary_percent_check", sql`${t.canaryPercent} between 0 and 100`),
    index("checkpoints_status_idx").on(t.status),
  ],
);
export type Checkpoint = typeof checkpoints.$inferSelect;
export type NewCheckpoint = typeof checkpoints.$inferInsert;

/** Audit trail of promotions, canaries and rollbacks; rows are only ever inserted. */
export const promotions = pgTable(
  "promotions",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    checkpointId: text("checkpoint_id").notNull(),
    previousCheckpointId: text("previous_checkpoint_id"), // the active one it replaced, for rollback
    action: text("action", { enum: promotionActions }).notNull(),
    canaryPercent: doublePrecision("canary_percent"),
    forced: boolean("forced").notNull().default(false), // gate failed and was overridden
    reason: text("reason"),
    actor: text("actor"), // who asked (admin token name)
    gate: jsonb("gate"), // eval.json gate results at decision time
    alertId: integer("alert_id"), // the drift alert that triggered an automatic rollback; null otherwise
    createdAt: timestamptz("created_at").notNull().defaultNow(),
  },
  (t) => [
    // Audit rows must keep pointing at real checkpoints: deleting an audited checkpoint is refused.
    foreignKey({ name: "promotions_checkpoint_fk", columns: [t.checkpointId], foreignColumns: [checkpoints.id] }),
    foreignKey({
      name: "promotions_previous_checkpoint_fk",
      columns: [t.previousCheckpointId],
      foreignColumns: [checkpoints.id],
    }),
    check("promotions_action_check", oneOf(t.action, promotionActions)),
    check("promotions_canary_percent_check", sql`${t.canaryPercent} between 0 and 100`),
    index("promotions_created_at_idx").on(t.createdAt),
    index("promotions_checkpoint_idx").on(t.checkpointId, t.createdAt),
  ],
);
export type Promotion = typeof promotions.$inferSelect;
export type NewPromotion = typeof promotions.$inferInsert;

/** Named admin bearer tokens: only the sha256 of the secret is stored; revoked rows stay for the audit trail. */
export const adminTokens = pgTable("admin_tokens", {
  name: text("name").primaryKey(), // shown as the actor of promotions
  sha256: text("sha256").notNull().unique(), // hex sha256 of the secret
  createdAt: timestamptz("created_at").notNull().defaultNow(),
  revokedAt: timestamptz("revoked_at"), // set by `token revoke`; a revoked token is refused (403)
});
export type AdminToken = typeof adminTokens.$inferSelect;
export type NewAdminToken = typeof adminTokens.$inferInsert;

/**
 * API keys of /v1/* issued with `npm run admin -- api-key create`: like admin tokens, only the sha256 of the
 * secret is stored and revoked rows stay. Accepted next to config `api_keys`; once this table has any row,
 * /v1/* needs a key (revoking the last key does not reopen the gateway).
 */
export const apiKeys = pgTable("api_keys", {
  name: text("name").primaryKey(), // who the key was issued to; the key itself is never stored or logged
  sha256: text("sha256").notNull().unique(), // hex sha256 of the secret
  createdAt: timestamptz("created_at").notNull().defaultNow(),
  revokedAt: timestamptz("revoked_at"), // set by `api-key revoke`: the key is refused (401)
  expiresAt: timestamptz("expires_at"), // optional end of validity (`--expires-in`): refused (401) from then on
});
export type ApiKey = typeof apiKeys.$inferSelect;
export type NewApiKey = typeof apiKeys.$inferInsert;

/** One row per gateway request (partition-ready: PK (created_at, id), no FKs). */
export const requests = pgTable(
  "requests",
  {
    id: text("id").notNull(), // x-tether-request-id; unique in practice (random), enforced with created_at
    // No default on purpose: the writer sets it when the request arrives, so a replayed batch carries the
    // same primary key and ON CONFLICT DO NOTHING recognises it (a now() default would duplicate it).
    createdAt: timestamptz("created_at").notNull(),
    endpoint: text("endpoint", { enum: endpoints }).notNull(),
    model: text("model").notNull(), // model name the client asked for
    policyId: text("policy_id"), // served policy checkpoint; null if the request failed before routing
    referenceId: text("reference_id"), // reference checkpoint that scored it
    endUser: text("end_user"), // OpenAI `user` field ("user" is a reserved word in SQL)
    n: integer("n").notNull().default(1),
    promptTokens: integer("prompt_tokens").notNull().default(0),
    completionTokens: integer("completion_tokens").notNull().default(0),
    status: integer("status").notNull(), // HTTP status returned
    guardMode: text("guard_mode", { enum: guardModes }), // null: guard off
    guardMaxKl: doublePrecision("guard_max_kl"), // nats/token
    guardCandidates: integer("guard_candidates"), // k per round
    guardMaxRounds: integer("guard_max_rounds"), // configured limit
    rounds: integer("rounds"), // rounds actually used
    accepted: integer("accepted").notNull().default(0), // choices that passed the guard
    fallback: text("fallback", { enum: fallbacks }), // fallback used for at least one choice, else null
    klMean: doublePrecision("kl_mean"), // mean over returned choices of their kl_mean (nats/token)
    queueMs: doublePrecision("queue_ms"),
    generateMs: doublePrecision("generate_ms"),
    guardMs: doublePrecision("guard_ms"),
    totalMs: doublePrecision("total_ms").notNull(),
    errorCode: text("error_code"), // OpenAI error code when status >= 400
    arm: text("arm", { enum: trafficArms }).notNull().default("active"), // traffic arm that served it (promotions: canary)
  },
  (t) => [
    primaryKey({ name: "requests_pkey", columns: [t.createdAt, t.id] }),
    index("requests_id_idx").on(t.id), // lookup by request id alone
    index("requests_policy_created_at_idx").on(t.policyId, t.createdAt), // drift window per checkpoint
    check("requests_endpoint_check", oneOf(t.endpoint, endpoints)),
    check("requests_guard_mode_check", oneOf(t.guardMode, guardModes)),
    check("requests_fallback_check", oneOf(t.fallback, fallbacks)),
    check("requests_arm_check", oneOf(t.arm, trafficArms)),
    check("requests_counts_check", sql`${t.n} >= 1 and ${t.promptTokens} >= 0 and ${t.completionTokens} >= 0`),
  ],
);
export type Request = typeof requests.$inferSelect;
export type NewRequest = typeof requests.$inferInsert;

/** One row per candidate per monitored layer of a request (partition-ready, like `requests`). */
export const driftSamples = pgTable(
  "drift_samples",
  {
    requestId: text("request_id").notNull(),
    createdAt: timestamptz("created_at").notNull(), // copied from the request: same partition
    round: integer("round").notNull(), // 0-based guard round
    candidate: integer("candidate").notNull(), // 0-based index in sampling order within the round
    choiceIndex: integer("choice_index"), // index in the response's choices when returned, else null
    layer: integer("layer").notNull(), // monitored layer; -1 = token-KL-only row (model without sketch)
    klMean: doublePrecision("kl_mean").notNull(), // Σ_t KL(π_θ‖π_ref)_t / T, nats/token
    klMax: doublePrecision("kl_max").notNull(),
    klSum: doublePrecision("kl_sum").notNull(),
    logRatio: doublePrecision("log_ratio").notNull(), // Σ_t log π_θ(y_t) − log π_ref(y_t)
    accepted: boolean("accepted").notNull(),
    sketchScore: doublePrecision("sketch_score"), // per-layer drift score; null on layer -1
    sketchPercentile: doublePrecision("sketch_percentile"), // of the score in the reference summary, 0–100
  },
  (t) => [
    primaryKey({ name: "drift_samples_pkey", columns: [t.createdAt, t.requestId, t.round, t.candidate, t.layer] }),
    check("drift_samples_index_check", sql`${t.round} >= 0 and ${t.candidate} >= 0 and ${t.layer} >= -1`),
    check("drift_samples_percentile_check", sql`${t.sketchPercentile} between 0 and 100`),
  ],
);
export type DriftSample = typeof driftSamples.$inferSelect;
export type NewDriftSample = typeof driftSamples.$inferInsert;

/**
 * Alert instances (apps/gateway/src/monitor): a rule's condition holds (pending), holds for the rule's
 * `for` duration (firing), then clears past the hysteresis band (resolved); the row is updated in place
 * at each transition with the values that caused it. At most one open (pending or firing) row per
 * dedupe_key (rule + checkpoint + arm): a restarted gateway re-opens that row instead of adding another.
 */
export const alerts = pgTable(
  "alerts",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    rule: text("rule").notNull(),
    state: text("state", { enum: alertStates }).notNull(),
    checkpointId: text("checkpoint_id"), // no FK: the served checkpoint may not be registered
    since: timestamptz("since").notNull(), // when the row opened (= pending_since for monitor rows)
    resolvedAt: timestamptz("resolved_at"),
    value: doublePrecision("value"), // observed value of the rule's metric at the last transition
    threshold: doublePrecision("threshold"), // resolved threshold (reference-relative specs made concrete)
    details: jsonb("details"),
    updatedAt: timestamptz("updated_at")
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date()),
    severity: text("severity", { enum: alertSeverities }).notNull().default("warning"),
    arm: text("arm", { enum: trafficArms }).notNull().default("active"),
    metric: text("metric"), // kl_mean, kl_max, rejection_rate, … (monitor/rules.ts)
    window: text("window"), // 1m, 5m, 1h
    statistic: text("statistic"), // mean, p50, p95, p99, max, rate
    comparison: text("comparison"), // >, >=, <, <=
    samples: integer("samples"), // observations in the window at the last transition
    pendingSince: timestamptz("pending_since"),
    firedAt: timestamptz("fired_at"),
    dedupeKey: text("dedupe_key"), // rule|checkpoint|arm; unique among open rows
    eventSeq: integer("event_seq").notNull().default(0), // SSE event id of the row's last transition
  },
  (t) => [
    check("alerts_state_check", oneOf(t.state, alertStates)),
    check("alerts_severity_check", oneOf(t.severity, alertSeverities)),
    check("alerts_arm_check", oneOf(t.arm, trafficArms)),
    index("alerts_state_since_idx").on(t.state, t.since),
    index("alerts_rule_idx").on(t.rule, t.checkpointId),
    index("alerts_event_seq_idx").on(t.eventSeq),
    uniqueIndex("alerts_open_dedupe_idx").on(t.dedupeKey).where(sql`state in ('pending', 'firing')`),
  ],
);
export type Alert = typeof alerts.$inferSelect;
export type NewAlert = typeof alerts.$inferInsert;

/** One row per webhook delivery attempt of an alert event (the delivery log). */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    url: text("url").notNull(),
    event: text("event").notNull(), // alert.pending, alert.firing, alert.resolved
    eventSeq: integer("event_seq").notNull(), // the alert event's SSE id
    alertId: integer("alert_id"), // no FK: deliveries outlive pruned alerts
    attempt: integer("attempt").notNull(), // 1-based
    status: integer("status"), // HTTP status, null when no answer (timeout, refused)
    ok: boolean("ok").notNull(),
    error: text("error"), // why it failed, null when ok
    durationMs: doublePrecision("duration_ms").notNull(),
    createdAt: timestamptz("created_at").notNull(),
  },
  (t) => [index("webhook_deliveries_created_at_idx").on(t.createdAt), index("webhook_deliveries_alert_idx").on(t.alertId)],
);
export type WebhookDelivery = typeof webhookDeliveries.$inferSelect;
export type NewWebhookDelivery = typeof webhookDeliveries.$inferInsert;
