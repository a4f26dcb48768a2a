// Structured log lines: one JSON object per line with time, level, msg and the request id where there is one;
// secrets (passwords in postgres:// URLs, bearer tokens, the configured admin token) are masked in every
// string, and request/response content only appears when the config says log_content: true.
//
// Runtime-free (no node: imports): the Worker entry can give it console.log as the sink.

export type LogLevel = "info" | "warn" | "error";

/** One log record; `request_id` is SPEC's x-tether-request-id. */
export interface LogRecord {
  level: LogLevel;
  msg: string;
  request_id?: string;
  [field: string]: unknown;
}

export type Logger = (record: LogRecord) => void;

const URL_PASSWORD = /\b(postgres(?:ql)?:\/\/[^:/@\s"]*:)[^@\s"]*@/gi;
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi;

/**
 * Masks secrets in a string.
 * @example redact("postgres://u:hunter2@db/x Bearer abc", []) // "postgres://u:***@db/x Bearer ***"
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text.replace(URL_PASSWORD, "$1***@").replace(BEARER, "$1***");
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join("***");
  return out;
}

/** An error as one line: its message and its causes' (no stack: stacks can quote request data). */
export function errorText(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    parts.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(" <- ");
}

/**
 * A logger writing JSON lines to `write`, with every string field redacted.
 * @example const log = jsonLogger((line) => process.stderr.write(line + "\n"), { secrets: [adminToken] });
 * log({ level: "info", msg: "request", request_id: "ab12", status: 200 });
 */
export function jsonLogger(write: (line: string) => void, options: { secrets?: readonly string[]; now?: () => Date } = {}): Logger {
  const secrets = (options.secrets ?? []).filter((s) => s.length > 0);
  const now = options.now ?? (() => new Date());
  return (record) => {
    const out: Record<string, unknown> = { time: now().toISOString() };
    for (const [key, value] of Object.entries(record)) out[key] = typeof value === "string" ? redact(value, secrets) : value;
    write(JSON.stringify(out));
  };
}
