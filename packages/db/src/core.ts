// @tether/db/core: the runtime-free part of @tether/db — schema, the Db type, batched drift writes and
// retention — for code that must also load in workerd. Drivers are separate entries: create-db.ts (PGlite or
// postgres.js, Node) through "@tether/db", postgres-js.ts (a postgres.js client made by the caller).
export * from "./schema";
export { selectRows, type Db } from "./db";
export { insertDriftBatch, MAX_BIND_PARAMETERS, MAX_ROWS_PER_INSERT, type DriftBatch, type DriftBatchResult } from "./writes";
export { pruneDriftLog, retentionCutoff, type PruneOptions, type PruneResult } from "./retention";
