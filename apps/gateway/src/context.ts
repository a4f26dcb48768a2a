// The app's injected dependencies and what createApp derives from them once (guard defaults, served model
// name, chat template, scheduler, metrics). Handlers and services receive this context, never globals.
import { driftGuardDefaults, type DriftGuardDefaults } from "@tether/shared/schemas/drift-guard";
import type { EvalReport } from "@tether/shared/schemas/eval";
import type { GatewayConfig } from "@tether/shared/schemas/gateway-config";
import { ConfigError } from "@tether/shared/schemas/common";
import type { SketchReference } from "@tether/shared/sketch/reference";
import { ChatTemplate } from "./chat/template";
import { systemClock, type Clock } from "./clock";
import type { InferenceEngine } from "./engine/engine";
import { errorText, type Logger } from "./observability/log";
import { GatewayMetrics } from "./observability/metrics";
import { Scheduler } from "./scheduler";
import type { DriftStore } from "./store/drift-store";
import { pairProblems } from "./serving/served-policy";
import { ServingSet } from "./serving/serving-set";
import type { CheckpointLoader } from "./serving/checkpoint-loader";
import { Registry, type ReferenceFacts } from "./serving/registry";
import { RegistryStore } from "./serving/registry-store";
import type { Db } from "@tether/db/create-db";
import { bootstrapAuthenticator, type AdminAuthenticator } from "./admin/auth";
import { AlertBus } from "./monitor/alert-bus";
import type { DashboardAssets } from "./dashboard/assets";
import { createMonitoring, type Monitoring } from "./monitor/monitoring";
import { runInProcess, type EnginePoolStatus, type JobRunner } from "./guard/job-runner";

export interface AppDeps {
  policy: InferenceEngine; // the served, fine-tuned checkpoint
  reference: InferenceEngine; // its frozen reference: scores every answer, generates fallbacks
  store: DriftStore; // drift log (store/batched-writer.ts; store/memory-store.ts in tests)
  config: GatewayConfig; // parsed (loadGatewayConfig)
  clock?: Clock; // default: wall clock
  evalReport?: EvalReport | null; // the policy's eval.json: default max_kl is its percentile
  sketch?: SketchReference | null; // the policy's sketch.json: per-layer activation drift scores
  /** Unexpected errors (our bugs); default: an error line on `log`, else console.error. */
  logError?: (message: string, error: unknown, requestId?: string) => void;
  /** Structured log (observability/log.ts): one access line per request, errors; default none. */
  log?: Logger;
  /** One-line warnings about a served request (text the tokenizer cannot represent); default console.warn. */
  logWarning?: (line: string) => void;
  /** Seed of requests that send none; default crypto-random. Tests pin it. */
  randomSeed?: () => bigint;
  /** Request id; default a random UUID without dashes. */
  newRequestId?: () => string;
  /** Admin bearer-token check; default the bootstrap token (config admin_token / TETHER_ADMIN_TOKEN). */
  adminAuth?: AdminAuthenticator;
  /** The drift log's database (drizzle, PGlite or PostgreSQL): alerts, windows rebuilt at start. Absent: in memory only. */
  db?: Db | null;
  /** Checkpoint registry (promotions): how to open checkpoints (Node: serving/node-loader.ts) and the reference's facts. Needs db. */
  checkpoints?: { loader: CheckpointLoader; reference: ReferenceFacts };
  /** The dashboard's files as text (dashboard/assets.ts); absent: no /dashboard. */
  dashboardAssets?: DashboardAssets | null;
  /** One structured (JSON) log line per alert transition; default console.log. */
  logLine?: (line: string) => void;
  /** Where prompt jobs run; default on this thread. Node's engine pool (engine/pool-node.ts) runs them in worker threads. */
  runJob?: JobRunner;
  /** The engine pool's capacity for /readyz; absent: engines run on this thread. */
  enginePool?: { status(): EnginePoolStatus } | null;
}

export interface GatewayContext {
  policy: InferenceEngine;
  reference: InferenceEngine;
  store: DriftStore;
  config: GatewayConfig;
  clock: Clock;
  sketch: SketchReference | null;
  guardDefaults: DriftGuardDefaults;
  modelName: string; // id on /v1/models and in every response
  chatTemplate: ChatTemplate | null;
  scheduler: Scheduler;
  metrics: GatewayMetrics;
  startedS: number; // Unix seconds: /v1/models `created`
  logError: (message: string, error: unknown, requestId?: string) => void;
  log: Logger | null;
  logWarning: (line: string) => void;
  randomSeed: () => bigint;
  newRequestId: () => string;
  /** What is served now (active, canary); requests lease their policy here (serving/serving-set.ts). */
  serving: ServingSet;
  /** Checkpoint registry and promotions; null without a database and checkpoint loader (admin POSTs answer 501). */
  registry: Registry | null;
  adminAuth: AdminAuthenticator; // admin/auth.ts requireAdmin asks it
  alerts: AlertBus; // alert lifecycle transitions (monitor/): SSE, webhooks, logs, metrics, auto-rollback
  evalReport: EvalReport | null; // the served policy's eval.json
  db: Db | null;
  monitoring: Monitoring; // windows, rules, alert store, webhooks, SSE hub (monitor/monitoring.ts)
  runJob: JobRunner; // guard/job-runner.ts: this thread, or an engine worker
  enginePool: { status(): EnginePoolStatus } | null;
}

function errorLine(log: Logger): GatewayContext["logError"] {
  return (message, error, requestId) => log({ level: "error", msg: message, ...(requestId ? { request_id: requestId } : {}), error: errorText(error) });
}

function cryptoSeed(): bigint {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return (BigInt(words[0]!) << 32n) | BigInt(words[1]!);
}

/** Validates the pair and derives the context; throws ConfigError on a mismatched pair or missing max_kl. */
export function createContext(deps: AppDeps): GatewayContext {
  const { policy, reference, config } = deps;
  const problems = pairProblems(policy.info, reference.info, deps.sketch ?? null);
  if (problems.length) throw new ConfigError("gateway models", problems);
  const clock = deps.clock ?? systemClock;
  const info = policy.info;
  const logError = deps.logError ?? (deps.log ? errorLine(deps.log) : (message: string, error: unknown) => console.error(message, error));
  const guardDefaults = driftGuardDefaults(config.drift_guard, deps.evalReport ?? null);
  const alerts = new AlertBus((e) => logError("tether gateway: alert listener failed", e));
  const monitoring = createMonitoring({
    config: config.alerts, policyId: info.id, evalReport: deps.evalReport ?? null, hasSketch: (deps.sketch ?? null) !== null,
    guardMaxKl: guardDefaults.maxKl, db: deps.db ?? null, bus: alerts, clock, logLine: deps.logLine ?? ((line) => console.log(line)), logError,
  });
  const ctx = {
    policy,
    reference,
    store: deps.store,
    config,
    clock,
    sketch: deps.sketch ?? null,
    guardDefaults,
    modelName: config.model_name ?? info.id,
    chatTemplate: info.chatTemplate ? new ChatTemplate(info.chatTemplate, { bos_token: info.bosToken, eos_token: info.eosToken }) : null,
    scheduler: new Scheduler(config.limits.max_concurrent, config.limits.queue_size, () => clock.now()),
    metrics: new GatewayMetrics(),
    startedS: Math.floor(clock.now() / 1000),
    logError,
    log: deps.log ?? null,
    logWarning: deps.logWarning ?? ((line) => console.warn(line)),
    randomSeed: deps.randomSeed ?? cryptoSeed,
    newRequestId: deps.newRequestId ?? (() => crypto.randomUUID().replace(/-/g, "")),
    adminAuth: deps.adminAuth ?? bootstrapAuthenticator(config.admin_token),
    alerts,
    evalReport: deps.evalReport ?? null,
    db: deps.db ?? null,
    monitoring,
    runJob: deps.runJob ?? runInProcess,
    enginePool: deps.enginePool ?? null,
  } as GatewayContext;
  ctx.serving = new ServingSet(ctx, { id: info.id, engine: policy, evalReport: deps.evalReport ?? null, sketch: ctx.sketch });
  ctx.registry = deps.db && deps.checkpoints ? new Registry(ctx, new RegistryStore(deps.db), deps.checkpoints.loader, deps.checkpoints.reference) : null;
  return ctx;
}
