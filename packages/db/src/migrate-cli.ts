// `npm run db:migrate`: migrates DATABASE_URL if set, else the embedded PGlite under TETHER_DATA_DIR; one line out, one line on failure.
import { createDb, type DbHandle } from "./create-db";
import { migrate } from "./migrate";

// One line for an error, without a stack: the innermost cause (drizzle wraps driver errors as
// "Failed query: …"), the messages of an AggregateError (Node's connect to several addresses), the code.
function describeError(error: unknown): string {
  let err = error;
  while (err instanceof Error && err.cause !== undefined && err.cause !== err) err = err.cause;
  let message: string;
  if (err instanceof AggregateError && err.errors.length > 0) {
    message = [...new Set(err.errors.map((e) => describeError(e)))].join("; ");
  } else if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    message = err.message || (typeof code === "string" ? code : err.name);
    if (typeof code === "string" && !message.includes(code)) message += ` (${code})`;
  } else {
    message = String(err);
  }
  return message.replace(/\s+/g, " ").trim();
}

async function main(): Promise<number> {
  const target = process.env.DATABASE_URL || undefined;
  let handle: DbHandle | undefined;
  try {
    handle = await createDb(target);
    const { applied, total } = await migrate(handle);
    const what = applied === 0 ? "already up to date" : `applied ${applied} migration${applied === 1 ? "" : "s"}`;
    process.stdout.write(`db:migrate: ${handle.label}: ${what} (${total} in migrations/)\n`);
    return 0;
  } catch (error) {
    const where = handle?.label ?? (target ? "DATABASE_URL" : "the embedded database");
    process.stderr.write(`db:migrate: failed to migrate ${where}: ${describeError(error)}\n`);
    return 1;
  } finally {
    await handle?.close().catch(() => {});
  }
}

process.exitCode = await main();
