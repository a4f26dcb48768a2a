// @tether/db (Node): drift-log schema, createDb factory (PGlite or PostgreSQL), migrations, batched writes and
// retention. Code that must also run in workerd imports @tether/db/core (and @tether/db/postgres-js) instead.
export * from "./schema";
export { createDb, defaultDataDir, selectRows, type Db, type DbHandle, type DbTarget } from "./create-db";
export { PgliteBusyError } from "./pglite-lock";
export { migrate, migrationsFolder, type MigrateResult } from "./migrate";
export { insertDriftBatch, MAX_BIND_PARAMETERS, MAX_ROWS_PER_INSERT, type DriftBatch, type DriftBatchResult } from "./writes";
export { pruneDriftLog, retentionCutoff, type PruneOptions, type PruneResult } from "./retention";
