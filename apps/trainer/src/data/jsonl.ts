// User data as JSON Lines: SFT lines {"prompt","completion"}, GRPO lines {"prompt","answer"}. A bad
// line fails with one line naming file, line number and problem (`data.jsonl:17: "completion" must
// be a string`), which the CLI prints as is. Blank lines are skipped; other fields are ignored.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";

/** A supervised example: the loss is on `completion` (+ eos) given `prompt`. */
export interface SftExample {
  prompt: string;
  completion: string;
}

/** A GRPO prompt with the answer the verifiable reward checks. */
export interface GrpoExample {
  prompt: string;
  answer: string;
}

/**
 * An unreadable data file or line; `message` is the one line to show the user.
 * @example
 * new DataLineError("data.jsonl", 17, '"completion" must be a string').message;
 * // 'data.jsonl:17: "completion" must be a string'
 */
export class DataLineError extends Error {
  override readonly name = "DataLineError";

  constructor(
    readonly file: string,
    /** 1-based line number; 0 when the problem is the whole file. */
    readonly line: number,
    readonly problem: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${problem}` : `${file}: ${problem}`);
  }
}

const text = (field: string, allowEmpty: boolean) =>
  z.string({
    error: (issue) => (issue.input === undefined ? `"${field}" is missing` : `"${field}" must be a string`),
  }).refine((s) => allowEmpty || s.length > 0, { message: `"${field}" must not be empty` });

/** Schema of an SFT line; an empty prompt is allowed (plain language-model text). */
export const sftLineSchema = z.object({ prompt: text("prompt", true), completion: text("completion", false) });

/** Schema of a GRPO line; an integer answer (`"answer": 56`) is read as its decimal text. */
export const grpoLineSchema = z.object({
  prompt: text("prompt", false),
  answer: z
    .union([z.string(), z.number().int()], {
      error: (issue) => (issue.input === undefined ? `"answer" is missing` : `"answer" must be a string or an integer`),
    })
    .transform(String)
    .refine((s) => s.length > 0, { message: `"answer" must not be empty` }),
});

function describe(value: unknown): string {
  if (value === null) return "null";
  return Array.isArray(value) ? "an array" : `a ${typeof value}`;
}

/**
 * Parses JSONL text with a schema; `file` only names the source in errors.
 * @example
 * parseJsonl('{"prompt":"1+1=","completion":"2"}\n', sftLineSchema, "data.jsonl");
 * // [{ prompt: "1+1=", completion: "2" }]
 */
export function parseJsonl<T>(content: string, schema: z.ZodType<T>, file: string): T[] {
  const lines = content.replace(/^\uFEFF/, "").split("\n");
  const rows: T[] = [];
  lines.forEach((raw, index) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new DataLineError(file, index + 1, `not valid JSON (${(error as Error).message})`);
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new DataLineError(file, index + 1, `expected a JSON object, got ${describe(value)}`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new DataLineError(file, index + 1, parsed.error.issues[0].message);
    rows.push(parsed.data);
  });
  if (rows.length === 0) throw new DataLineError(file, 0, "contains no examples");
  return rows;
}

/**
 * Reads a JSONL file with a schema.
 * @example
 * readJsonl("data.jsonl", sftLineSchema);
 */
export function readJsonl<T>(path: string, schema: z.ZodType<T>): T[] {
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataLineError(path, 0, code === "ENOENT" ? "no such file" : `cannot be read (${(error as Error).message})`);
  }
  return parseJsonl(content, schema, path);
}

/**
 * Reads SFT data: one {"prompt","completion"} object per line.
 * @example
 * readSftJsonl("data.jsonl"); // SftExample[]; throws DataLineError "data.jsonl:17: …" on a bad line
 */
export function readSftJsonl(path: string): SftExample[] {
  return readJsonl(path, sftLineSchema);
}

/**
 * Reads GRPO data: one {"prompt","answer"} object per line.
 * @example
 * readGrpoJsonl("prompts.jsonl"); // GrpoExample[]
 */
export function readGrpoJsonl(path: string): GrpoExample[] {
  return readJsonl(path, grpoLineSchema);
}

/**
 * Writes rows as JSON Lines (one JSON.stringify per line, trailing newline), creating the directory.
 * @example
 * writeJsonl("out/data.jsonl", [{ prompt: "1+1=", completion: "2" }]);
 */
export function writeJsonl(path: string, rows: readonly unknown[]): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, rows.map((row) => JSON.stringify(row) + "\n").join(""));
}
