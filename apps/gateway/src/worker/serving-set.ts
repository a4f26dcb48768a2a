// Which checkpoints the Worker serves, as PostgreSQL says: the `checkpoints` rows that promotion marks
// 'active' (and 'canary'), read when an isolate starts. The rows of the checkpoints it loaded are registered by
// serving/checkpoint-rows.ts, as the Node entry registers them.
import { checkpoints, type Db } from "@tether/db/core";
import { inArray } from "drizzle-orm";

/** The promotion state of the policies: the active one and a canary with its traffic share, if any. */
export interface ServingSet {
  active: { id: string; path: string } | null;
  canary: { id: string; path: string; percent: number } | null;
}

/**
 * @example const set = await readServingSet(db); set.active?.path // "r2://tether-models/sft-7/policy"
 */
export async function readServingSet(db: Db): Promise<ServingSet> {
  const rows = await db
    .select({ id: checkpoints.id, kind: checkpoints.kind, path: checkpoints.path, status: checkpoints.status, percent: checkpoints.canaryPercent, updatedAt: checkpoints.updatedAt })
    .from(checkpoints)
    .where(inArray(checkpoints.status, ["active", "canary"]));
  // The latest update wins if promotion ever left two rows with one status.
  const latest = (status: string) =>
    rows.filter((r) => r.kind === "policy" && r.status === status).sort((a, b) => new Date(b.updatedAt).getTime() - new Date(a.updatedAt).getTime())[0];
  const active = latest("active");
  const canary = latest("canary");
  return {
    active: active ? { id: active.id, path: active.path } : null,
    canary: canary ? { id: canary.id, path: canary.path, percent: canary.percent ?? 0 } : null,
  };
}
