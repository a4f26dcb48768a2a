// Retry policy of the drift-log writer: exponential backoff with jitter, and which database errors are worth retrying.

/**
 * Delay before retry number `attempt` (1-based), "equal jitter" (AWS Architecture Blog, "Exponential
 * Backoff and Jitter", 2015):
 *   cap_n = min(maxMs, baseMs · 2^(attempt−1)),  delay = cap_n/2 + u · cap_n/2,  u ∈ [0, 1)
 * Half the window is fixed so a flapping database is never hammered with near-zero delays; the other
 * half spreads replicas that lost the database at the same instant.
 * @example backoffDelay(3, 100, 30_000, 0.5) // 300 (cap 400: 200 + 0.5·200)
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, u: number): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`backoffDelay: attempt must be an integer >= 1, got ${attempt}`);
  if (!(baseMs > 0) || !(maxMs >= baseMs)) {
    throw new RangeError(`backoffDelay: need 0 < baseMs <= maxMs, got baseMs ${baseMs}, maxMs ${maxMs}`);
  }
  if (!(u >= 0 && u < 1)) throw new RangeError(`backoffDelay: u must be in [0, 1), got ${u}`);
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 52));
  return cap / 2 + (u * cap) / 2;
}

// SQLSTATE classes that belong to the rows themselves, so retrying the same rows can never succeed:
// 22 data exception (bad value for a type), 23 integrity constraint violation (CHECK, NOT NULL).
// Everything else is retried: 08 connection, 57 operator intervention (57P01 on `pg_ctl stop`),
// 53 insufficient resources, 40 serialization, and also 42 (e.g. 42P01 undefined table before the
// migration ran), which is the deployment's problem, not the rows'.
const ROW_ERROR_CLASSES = new Set(["22", "23"]);

/**
 * True when an error says the rows can never be written (retrying is pointless), false for errors
 * that may pass: connection refused or reset, timeouts, shutdowns. Follows `cause` chains, since
 * drizzle wraps driver errors in DrizzleQueryError.
 * @example isRowError(Object.assign(new Error("check"), { code: "23514" })) // true
 */
export function isRowError(err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && e !== undefined && depth < 8; depth++) {
    if (e instanceof RangeError || e instanceof TypeError) return true; // our own validation (insertDriftBatch)
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return ROW_ERROR_CLASSES.has(code.slice(0, 2));
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Error of a write that did not settle in time; retried like a connection error. */
export class WriteTimeoutError extends Error {
  override readonly name = "WriteTimeoutError";
}

/**
 * Settles like `promise`, or rejects with WriteTimeoutError after `ms`. The abandoned write may still
 * commit later, which is harmless: its rows are retried and the retry skips them (ON CONFLICT DO NOTHING).
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WriteTimeoutError(`drift log write did not finish within ${ms} ms`)), ms);
  });
  promise.catch(() => {}); // a rejection after the timeout must not surface as unhandled
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One line for a log: the message of the error and of its causes. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, depth = 0; e !== null && e !== undefined && depth < 4; depth++) {
    const message = e instanceof Error ? e.message : String(e);
    const code = (e as { code?: unknown }).code;
    const cause = (e as { cause?: unknown }).cause;
    // drizzle's "Failed query: <sql> params: <every value>" is long and says nothing its cause does not.
    if (message.startsWith("Failed query") && cause !== undefined) {
      e = cause;
      continue;
    }
    parts.push(typeof code === "string" ? `${message} [${code}]` : message);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(" ← ").replace(/\s+/g, " ").slice(0, 500);
}
