// The registry's rows in the drift-log database (drizzle over PGlite or PostgreSQL): checkpoints with their
// status, the append-only promotions audit, and the NOTIFY that tells the other replicas to re-read.
//
// Several gateway processes may promote at once (PostgreSQL). Every change runs in one transaction that
// first takes a transaction-scoped advisory lock (one key for the whole registry), then re-reads the active
// and canary rows and decides from THOSE (not from the process's memory), so changes apply one after the
// other across processes and each audit row's previous checkpoint is the one that really served before it.
// On PGlite (one process per data dir, lock file) the same statement is a no-op lock; the registry's own
// queue serialises the process.
import { and, desc, eq, inArray, or, sql } from "drizzle-orm";
import type { Db } from "@tether/db/create-db";
import { checkpoints, promotions, type Checkpoint, type NewCheckpoint, type NewPromotion, type Promotion } from "@tether/db/schema";

/** LISTEN/NOTIFY channel of serving-set changes; the payload is the promotions row id (or "sync"). */
export const PROMOTION_CHANNEL = "tether_promotion";

export type CheckpointStatus = Checkpoint["status"];

/** Key of the registry's advisory lock (pg_advisory_xact_lock takes a bigint; any constant works). */
export const REGISTRY_LOCK_KEY = 0x7465746865720a01n; // "tether" + 0x0a01

/** What reads the registry: the database or an open transaction. */
export type RegistryReader = Pick<Db, "select">;

/** The serving rows as the table has them. */
export interface TableServing {
  active: Checkpoint | null;
  canary: Checkpoint | null; // status 'canary' with a share > 0
}

/** A registry change decided from the table: status updates, the audit row, the checkpoints served after it. */
export interface ChangePlan {
  changes: StatusChange[];
  audit: NewPromotion;
  serves: string[]; // ids that must be loaded (and warmed) before it may commit
}

/** A status change of one checkpoint inside a promotion. */
export interface StatusChange {
  id: string;
  status: CheckpointStatus;
  canaryPercent: number | null;
}

/**
 * @example const store = new RegistryStore(handle.db); await store.servingRows();
 */
export class RegistryStore {
  constructor(private readonly db: Db) {}

  /** Reads outside any transaction. */
  get reader(): RegistryReader {
    return this.db;
  }

  list(): Promise<Checkpoint[]> {
    return this.db.select().from(checkpoints).orderBy(desc(checkpoints.createdAt), checkpoints.id);
  }

  async get(id: string): Promise<Checkpoint | null> {
    const [row] = await this.db.select().from(checkpoints).where(eq(checkpoints.id, id));
    return row ?? null;
  }

  /** Inserts the row unless the id exists; returns whether it was new. */
  async insert(row: NewCheckpoint): Promise<boolean> {
    const inserted = await this.db.insert(checkpoints).values(row).onConflictDoNothing().returning({ id: checkpoints.id });
    return inserted.length > 0;
  }

  /** The active and canary rows (what every replica must serve). */
  servingRows(reader: RegistryReader = this.db): Promise<Checkpoint[]> {
    return reader.select().from(checkpoints).where(inArray(checkpoints.status, ["active", "canary"]));
  }

  /** The active row and the canary row taking traffic, as the table (or a transaction) sees them. */
  async serving(reader: RegistryReader = this.db): Promise<TableServing> {
    const rows = await this.servingRows(reader);
    return { active: rows.find((r) => r.status === "active") ?? null, canary: rows.find((r) => r.status === "canary" && (r.canaryPercent ?? 0) > 0) ?? null };
  }

  /** First start on an empty registry: the configured policy becomes active. Returns whether it did. */
  async activateIfNone(id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [active] = await tx.select({ id: checkpoints.id }).from(checkpoints).where(eq(checkpoints.status, "active")).for("update");
      if (active) return false;
      await tx.update(checkpoints).set({ status: "active", canaryPercent: null }).where(eq(checkpoints.id, id));
      return true;
    });
  }

  /**
   * One registry change under the registry lock: `plan` decides from the locked table state; when
   * `ready(plan)` is false (it needs an engine the caller has not loaded yet) nothing is written and the
   * plan comes back, so the caller loads outside the lock and tries again. Otherwise the status changes and
   * the audit row commit together and NOTIFY (delivered at commit) tells the other replicas.
   * @example const r = await store.change(async (read) => plan(await store.serving(read)), (p) => p.serves.every(isLoaded));
   */
  async change(plan: (reader: RegistryReader) => Promise<ChangePlan>, ready: (plan: ChangePlan) => boolean): Promise<{ promotion: Promotion } | { retry: ChangePlan }> {
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${REGISTRY_LOCK_KEY.toString()}::bigint)`);
      const decided = await plan(tx);
      if (!ready(decided)) return { retry: decided };
      for (const c of decided.changes) await tx.update(checkpoints).set({ status: c.status, canaryPercent: c.canaryPercent }).where(eq(checkpoints.id, c.id));
      const [row] = await tx.insert(promotions).values(decided.audit).returning();
      await tx.execute(sql`select pg_notify(${PROMOTION_CHANNEL}, ${String(row!.id)})`);
      return { promotion: row! };
    });
  }

  promotions(limit: number): Promise<Promotion[]> {
    return this.db.select().from(promotions).orderBy(desc(promotions.id)).limit(limit);
  }

  /** The latest audit row that made `id` the active checkpoint (promote, or rollback to it). */
  async lastMadeActive(id: string, reader: RegistryReader = this.db): Promise<Promotion | null> {
    const [row] = await reader
      .select()
      .from(promotions)
      .where(and(eq(promotions.checkpointId, id), or(eq(promotions.action, "promote"), and(eq(promotions.action, "rollback"), sql`${promotions.canaryPercent} is null`))))
      .orderBy(desc(promotions.id))
      .limit(1);
    return row ?? null;
  }
}
