// Optional API keys on /v1/*: keys listed in config `api_keys` and keys issued into the `api_keys` table
// (admin/api-keys.ts, `npm run admin -- api-key create`). When there is any, a request needs
// `Authorization: Bearer <key>` (what OpenAI clients send), else 401 in OpenAI's shape (code invalid_api_key,
// as OpenAI answers); a revoked or expired key is 401 too. Keys are compared as sha256 digests (config keys in
// constant time); neither a key nor its digest is ever logged.
import type { MiddlewareHandler } from "hono";
import { constantTimeEqual } from "../admin/auth";
import { ApiKeysUnavailableError, StoredApiKeys } from "../admin/api-keys";
import { sha256Hex } from "../admin/named-tokens";
import type { GatewayContext } from "../context";
import { HttpError } from "../http/errors";
import type { AppEnv } from "./env";

/** Configured keys as sha256 hex digests (a key given as `sha256:<hex>` is already one). */
export async function keyDigests(keys: readonly string[]): Promise<Uint8Array[]> {
  return Promise.all(keys.map(async (k) => hexBytes(k.startsWith("sha256:") ? k.slice(7) : await sha256Hex(k))));
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)));
}

const invalid = (message: string) => HttpError.of(401, message, null, "invalid_api_key");

/** The table was never read (database down since start): 503, never an open gateway. */
const unavailable = (e: unknown): never => {
  if (e instanceof ApiKeysUnavailableError) throw HttpError.of(503, `API keys cannot be checked: ${e.message}`, null, "api_keys_unavailable");
  throw e;
};

/**
 * Installed when config lists keys or the app has a database (whose table may hold keys); with neither
 * kind of key, /v1/* stays open.
 * @example app.use("/v1/*", requireApiKey(ctx));
 */
export function requireApiKey(ctx: GatewayContext): MiddlewareHandler<AppEnv> {
  const digests = keyDigests(ctx.config.api_keys);
  const stored = ctx.db ? new StoredApiKeys(ctx.db, ctx.config.promotion.sync_interval_ms, () => ctx.clock.now(), ctx.logError) : null;
  return async (c, next) => {
    const configured = await digests;
    const header = c.req.header("authorization");
    const match = header === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    const hex = match ? await sha256Hex(match[1]!) : null; // always hashed: presenting a digest is not a key
    if (hex !== null && configured.length > 0) {
      const presented = hexBytes(hex);
      let ok = false;
      for (const d of configured) ok = constantTimeEqual(d, presented) || ok; // no early exit
      if (ok) {
        c.set("apiKeyName", "config");
        return next(); // config keys work whatever state the table is in
      }
    }
    const inTable = stored !== null && (await stored.any().catch(unavailable));
    if (configured.length === 0 && !inTable) return next();
    if (hex === null) throw invalid("missing API key: send `Authorization: Bearer <key>` (this gateway has API keys configured)");
    const verdict = inTable ? await stored.check(hex).catch(unavailable) : { state: "unknown" as const };
    if (verdict.state === "revoked") throw invalid("this API key has been revoked");
    if (verdict.state === "expired") throw invalid(`this API key expired at ${verdict.at.toISOString()}`);
    if (verdict.state !== "valid") throw invalid("incorrect API key provided");
    c.set("apiKeyName", verdict.name); // the name only: the access log line carries it, never the key
    await next();
  };
}
