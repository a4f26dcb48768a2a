// The registry's rows in the drift-log database (drizzle over PGlite or PostgreSQL): checkpoints with their
// status, the append-only promotions audit, and the NOTIFY that tells the other replicas to re-read.
import { and, desc, eq, inArray, or, sql } from "drizzle-orm";
import type { Db } from "@tether/db/create-db";
import { checkpoints, promotions, type Checkpoint, type NewCheckpoint, type NewPromotion, type Promotion } from "@tether/db/schema";

/** LISTEN/NOTIFY channel of serving-set changes; the payload is the promotions row id (or "sync"). */
export const PROMOTION_CHANNEL = "tether_promotion";

export type CheckpointStatus = Checkpoint["status"];

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
  servingRows(): Promise<Checkpoint[]> {
    return this.db.select().from(checkpoints).where(inArray(checkpoints.status, ["active", "canary"]));
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

  /** Status changes and their audit row in one transaction, then NOTIFY (delivered at commit). */
  async transition(changes: StatusChange[], audit: NewPromotion): Promise<Promotion> {
    return this.db.transaction(async (tx) => {
      for (const c of changes) await tx.update(checkpoints).set({ status: c.status, canaryPercent: c.canaryPercent }).where(eq(checkpoints.id, c.id));
      const [row] = await tx.insert(promotions).values(audit).returning();
      await tx.execute(sql`select pg_notify(${PROMOTION_CHANNEL}, ${String(row!.id)})`);
      return row!;
    });
  }

  promotions(limit: number): Promise<Promotion[]> {
    return this.db.select().from(promotions).orderBy(desc(promotions.id)).limit(limit);
  }

  /** The latest audit row that made `id` the active checkpoint (promote, or rollback to it). */
  async lastMadeActive(id: string): Promise<Promotion | null> {
    const [row] = await this.db
      .select()
      .from(promotions)
      .where(and(eq(promotions.checkpointId, id), or(eq(promotions.action, "promote"), and(eq(promotions.action, "rollback"), sql`${promotions.canaryPercent} is null`))))
      .orderBy(desc(promotions.id))
      .limit(1);
    return row ?? null;
  }
}
