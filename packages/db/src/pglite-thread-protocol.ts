// Messages between the main-thread PGlite proxy (pglite-thread.ts) and its worker (pglite-thread-worker.ts),
// and errors as data: PostgreSQL's fields (code, detail, constraint, …) survive the thread boundary.
import type { DriftBatch } from "./writes";

/**
 * `rawOids`: types the worker leaves as text because the caller passed its own parser for them.
 * `driftBatch`: insertDriftBatch run whole in the worker (one message for the transaction; the SQL and its
 * parameters are built there, off the serving thread).
 */
export type ToDbWorker =
  | { type: "driftBatch"; id: number; batch: DriftBatch }
  | { type: "query"; id: number; txId?: number; sql: string; params: unknown[]; rowMode?: "array" | "object"; rawOids: number[] }
  | { type: "exec"; id: number; txId?: number; sql: string; rowMode?: "array" | "object"; rawOids: number[] }
  | { type: "begin"; id: number }
  | { type: "end"; id: number; txId: number; commit: boolean }
  | { type: "listen"; id: number; listenId: number; channel: string }
  | { type: "unlisten"; id: number; listenId: number }
  | { type: "close"; id: number };

export type FromDbWorker =
  | { type: "ready" }
  | { type: "result"; id: number; value?: unknown; error?: ErrorData }
  | { type: "notify"; listenId: number; payload: string };

export interface ErrorData {
  name: string;
  message: string;
  stack?: string;
  /** Own string/number fields of the error: PostgreSQL's code, severity, detail, constraint, table, … */
  fields: Record<string, string | number>;
  /** The error's `cause` when it is an Error (drizzle wraps PostgreSQL's error in "Failed query: …"). */
  cause?: ErrorData;
}

export function errorToData(e: unknown, depth = 0): ErrorData {
  if (!(e instanceof Error)) return { name: "Error", message: String(e), fields: {} };
  const fields: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(e)) if (typeof v === "string" || typeof v === "number") fields[k] = v;
  const data: ErrorData = { name: e.name, message: e.message, stack: e.stack, fields };
  if (e.cause instanceof Error && depth < 4) data.cause = errorToData(e.cause, depth + 1);
  return data;
}

/** The worker's error rebuilt on this thread, with the same name, message and PostgreSQL fields. */
export function errorFromData(d: ErrorData): Error {
  const e = Object.assign(new Error(d.message, d.cause ? { cause: errorFromData(d.cause) } : undefined), d.fields);
  e.name = d.name;
  if (d.stack !== undefined) e.stack = d.stack;
  return e;
}
