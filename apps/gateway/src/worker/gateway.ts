// One isolate's gateway: config from the Worker's variables, the serving set from PostgreSQL, both
// checkpoints verified and opened on onnxruntime-web, the drift log through ctx.waitUntil, and the same
// createApp as Node. Built on the first request (bindings exist only then) and kept for the isolate's life.
//
// A checkpoint location is a bundled one ("models/demo/policy") or "r2://<bucket>/<prefix>" in the MODELS
// bucket. An 'active' policy row in `checkpoints` overrides TETHER_POLICY when the Worker can read its path; a
// 'canary' row the Worker can read is loaded too and takes its share of the traffic, split as on Node (the same
// ServingSet: a stable hash of `user`, else the request's random draw).
import { insertDriftBatch } from "@tether/db/core";
import { ConfigError } from "@tether/shared/schemas/common";
import type { GatewayConfig } from "@tether/shared/schemas/gateway-config";
import { createApp } from "../app";
import { BundledCheckpointReader } from "../engine/checkpoint-bundled";
import { R2CheckpointReader } from "../engine/checkpoint-r2";
import type { CheckpointReader } from "../engine/checkpoint-reader";
import { OrtWebEngine } from "../engine/ort-web";
import { WaitUntilDriftStore } from "../store/wait-until-store";
import { openDb } from "./database";
import { BUNDLED_CHECKPOINTS, NOT_BUNDLED } from "./demo-models";
import { connectionString, workerConfig, type WorkerEnv } from "./env";
import { registerCheckpoints } from "../serving/checkpoint-rows";
import { readServingSet, type ServingSet } from "./serving-set";
import { pairProblems, withId } from "../serving/served-policy";
import { WORKER_DASHBOARD_ASSETS } from "./dashboard-assets";

export interface WorkerGateway {
  app: ReturnType<typeof createApp>;
  store: WaitUntilDriftStore;
  config: GatewayConfig;
  servingSet: ServingSet;
  /** postgres:// the drift log and the serving set are read from (Hyperdrive's, or DATABASE_URL). */
  databaseUrl: string;
}

const DEFAULT_BUCKET = "tether-models";

/**
 * The reader of a checkpoint location, or a one-line error saying where the Worker can read checkpoints from.
 * @example readerFor("r2://tether-models/small/policy", env) // R2CheckpointReader over env.MODELS
 */
export function readerFor(location: string, env: WorkerEnv): CheckpointReader {
  const r2 = /^r2:\/\/([^/]+)\/(.+)$/.exec(location);
  if (r2) {
    const bucket = env.MODELS_BUCKET_NAME ?? DEFAULT_BUCKET;
    if (!env.MODELS) throw new Error(`${location}: no R2 bucket is bound as MODELS (wrangler.toml [[r2_buckets]])`);
    if (r2[1] !== bucket) throw new Error(`${location}: the MODELS binding is bucket "${bucket}" (MODELS_BUCKET_NAME), not "${r2[1]}"`);
    return new R2CheckpointReader(env.MODELS, r2[2]!, bucket);
  }
  const key = location.replace(/^\.\//, "").replace(/\/+$/, "");
  const files = BUNDLED_CHECKPOINTS[key];
  if (!files) throw new Error(`${location}: not bundled with this Worker (bundled: ${Object.keys(BUNDLED_CHECKPOINTS).join(", ")}); put larger checkpoints in R2 and name them r2://<bucket>/<prefix>`);
  return new BundledCheckpointReader(key, files, NOT_BUNDLED);
}

/** The policy to serve: the active row's checkpoint when the Worker can read it, else the configured one. */
function policyLocation(config: GatewayConfig, set: ServingSet, env: WorkerEnv, warn: (m: string) => void): string {
  if (!set.active) return config.policy;
  try {
    readerFor(set.active.path, env);
    return set.active.path;
  } catch (e) {
    warn(`promotion: active policy ${set.active.id} is not readable here (${(e as Error).message}); serving ${config.policy}`);
    return config.policy;
  }
}

/**
 * @example const gw = await buildGateway(env, (p) => ctx.waitUntil(p)); return gw.app.fetch(request);
 */
export async function buildGateway(env: WorkerEnv, defer: (work: Promise<unknown>) => void, warn: (m: string) => void = console.warn): Promise<WorkerGateway> {
  const config = workerConfig(env);
  const databaseUrl = connectionString(env);
  if (databaseUrl === null) {
    throw new ConfigError("gateway config", ["database: bind Hyperdrive as HYPERDRIVE (wrangler.toml [[hyperdrive]]) or set DATABASE_URL: a Worker has no disk for the drift log"]);
  }
  const servingSet = await readServingSet(openDb(databaseUrl)).catch((e: unknown) => {
    warn(`promotion: could not read the checkpoints table (${(e as Error).message}); serving the configured policy`);
    return { active: null, canary: null } satisfies ServingSet;
  });
  const policy = await OrtWebEngine.load(readerFor(policyLocation(config, servingSet, env, warn), env));
  const reference = await OrtWebEngine.load(readerFor(config.reference, env)).catch(async (e: unknown) => {
    await policy.dispose();
    throw e;
  });
  const store = new WaitUntilDriftStore({ write: (batch) => insertDriftBatch(openDb(databaseUrl), batch), log: config.drift_log, defer, warn });
  const app = createApp({
    policy,
    reference,
    store,
    config,
    evalReport: policy.checkpoint.evalReport,
    sketch: reference.checkpoint.sketch ?? policy.checkpoint.sketch, // as server.node.ts: the reference's statistics
    dashboardAssets: WORKER_DASHBOARD_ASSETS,
  });
  if (servingSet.canary && servingSet.canary.percent > 0) await splitCanary(app, servingSet.canary, reference, env, warn);
  defer(registerCheckpoints(openDb(databaseUrl), [policy.checkpoint, reference.checkpoint]).catch((e: unknown) => warn(`checkpoints: not registered (${(e as Error).message})`)));
  return { app, store, config, servingSet, databaseUrl };
}

/**
 * Loads the canary row's checkpoint and gives it its share of the traffic; a canary the Worker cannot read, load
 * or pair with the reference is left out with a warning (the active policy then serves everything).
 */
export async function splitCanary(
  app: ReturnType<typeof createApp>, canary: NonNullable<ServingSet["canary"]>, reference: OrtWebEngine, env: WorkerEnv, warn: (m: string) => void,
): Promise<void> {
  const skip = (why: string) => warn(`promotion: canary ${canary.id} (${canary.percent}%) is not split off here: ${why}; the active policy serves everything`);
  let engine: OrtWebEngine;
  try {
    engine = await OrtWebEngine.load(readerFor(canary.path, env));
  } catch (e) {
    return skip((e as Error).message);
  }
  const sketch = reference.checkpoint.sketch ?? engine.checkpoint.sketch; // as for the active policy
  const problems = pairProblems(engine.info, reference.info, sketch);
  try {
    if (problems.length) throw new Error(problems.join("; "));
    const serving = app.context.serving;
    serving.apply({ ...serving.state, canary: { id: canary.id, engine: withId(engine, canary.id), evalReport: engine.checkpoint.evalReport, sketch }, canaryPercent: canary.percent });
  } catch (e) {
    await engine.dispose();
    skip((e as Error).message);
  }
}

