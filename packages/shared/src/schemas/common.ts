// Building blocks shared by the schemas: numbers and enums whose error messages name the allowed
// range and the value received, paths written the way users write them, and multi-line config errors.
//
// Every message is a predicate phrase ("must be an integer in [1, 64] (got 0)") so that a caller can
// prefix it with the parameter's name: "n must be an integer in [1, 64] (got 0)", like ParameterError.

import { z } from "zod";

type Bound = { value: number; exclusive?: boolean };

/** "[0, 2]", "(0, 1]", "≥ 0", "> 0" — the human form of an interval. */
export function describeRange(min?: Bound, max?: Bound): string {
  if (min && max) {
    return `${min.exclusive ? "(" : "["}${min.value}, ${max.value}${max.exclusive ? ")" : "]"}`;
  }
  if (min) return `${min.exclusive ? ">" : "≥"} ${min.value}`;
  if (max) return `${max.exclusive ? "<" : "≤"} ${max.value}`;
  return "finite";
}

/** A received value, short enough for one line of an error message. */
export function formatReceived(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : typeof value;
}

function got(input: unknown): string {
  return ` (got ${formatReceived(input)})`;
}

/** The message for a missing value or a value of the wrong type. */
function typeError(expected: string) {
  return (iss: { input?: unknown }) => (iss.input === undefined ? "is required" : `must be ${expected}${got(iss.input)}`);
}

/**
 * A finite number in a range; bounds are inclusive unless `exclusive`.
 * @example real({ min: 0, max: 2 }) // temperature: "must be a number in [0, 2] (got 3)"
 */
export function real(min?: number | Bound, max?: number | Bound) {
  const lo = typeof min === "number" ? { value: min } : min;
  const hi = typeof max === "number" ? { value: max } : max;
  const range = describeRange(lo, hi);
  const phrase = lo && hi ? `a number in ${range}` : lo || hi ? `a number ${range}` : "a finite number";
  const message = (iss: { input?: unknown }) => `must be ${phrase}${got(iss.input)}`;
  return z.number({ error: typeError(phrase) }).refine(
    (v) => (!lo || (lo.exclusive ? v > lo.value : v >= lo.value)) && (!hi || (hi.exclusive ? v < hi.value : v <= hi.value)),
    { error: message },
  );
}

/**
 * A safe integer in [min, max] (either bound may be omitted).
 * @example int(1, 64) // n: "must be an integer in [1, 64] (got 0)"
 */
export function int(min?: number, max?: number) {
  const lo = min === undefined ? undefined : { value: min };
  const hi = max === undefined ? undefined : { value: max };
  const range = describeRange(lo, hi);
  const phrase = lo && hi ? `an integer in ${range}` : lo || hi ? `an integer ${range}` : "an integer";
  return z
    .number({ error: typeError(phrase) })
    .refine((v) => Number.isSafeInteger(v) && (!lo || v >= lo.value) && (!hi || v <= hi.value), {
      error: (iss) => `must be ${phrase}${got(iss.input)}`,
    });
}

/**
 * One of a fixed set of strings.
 * @example oneOf(["hard", "soft"]) // "must be one of "hard", "soft" (got "medium")"
 */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  const list = values.map((v) => JSON.stringify(v)).join(", ");
  return z.enum(values, { error: (iss) => (iss.input === undefined ? "is required" : `must be one of ${list}${got(iss.input)}`) });
}

/** A non-empty string. */
export function text() {
  return z.string({ error: typeError("a string") }).min(1, { error: "must not be empty" });
}

/** A boolean with a message that says so. */
export function bool() {
  return z.boolean({ error: typeError("true or false") });
}

/** Lower-case hex sha256 digest. */
export const sha256Hex = z
  .string({ error: typeError("a sha256 hex digest") })
  .regex(/^[0-9a-f]{64}$/, { error: (iss) => `must be 64 lower-case hex digits (sha256)${got(iss.input)}` });

/** ISO 8601 timestamp with an offset, e.g. "2025-01-31T12:00:00Z". */
export const isoTimestamp = z.iso.datetime({ offset: true, error: (iss) => `must be an ISO 8601 timestamp${got(iss.input)}` });

/**
 * A JSON path the way users write it: `messages[0].role`, `drift_guard.max_kl`, `""` for the root.
 * @example formatPath(["messages", 0, "role"]) // "messages[0].role"
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** One line per zod issue: `path: reason`, with `rename` mapping a path to the name the user typed. */
export function issueLines(error: z.ZodError, rename: (path: readonly PropertyKey[]) => string = formatPath): string[] {
  const line = (path: readonly PropertyKey[], message: string) => {
    const where = rename(path);
    return `${where === "" ? "(root)" : where}: ${message}`;
  };
  return error.issues.map(leafIssue).flatMap((issue) =>
    // one line per unknown key, each named where it is, so a typo reads "drift_gaurd: is not a known option"
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => line([...issue.path, key], "is not a known option"))
      : [line(issue.path, issueMessage(issue))],
  );
}

/**
 * The most specific issue: inside a union whose value matched exactly one branch's type (e.g. an array
 * of 5 stop strings, or a --freeze string that failed to parse), that branch's problem rather than the
 * union's generic message.
 */
export function leafIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return issue;
  const typed = issue.errors.filter((branch) => branch.length > 0 && !branch.some((i) => i.code === "invalid_type" && i.path.length === 0));
  if (typed.length !== 1) return issue;
  const inner = leafIssue(typed[0]![0]!);
  return { ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue;
}

/** zod's own messages for structural problems, reworded as predicates. */
export function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
  if (issue.code === "invalid_type" && issue.message.endsWith("received undefined")) return "is required";
  // a record key that failed its own schema: report the key's problem, not "Invalid key in record"
  if (issue.code === "invalid_key" && issue.issues[0]) return issue.issues[0].message;
  return issue.message;
}

/**
 * A configuration with one or more problems; `message` has one line per problem.
 * @example
 * new ConfigError("gateway config", ["port (PORT): must be an integer in [0, 65535] (got \"x\")"]).message
 * // "invalid gateway config:\n  port (PORT): must be an integer in [0, 65535] (got \"x\")"
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";

  constructor(
    what: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid ${what}:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
}
