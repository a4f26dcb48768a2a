// The Worker's bindings and variables (wrangler.toml, `wrangler secret put`), and the gateway config they
// make: the same loadGatewayConfig as Node, with TETHER_CONFIG holding the JSON object instead of a file path.
import type { Hyperdrive, R2Bucket } from "@cloudflare/workers-types/index.ts";
import { ConfigError } from "@tether/shared/schemas/common";
import { GATEWAY_ENV, loadGatewayConfig, type GatewayConfig } from "@tether/shared/schemas/gateway-config";

export interface WorkerEnv {
  /** PostgreSQL through Hyperdrive (local runs: its localConnectionString). */
  HYPERDRIVE?: Hyperdrive;
  /** Checkpoints too large to bundle: TETHER_POLICY = "r2://<prefix>" reads the objects under <prefix>/. */
  MODELS?: R2Bucket;
  /** Bucket name, for messages and the checkpoints table's path column (default "tether-models"). */
  MODELS_BUCKET_NAME?: string;
  /** The gateway config as a JSON object (the Node entry's TETHER_CONFIG file, inline). */
  TETHER_CONFIG?: string;
  /** Without Hyperdrive: a postgres:// URL the Worker connects to directly (tests, `wrangler dev`). */
  DATABASE_URL?: string;
  [name: string]: unknown;
}

/** Where the drift log goes: Hyperdrive's pooled connection string, else DATABASE_URL; null: nowhere. */
export function connectionString(env: WorkerEnv): string | null {
  return env.HYPERDRIVE?.connectionString ?? (typeof env.DATABASE_URL === "string" && env.DATABASE_URL !== "" ? env.DATABASE_URL : null);
}

/**
 * The gateway config from TETHER_CONFIG (JSON) and the Worker's string variables (TETHER_POLICY, …).
 * @example workerConfig({ TETHER_CONFIG: '{"drift_guard":{"candidates":4}}' }).drift_guard.candidates // 4
 */
export function workerConfig(env: WorkerEnv): GatewayConfig {
  let file: unknown;
  if (typeof env.TETHER_CONFIG === "string" && env.TETHER_CONFIG !== "") {
    try {
      file = JSON.parse(env.TETHER_CONFIG);
    } catch (e) {
      throw new ConfigError("gateway config", [`TETHER_CONFIG: not valid JSON (${(e as Error).message})`]);
    }
  }
  const vars: Record<string, string | undefined> = {};
  for (const name of Object.keys(GATEWAY_ENV)) if (typeof env[name] === "string") vars[name] = env[name] as string;
  // The database comes from the binding when there is one (its URL is a local proxy's, not the user's).
  if (env.HYPERDRIVE) delete vars.DATABASE_URL;
  return loadGatewayConfig(file, vars);
}
