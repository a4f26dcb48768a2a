// Named admin tokens in the `admin_tokens` table: only sha256(secret) is stored, so a leaked database does
// not leak a usable token; revoked rows stay (names in the audit trail keep meaning something). The
// authenticator wraps the bootstrap one (TETHER_ADMIN_TOKEN), which keeps working. Web Crypto only.
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Db } from "@tether/db/create-db";
import { adminTokens, type AdminToken } from "@tether/db/schema";
import type { AdminAuthenticator } from "./auth";

/** Hex sha256 of a secret (what the table stores). */
export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** 32 random bytes, base64url, with a recognisable prefix (secret scanners, logs). */
export function newSecret(prefix = "tether_admin_"): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return prefix + btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * Bootstrap token first, then the table. The lookup is by the secret's hash (equality on a digest leaks
 * nothing useful about the secret).
 * @example ctx.adminAuth = namedTokenAuthenticator(handle.db, bootstrapAuthenticator(config.admin_token));
 */
export function namedTokenAuthenticator(db: Db, bootstrap: AdminAuthenticator): AdminAuthenticator {
  return {
    async configured() {
      if (await (bootstrap.configured?.() ?? true)) return true;
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(adminTokens).where(isNull(adminTokens.revokedAt));
      return Number(row?.n ?? 0) > 0;
    },
    async authenticate(token) {
      const boot = await bootstrap.authenticate(token);
      if (boot) return boot;
      const hash = await sha256Hex(token);
      const [row] = await db.select({ name: adminTokens.name }).from(adminTokens).where(and(eq(adminTokens.sha256, hash), isNull(adminTokens.revokedAt)));
      return row ? { name: row.name } : null;
    },
  };
}

const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/**
 * Issues a token; returns the secret, which exists nowhere else afterwards. A revoked name may be reissued.
 * @example const secret = await createAdminToken(db, "alice");
 */
export async function createAdminToken(db: Db, name: string): Promise<string> {
  if (!TOKEN_NAME.test(name)) throw new Error(`token name must be 1–64 characters of A–Z a–z 0–9 . _ @ - (got ${JSON.stringify(name)})`);
  if (name === "bootstrap" || name === "auto-rollback") throw new Error(`token name ${name} is reserved`);
  const secret = newSecret();
  const hash = await sha256Hex(secret);
  const [existing] = await db.select().from(adminTokens).where(eq(adminTokens.name, name));
  if (existing && existing.revokedAt === null) throw new Error(`token ${name} exists; revoke it first`);
  if (existing) await db.update(adminTokens).set({ sha256: hash, revokedAt: null, createdAt: new Date() }).where(eq(adminTokens.name, name));
  else await db.insert(adminTokens).values({ name, sha256: hash });
  return secret;
}

/** Revokes a token by name; false when there is no such live token. */
export async function revokeAdminToken(db: Db, name: string): Promise<boolean> {
  const rows = await db.update(adminTokens).set({ revokedAt: new Date() }).where(and(eq(adminTokens.name, name), isNull(adminTokens.revokedAt))).returning({ name: adminTokens.name });
  return rows.length > 0;
}

/** Every token, newest first, without hashes. */
export async function listAdminTokens(db: Db): Promise<Array<Omit<AdminToken, "sha256">>> {
  const rows = await db.select().from(adminTokens).orderBy(adminTokens.createdAt);
  return rows.map(({ sha256: _hash, ...rest }) => rest);
}
