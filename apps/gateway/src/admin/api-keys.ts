// API keys of /v1/* in the `api_keys` table, issued and revoked by `npm run admin -- api-key …` (like named
// admin tokens: only sha256(secret) is stored, revoked rows stay). The gateway answers from an in-memory copy
// of the table: the first request waits for it to be read; afterwards a request that finds it older than
// `refreshMs` starts a re-read in the background and is answered from the copy it has. So a request never
// waits on the database, a revocation made by another process (the CLI) takes effect within about refreshMs,
// and a database outage keeps the last copy (the drift log spills to disk then; /v1/* keeps answering).
// Until the table has been read once, nothing is known about it: requests wait for the read and, when it fails,
// get 503 (fail closed: an empty copy would open /v1/* to everyone); the read is retried every RETRY_MS.
import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "@tether/db/create-db";
import { apiKeys, type ApiKey } from "@tether/db/schema";
import { newSecret, sha256Hex } from "./named-tokens";

const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** How often a table that was never read is tried again (at most; requests in between get 503 at once). */
const RETRY_MS = 1000;

/** The table has never been read: the keys in it are unknown, so no request can be let through on them. */
export class ApiKeysUnavailableError extends Error {
  override readonly name = "ApiKeysUnavailableError";
}

/** What the table says about a presented key. */
export type StoredKeyVerdict = { state: "valid"; name: string } | { state: "revoked" } | { state: "expired"; at: Date } | { state: "unknown" };

/**
 * Issues a key; returns the secret, which exists nowhere else afterwards. A revoked name may be reissued.
 * @example const secret = await createApiKey(db, "mobile-app", { expiresAt: new Date(Date.now() + 90 * 86_400_000) });
 */
export async function createApiKey(db: Db, name: string, options: { expiresAt?: Date | null } = {}): Promise<string> {
  if (!KEY_NAME.test(name)) throw new Error(`API key name must be 1–64 characters of A–Z a–z 0–9 . _ @ - (got ${JSON.stringify(name)})`);
  const expiresAt = options.expiresAt ?? null;
  if (expiresAt !== null && !(expiresAt.getTime() > Date.now())) throw new Error(`expiry must be in the future (got ${expiresAt.toISOString()})`);
  const secret = newSecret("tether_key_");
  const hash = await sha256Hex(secret);
  const [existing] = await db.select().from(apiKeys).where(eq(apiKeys.name, name));
  if (existing && existing.revokedAt === null) throw new Error(`API key ${name} exists; revoke it first`);
  if (existing) await db.update(apiKeys).set({ sha256: hash, revokedAt: null, expiresAt, createdAt: new Date() }).where(eq(apiKeys.name, name));
  else await db.insert(apiKeys).values({ name, sha256: hash, expiresAt });
  return secret;
}

/** Revokes a key by name; false when there is no such live key. */
export async function revokeApiKey(db: Db, name: string): Promise<boolean> {
  const rows = await db.update(apiKeys).set({ revokedAt: new Date() }).where(and(eq(apiKeys.name, name), isNull(apiKeys.revokedAt))).returning({ name: apiKeys.name });
  return rows.length > 0;
}

/** Every key, oldest first, without hashes. */
export async function listApiKeys(db: Db): Promise<Array<Omit<ApiKey, "sha256">>> {
  const rows = await db.select().from(apiKeys).orderBy(apiKeys.createdAt);
  return rows.map(({ sha256: _hash, ...rest }) => rest);
}

/**
 * The table as the gateway checks it. `any()` is true once the table has a row (revoked ones included:
 * revoking the last key must not open the gateway to everyone).
 * @example const keys = new StoredApiKeys(db, 1000, Date.now, logError); if (await keys.any()) await keys.check(await sha256Hex(key));
 */
export class StoredApiKeys {
  private rows = new Map<string, { name: string; revokedAt: Date | null; expiresAt: Date | null }>();
  private loadedAt = Number.NEGATIVE_INFINITY; // last read attempt that settled
  private read = false; // some read has succeeded: the copy is the table's
  private loading: Promise<void> | null = null;
  private lastError: string | null = null;

  constructor(
    private readonly db: Db,
    private readonly refreshMs: number,
    private readonly now: () => number,
    private readonly logError: (message: string, error: unknown) => void,
  ) {}

  async any(): Promise<boolean> {
    await this.fresh();
    return this.rows.size > 0;
  }

  /** The verdict on a key given as its sha256 hex. */
  async check(sha256: string): Promise<StoredKeyVerdict> {
    await this.fresh();
    const row = this.rows.get(sha256);
    if (!row) return { state: "unknown" };
    if (row.revokedAt !== null) return { state: "revoked" };
    if (row.expiresAt !== null && row.expiresAt.getTime() <= this.now()) return { state: "expired", at: row.expiresAt };
    return { state: "valid", name: row.name };
  }

  /**
   * Re-reads the table when the copy is older than refreshMs; a failure keeps the last copy. Before the first
   * successful read, waits for the read and throws ApiKeysUnavailableError when it fails.
   */
  private async fresh(): Promise<void> {
    const unavailable = () => new ApiKeysUnavailableError(`the api_keys table cannot be read (${this.lastError ?? "database unreachable"}); retrying`);
    if (this.now() - this.loadedAt < (this.read ? this.refreshMs : RETRY_MS)) {
      if (!this.read) throw unavailable();
      return;
    }
    this.loading ??= this.db
      .select({ name: apiKeys.name, sha256: apiKeys.sha256, revokedAt: apiKeys.revokedAt, expiresAt: apiKeys.expiresAt })
      .from(apiKeys)
      .then(
        (rows) => {
          this.rows = new Map(rows.map((r) => [r.sha256, { name: r.name, revokedAt: r.revokedAt, expiresAt: r.expiresAt }]));
          this.loadedAt = this.now();
          this.read = true;
          this.lastError = null;
        },
        (e: unknown) => {
          const message = (e as Error).message;
          if (message !== this.lastError) this.logError("tether: reading the api_keys table (keeping the last copy)", e);
          this.lastError = message;
          this.loadedAt = this.now(); // retry after refreshMs (RETRY_MS before the first read), not on every request of an outage
        },
      )
      .finally(() => (this.loading = null));
    if (!this.read) {
      await this.loading;
      if (!this.read) throw unavailable();
    }
  }
}
