// Optional API keys on /v1/*: when config `api_keys` lists any, a request needs `Authorization: Bearer <key>`
// (what OpenAI clients send), else 401 in OpenAI's shape (code invalid_api_key, as OpenAI answers). Keys are
// compared as sha256 digests in constant time; neither a key nor its digest is ever logged.
import type { MiddlewareHandler } from "hono";
import { constantTimeEqual } from "../admin/auth";
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

/**
 * @example app.use("/v1/*", requireApiKey(ctx));
 */
export function requireApiKey(ctx: GatewayContext): MiddlewareHandler<AppEnv> {
  const digests = keyDigests(ctx.config.api_keys);
  return async (c, next) => {
    const header = c.req.header("authorization");
    const match = header === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!match) throw HttpError.of(401, "missing API key: send `Authorization: Bearer <key>` (this gateway has api_keys configured)", null, "invalid_api_key");
    const presented = hexBytes(await sha256Hex(match[1]!)); // always hashed: presenting a digest is not a key
    let ok = false;
    for (const d of await digests) ok = constantTimeEqual(d, presented) || ok; // no early exit
    if (!ok) throw HttpError.of(401, "incorrect API key provided", null, "invalid_api_key");
    await next();
  };
}
