// Admin authentication: `Authorization: Bearer <token>` on every /admin route. No header → 401, a token
// nobody issued → 403, no token configured at all → 401 saying how to configure one. The check itself is
// an AdminAuthenticator held in the context: the bootstrap token here (TETHER_ADMIN_TOKEN); promotions
// wrap it with named, hashed tokens. Comparisons are constant-time and use only Web Crypto (Node, workerd).
import type { MiddlewareHandler } from "hono";
import type { GatewayContext } from "../context";
import { HttpError } from "../http/errors";
import type { AppEnv } from "../routes/env";

/** Who a bearer token belongs to. */
export interface AdminIdentity {
  name: string; // "bootstrap" for TETHER_ADMIN_TOKEN; the token's name for issued tokens
}

export interface AdminAuthenticator {
  /** The identity of a presented token, or null when it is not (or no longer) valid. */
  authenticate(token: string): Promise<AdminIdentity | null>;
  /** Whether any token could be valid; false → 401 telling the operator how to set one. Absent = true. */
  configured?(): boolean | Promise<boolean>;
}

const encoder = new TextEncoder();

/** Equal-length byte arrays compared without an early exit: time does not depend on where they differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * HMAC-SHA256 of a string under a per-process random key. Comparing two such digests compares the
 * strings in constant time whatever their lengths (a length difference would otherwise leak through an
 * early return), and the secret never sits in a comparison loop itself.
 */
export async function keyedDigest(key: CryptoKey, text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(text)));
}

export async function randomHmacKey(): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]) as Promise<CryptoKey>;
}

/**
 * The bootstrap authenticator: one token from config `admin_token` (env TETHER_ADMIN_TOKEN), name "bootstrap".
 * @example const auth = bootstrapAuthenticator(config.admin_token); await auth.authenticate("…") // { name: "bootstrap" } | null
 */
export function bootstrapAuthenticator(token: string | undefined): AdminAuthenticator {
  const key = randomHmacKey();
  const expected = token === undefined ? null : key.then((k) => keyedDigest(k, token));
  return {
    configured: () => token !== undefined,
    async authenticate(presented) {
      if (expected === null) return null;
      const got = await keyedDigest(await key, presented);
      return constantTimeEqual(got, await expected) ? { name: "bootstrap" } : null;
    },
  };
}

const HOW_TO = "set TETHER_ADMIN_TOKEN (or admin_token in TETHER_CONFIG) to a secret of at least 16 characters and send it as `Authorization: Bearer <token>`";

function unauthorized(message: string): HttpError {
  const e = HttpError.of(401, message, null, "unauthorized");
  return new HttpError(e.response, { "www-authenticate": 'Bearer realm="tether-admin"' });
}

/**
 * Hono middleware for /admin/*: sets c.get("adminName") to the matched token's name.
 * @example app.use("/admin/*", requireAdmin(ctx));
 */
export function requireAdmin(ctx: GatewayContext): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const auth = ctx.adminAuth;
    if (!(await (auth.configured?.() ?? true))) throw unauthorized(`the admin API has no token configured: ${HOW_TO}`);
    const header = c.req.header("authorization");
    const match = header === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!match) throw unauthorized("missing admin credentials: send `Authorization: Bearer <admin token>`");
    const identity = await auth.authenticate(match[1]!);
    if (!identity) throw HttpError.of(403, "the admin token is not valid (wrong, or revoked)", null, "forbidden");
    c.set("adminName", identity.name);
    await next();
  };
}
