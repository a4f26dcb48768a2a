// The Node side of gateway configuration shared by server.node.ts and the CLIs: TETHER_CONFIG read from a
// file, and where the drift log lives, so `npm run drift` reads exactly the database `npm start` writes.
import { readFileSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "@tether/shared/schemas/common";
import type { GatewayConfig } from "@tether/shared/schemas/gateway-config";

/** TETHER_CONFIG: a JSON file, or a .js/.ts module whose default export is the config object. */
export async function readConfigFile(path: string | undefined): Promise<unknown> {
  if (path === undefined || path === "") return undefined;
  const full = resolve(path);
  if ([".js", ".mjs", ".ts", ".mts"].includes(extname(full))) {
    const mod = (await import(pathToFileURL(full).href)) as { default?: unknown };
    return mod.default;
  }
  try {
    return JSON.parse(readFileSync(full, "utf8"));
  } catch (e) {
    throw new ConfigError("gateway config", [`TETHER_CONFIG (${path}): ${(e as Error).message.split("\n")[0]}`]);
  }
}

/**
 * The drift log's database: DATABASE_URL (config database_url) when set, else PGlite under data_dir/pgdata.
 * @example await createDb(driftLogTarget(config))
 */
export function driftLogTarget(config: Pick<GatewayConfig, "database_url" | "data_dir">): string {
  return config.database_url ?? join(config.data_dir, "pgdata");
}
