// The `checkpoints` rows of the checkpoints an entry loaded at start (status 'registered' unless the id is
// already there), one implementation for the Node entry and the Worker, so promotion and the drift log name
// the same ids on both runtimes.
import { checkpoints, type Db } from "@tether/db/core";
import type { Manifest } from "@tether/shared/schemas/manifest";
import type { ServingCheckpoint } from "../engine/checkpoint";

/**
 * `idOf` names a row: the registry's content-addressed id where the caller can hash synchronously
 * (serving/checkpoint-loader.ts registryId), else the manifest id (the same for trainer-made checkpoints).
 * @example await registerCheckpoints(db, [policy.checkpoint, reference.checkpoint], (m) => registryId(m, sha256Hex));
 */
export async function registerCheckpoints(db: Db, loaded: readonly ServingCheckpoint[], idOf: (manifest: Manifest) => string = (m) => m.id): Promise<void> {
  const rows = loaded.map((c) => ({
    id: idOf(c.manifest),
    kind: c.manifest.kind,
    parentId: c.manifest.parent_id,
    referenceId: c.manifest.reference_id,
    path: c.dir,
    manifest: c.manifest,
    eval: c.evalReport,
  }));
  await db.insert(checkpoints).values(rows).onConflictDoNothing();
}
