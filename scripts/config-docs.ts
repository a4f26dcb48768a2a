// docs/configuration.md, generated from the gateway's zod schema (packages/shared/src/schemas/gateway-config.ts):
// every option with its type, default and environment variable from the schema itself, and its description
// from the comment beside it in the source. `npm run docs:config` rewrites the file; test/docs.test.ts fails
// when the committed file differs from what this prints.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { GATEWAY_ENV, gatewayConfig } from "../packages/shared/src/schemas/gateway-config";

const REPO = join(import.meta.dirname, "..");
const SCHEMAS = join(REPO, "packages/shared/src/schemas");
export const CONFIG_DOCS_PATH = join(REPO, "docs/configuration.md");

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  default?: unknown;
  minLength?: number;
  pattern?: string;
  properties?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
}

/** Code of a line without string literals and without its trailing comment; the comment apart. */
function splitComment(line: string): { code: string; comment: string | null } {
  const code = line.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g, (s) => " ".repeat(s.length));
  const at = code.indexOf("//");
  return at < 0 ? { code, comment: null } : { code: code.slice(0, at), comment: line.slice(at + 2).trim() };
}

/**
 * The comment of each top-level key of the object literal that follows `const <name> =` in the schema
 * sources: comment lines right above the key and trailing comments on the key's lines, joined.
 */
function keyComments(name: string): Map<string, string> {
  for (const file of readdirSync(SCHEMAS).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))) {
    const lines = readFileSync(join(SCHEMAS, file), "utf8").split("\n");
    const start = lines.findIndex((l) => new RegExp(`^(export )?const ${name}\\b`).test(l));
    if (start < 0) continue;
    const out = new Map<string, string>();
    let depth = 0; // ( and { opened since the declaration
    let opened = false;
    let key: string | null = null;
    let above: string[] = [];
    for (const line of lines.slice(start)) {
      const { code, comment } = splitComment(line);
      const topLevel = opened && depth === 2; // inside `z.strictObject({`
      const keyMatch = topLevel ? /^\s*("?[$\w]+"?)\s*:/.exec(code) : null;
      if (keyMatch) {
        key = keyMatch[1]!.replace(/"/g, "");
        out.set(key, above.join(" "));
        above = [];
      }
      if (topLevel && code.trim() === "" && comment !== null) above.push(comment); // a comment line above a key
      else if (comment !== null && key !== null && depth >= 2) out.set(key, [out.get(key), comment].filter(Boolean).join(" "));
      for (const ch of code) {
        if (ch === "(" || ch === "{") (depth++, (opened = true));
        if (ch === ")" || ch === "}") depth--;
      }
      if (opened && depth <= 0) return out;
    }
    return out;
  }
  throw new Error(`config-docs: no declaration of ${name} in ${SCHEMAS}`);
}

/** The schema constant a key of gatewayConfig is built from (`limits: gatewayLimits.prefault({})`). */
function sourceName(key: string): string | null {
  const text = readFileSync(join(SCHEMAS, "gateway-config.ts"), "utf8");
  return new RegExp(`^\\s+${key.replace("$", "\\$")}:\\s*([A-Za-z_]\\w*)\\.`, "m").exec(text)?.[1] ?? null;
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (s.anyOf) return s.anyOf.map(typeOf).join(" | ");
  if (s.type === "string" && s.pattern?.startsWith("^postgres")) return "postgres:// URL";
  if (s.type === "string" && (s.minLength ?? 0) > 1) return `string (≥ ${s.minLength} chars)`;
  return Array.isArray(s.type) ? s.type.join(" | ") : (s.type ?? "any");
}

// In a table cell: | would end the cell, <…> would be read as an HTML tag.
const cell = (text: string) => text.replace(/([|<>])/g, "\\$1").replace(/\n/g, " ");

function table(prefix: string, schema: JsonSchema, comments: Map<string, string>, defaults: Record<string, unknown>): string[] {
  const envOf = new Map(Object.entries(GATEWAY_ENV).map(([env, key]) => [key as string, env]));
  const rows = ["| option | type | default | environment | description |", "|---|---|---|---|---|"];
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    if (prop.type === "object" && prop.properties) continue; // its own section
    const value = defaults[key];
    const shown = value === undefined ? "unset" : `\`${JSON.stringify(value)}\``;
    const env = prefix === "" && envOf.has(key) ? `\`${envOf.get(key)}\`` : "";
    rows.push(`| \`${prefix}${key}\` | ${cell(typeOf(prop))} | ${cell(shown)} | ${env} | ${cell(comments.get(key) ?? "")} |`);
  }
  return rows;
}

/** The whole markdown file. */
export function renderConfigDocs(): string {
  const schema = z.toJSONSchema(gatewayConfig, { io: "input", unrepresentable: "any" }) as JsonSchema;
  const defaults = gatewayConfig.parse({}) as Record<string, unknown>;
  const out = [
    "# Gateway configuration",
    "",
    "<!-- Generated by `npm run docs:config` from packages/shared/src/schemas/gateway-config.ts; do not edit by hand. -->",
    "",
    "The gateway reads one config object: the file named by `TETHER_CONFIG` (JSON, or a `.js`/`.ts` module whose",
    "default export is the object), then the environment variables below on top of it (an empty variable counts",
    "as unset). Every problem is reported at startup, one line each, before anything binds. Unknown keys are",
    "refused by name. `TETHER_ORT_THREADS` (not a config key) pins ONNX Runtime's intra-op threads;",
    "`TETHER_PGLITE_THREAD=0` (not a config key) keeps the embedded PGlite on the main thread instead of its worker thread.",
    "",
    "```json",
    JSON.stringify({ port: 8787, drift_guard: { max_kl_percentile: 95 }, limits: { max_concurrent: 8 } }, null, 2),
    "```",
    "",
    "## Top level",
    "",
    ...table("", schema, keyComments("gatewayConfig"), defaults),
  ];
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    if (!(prop.type === "object" && prop.properties)) continue;
    const name = sourceName(key);
    const comments = name ? keyComments(name) : new Map<string, string>();
    const intro = keyComments("gatewayConfig").get(key);
    out.push("", `## \`${key}\``, "");
    if (intro) out.push(intro, "");
    out.push(...table(`${key}.`, prop, comments, (defaults[key] ?? {}) as Record<string, unknown>));
  }
  return out.join("\n") + "\n";
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(CONFIG_DOCS_PATH, renderConfigDocs());
  console.log(`wrote ${CONFIG_DOCS_PATH}`);
}
