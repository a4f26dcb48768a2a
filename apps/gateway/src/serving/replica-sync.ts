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
  // A failure that repeats on every poll (the active checkpoint's directory is gone) is logged once.
  let lastError: string | null = null;
  const resync = () =>
    void registry.sync().then(
      () => void (lastError = null),
      (e: unknown) => {
        const message = (e as Error).message;
        if (message !== lastError) registry.ctx.logError("tether: re-reading the serving set from the checkpoints table", e);
        lastError = message;
      },
    );
  const unlisten = await listen(PROMOTION_CHANNEL, resync);
  const timer = setInterval(resync, intervalMs);
  (timer as { unref?: () => void }).unref?.();
  return async () => {
    clearInterval(timer);
    await unlisten().catch(() => {});
  };
}
