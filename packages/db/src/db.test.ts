// The shared database suite on each backend: PGlite (in memory, booted once for the file) always, PostgreSQL when TEST_DATABASE_URL is set.
import { createDb } from "./create-db";
import { defineDbSuite } from "../../../test/support/db-suite";

const postgresUrl = process.env.TEST_DATABASE_URL;

defineDbSuite("pglite", () => createDb("memory://"), { fresh: true });
// The same suite through the worker-thread proxy (pglite-thread.ts): same rows, values and errors as in process.
defineDbSuite("pglite (worker thread)", () => createDb("memory://", { thread: true }), { fresh: true });
// Not `fresh`: a CI database may be shared with other suites and re-used across runs.
defineDbSuite("postgres", () => createDb(postgresUrl!), { skip: !postgresUrl, fresh: false });
