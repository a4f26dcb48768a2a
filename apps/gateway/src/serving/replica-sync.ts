// Several gateway processes on one database serve the same set: each re-reads the `checkpoints` table when a
// promotion is NOTIFYed (PostgreSQL: every replica at once) and on a poll (PGlite, and a safety net for a
// notification lost while a connection was down).
import type { DbHandle } from "@tether/db/create-db";
import type { Registry } from "./registry";
import { PROMOTION_CHANNEL } from "./registry-store";

/**
 * @example const stop = await startReplicaSync(registry, handle.listen, 1000); … await stop();
 */
export async function startReplicaSync(registry: Registry, listen: DbHandle["listen"], intervalMs: number): Promise<() => Promise<void>> {
  const resync = () => void registry.sync().catch((e: unknown) => registry.ctx.logError("tether: re-reading the serving set from the checkpoints table", e));
  const unlisten = await listen(PROMOTION_CHANNEL, resync);
  const timer = setInterval(resync, intervalMs);
  (timer as { unref?: () => void }).unref?.();
  return async () => {
    clearInterval(timer);
    await unlisten().catch(() => {});
  };
}
