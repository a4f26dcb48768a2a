// The gateway's configuration: a JSON/TS object (TETHER_CONFIG) with the environment on top, validated
// once at startup so that every problem is reported together, one line each, before anything binds.

import { z } from "zod";
import { ConfigError, formatPath, int, issueLines, oneOf, real, text } from "./common";
import { driftGuardConfig } from "./drift-guard";
import { apiKeys, promotionConfig } from "./promotion";
import { alertsConfig, ruleLabel } from "./alerts";

const MiB = 1024 * 1024;

/** Per-request and process limits; a request over one gets a 400 (or 413/429) naming the parameter. */
export const gatewayLimits = z
  .strictObject({
    max_n: int(1, 128).default(8), // choices per request (n)
    max_candidates: int(1, 64).default(8), // drift_guard.candidates per choice; n·candidates sequences share one batch
    max_rounds: int(1, 64).default(4), // drift_guard.max_rounds
    max_prompts: int(1, 1024).default(16), // /v1/completions prompt arrays
    max_tokens: int(1).optional(), // cap on max_tokens; default: the model's context window minus the prompt
    max_body_bytes: int(1024, 64 * MiB).default(1 * MiB), // larger bodies → 413 before JSON parsing
    max_concurrent: int(1, 1024).default(4), // requests decoding at once (each one batched session run per step)
    queue_size: int(0, 100_000).default(64), // requests waiting for a slot; full → 429 with Retry-After
    request_timeout_s: real({ value: 0, exclusive: true }, 86_400).default(300), // generation deadline per request (≤ 1 day: setTimeout overflows past 2^31 ms)
  })
  .superRefine((l, ctx) => {
    if (l.max_n * l.max_candidates > 1024) {
      ctx.addIssue({ code: "custom", path: ["max_candidates"], message: `max_n · max_candidates must be ≤ 1024 sequences in one batch (got ${l.max_n * l.max_candidates})` });
    }
  });
export type GatewayLimits = z.infer<typeof gatewayLimits>;

/** The drift log's write path: batched inserts off the request path, a bounded buffer, a spill file. */
export const driftLogConfig = z
  .strictObject({
    batch_rows: int(1, 100_000).default(500), // rows per multi-row INSERT / COPY
    flush_interval_ms: int(1, 60_000).default(200), // longest a row waits before a flush is attempted
    buffer_rows: int(1, 10_000_000).default(10_000), // rows held in memory while the database is slow; then spill
    spill_max_bytes: int(0).default(256 * MiB), // append-only spill file cap (under data_dir); past it requests get 503
    spill_dir: text().optional(), // default: <data_dir>/spill
    // fsync: every entry is in the local write-ahead log (spill_dir) before its response is sent, so a
    // SIGKILL loses nothing answered; memory: entries wait in memory until the next batch (faster, a crash
    // loses up to flush_interval_ms of answered requests). docs/durability.md
    durability: z.enum(["fsync", "memory"], { error: 'must be "fsync" or "memory"' }).default("fsync"),
  })
  .superRefine((l, ctx) => {
    if (l.batch_rows > l.buffer_rows) {
      ctx.addIssue({ code: "custom", path: ["batch_rows"], message: `must be ≤ buffer_rows (${l.batch_rows} > ${l.buffer_rows})` });
    }
  });
export type DriftLogConfig = z.infer<typeof driftLogConfig>;

/** postgres:// or postgresql://; the value is never echoed in errors because it may hold a password. */
const databaseUrl = z
  .string({ error: "must be a postgres:// URL" })
  .regex(/^postgres(?:ql)?:\/\/\S+$/, { error: "must be a postgres:// or postgresql:// URL (unset = embedded PGlite under data_dir)" });

/**
 * The whole gateway config (after defaults).
 * @example gatewayConfig.parse({}) // every default: 127.0.0.1:8787 serving models/demo with PGlite
 */
export const gatewayConfig = z.strictObject({
  $schema: z.string().optional(), // editors' JSON-schema pointer; ignored
  port: int(0, 65535).default(8787), // TCP port; 0 = any free port (tests)
  host: text().default("127.0.0.1"), // bind address; loopback unless asked, since admin routes live here too
  policy: text().default("models/demo/policy"), // checkpoint dir served as the policy
  reference: text().default("models/demo/reference"), // checkpoint dir of the frozen reference
  policy_onnx: oneOf(["fp32", "int8", "int4"]).default("fp32"), // policy graph: onnx/model.onnx, or model_int8.onnx / model_int4.onnx (export --quantize int8|int4)
  reference_onnx: oneOf(["fp32", "int8", "int4"]).default("fp32"), // reference graph, likewise (fp32 keeps the KL anchor exact)
  data_dir: text().default(".tether"), // PGlite data, spill files, write-ahead log; one gateway per dir (lock file)
  database_url: databaseUrl.optional(), // unset → embedded PGlite in <data_dir>/pgdata
  // Which of V8's compilers run embedded PGlite's wasm (V8 flags are per process; `npm start` applies it, a host
  // embedding startGateway decides for itself): baseline = Liftoff only, 22–102 MiB less resident and drift-log
  // writes ~15% slower (still tens of thousands of rows/s); optimizing = hot functions also go to TurboFan.
  // Ignored with database_url. `npm run bench -- idle-rss`
  pglite_wasm: oneOf(["baseline", "optimizing"]).default("baseline"),
  admin_token: z
    .string({ error: "must be a string" })
    .min(16, { error: "must be at least 16 characters (it is a bearer credential)" })
    .optional(), // bootstrap admin bearer token; unset → admin routes answer 401 to everyone
  model_name: text().optional(), // the `model` id served on /v1/models; default: the policy manifest id
  drift_guard: driftGuardConfig.prefault({}),
  limits: gatewayLimits.prefault({}),
  drift_log: driftLogConfig.prefault({}), // SPEC's name (was `log`)
  retention_days: int(1, 3650).default(30), // days of requests/drift_samples kept by the retention job
  promotion: promotionConfig.prefault({}), // eval.json gates of /admin/checkpoints/:id/promote, checkpoint root, replica sync
  api_keys: apiKeys, // bearer keys accepted on /v1/* (none = open); never logged
  alerts: alertsConfig.prefault({}), // drift monitor: alert rules, webhooks, SSE limits (schemas/alerts.ts)
  cors: z
    .strictObject({
      // Browser origins allowed to call the API ("https://app.example.com"); empty = no CORS headers at all.
      origins: z.array(z.string().regex(/^(\*|https?:\/\/[^/\s]+)$/, { error: 'must be "*" or an origin like https://app.example.com' })).default([]),
    })
    .prefault({}),
  engine: z
    .strictObject({
      // Node: worker threads running the engines (each ORT session at 1 intra-op thread), so inference never blocks
      // HTTP; unset = the cores this process may use (os.availableParallelism()); 0 = engines on the main thread.
      // The Worker build ignores it (one isolate, onnxruntime-web).
      workers: int(0, 256).optional(),
    })
    .prefault({}),
  log_content: z.boolean({ error: "must be true or false" }).default(false), // request bodies (prompts) in the access log; off: they may be personal data
});
export type GatewayConfig = z.infer<typeof gatewayConfig>;
export type GatewayConfigInput = z.input<typeof gatewayConfig>;

/** SPEC's environment names and the config key each one sets (env wins over the file). */
export const GATEWAY_ENV = {
  PORT: "port",
  HOST: "host",
  TETHER_POLICY: "policy",
  TETHER_REFERENCE: "reference",
  TETHER_POLICY_ONNX: "policy_onnx",
  TETHER_REFERENCE_ONNX: "reference_onnx",
  TETHER_DATA_DIR: "data_dir",
  DATABASE_URL: "database_url",
  TETHER_PGLITE_WASM: "pglite_wasm",
  TETHER_ADMIN_TOKEN: "admin_token",
} as const satisfies Record<string, keyof GatewayConfig>;

/**
 * File object + environment → validated config. Empty environment variables count as unset.
 * Reading TETHER_CONFIG is the caller's job (this module runs where there is no file system).
 * Throws a ConfigError listing every problem, one line each: `path (ENV_NAME): reason`.
 * @example loadGatewayConfig(JSON.parse(text), process.env).port
 */
export function loadGatewayConfig(file: unknown, env: Record<string, string | undefined>): GatewayConfig {
  if (file !== undefined && file !== null && (typeof file !== "object" || Array.isArray(file))) {
    throw new ConfigError("gateway config", ["(config file): must be a JSON object"]);
  }
  const merged: Record<string, unknown> = { ...(file as Record<string, unknown> | null | undefined) };
  const fromEnv = new Map<string, string>();
  for (const [name, key] of Object.entries(GATEWAY_ENV)) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    merged[key] = key === "port" && /^\d+$/.test(value.trim()) ? Number(value) : value;
    fromEnv.set(key, name);
  }
  const result = gatewayConfig.safeParse(merged);
  if (result.success) return result.data;
  const rename = (path: readonly PropertyKey[]) => {
    if (path[0] === "alerts" && path[1] === "rules" && typeof path[2] === "number") {
      // name the rule, not only its index: `alerts.rules[2] ("kl-high").window: must be one of …`
      const rules = (merged.alerts as { rules?: unknown } | undefined)?.rules;
      const tail = formatPath(path.slice(3));
      return `${formatPath(path.slice(0, 3))} (${ruleLabel(rules, path[2])})${tail === "" || tail.startsWith("[") ? tail : `.${tail}`}`;
    }
    const name = fromEnv.get(String(path[0]));
    return name === undefined ? formatPath(path) : `${formatPath(path)} (${name})`;
  };
  throw new ConfigError("gateway config", issueLines(result.error, rename));
}
