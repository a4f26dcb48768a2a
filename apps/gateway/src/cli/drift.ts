// `npm run drift -- summary|requests|alerts [--since 1h] [--checkpoint id] [--limit n] [--json]`: reads the drift
// log of whichever database the gateway uses (DATABASE_URL, else PGlite under TETHER_DATA_DIR/pgdata, or what
// TETHER_CONFIG says — the same resolution as server.node.ts) and prints tables, or JSON for scripts.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createDb, PgliteBusyError, type Db } from "@tether/db";
import { ConfigError } from "@tether/shared/schemas/common";
import { loadGatewayConfig } from "@tether/shared/schemas/gateway-config";
import { driftLogTarget, readConfigFile } from "../config-file";
import { alertList, latestRequests, summary, type ReportFilter } from "./drift-report";
import { clock, fixed, percent, renderTable } from "./table";

const COMMANDS = ["summary", "requests", "alerts"] as const;
type Command = (typeof COMMANDS)[number];

export const USAGE = `usage: npm run drift -- <summary|requests|alerts> [--since 30m|1h|2d] [--checkpoint id] [--limit n] [--json]
  summary   per checkpoint and arm: requests, KL mean/p95, rejection and fallback rates, latency
  requests  the latest requests (default 20): id, time, checkpoint, KL, accepted, fallback, status
  alerts    alerts open since --since (default all): state, severity, rule, value vs threshold
Reads DATABASE_URL, else the PGlite under TETHER_DATA_DIR (default .tether)/pgdata; TETHER_CONFIG as for npm start.`;

export interface DriftArgs extends ReportFilter {
  command: Command;
  json: boolean;
}

/**
 * "90s", "30m", "1h", "2d" → milliseconds.
 * @example parseDuration("--since", "30m") // 1800000
 */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: expected a duration like 90s, 30m, 1h or 2d (got "${text}")`);
  return Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as "s" | "m" | "h" | "d"];
}

export class UsageError extends Error {}

/** Parses argv (after `--`); `now` anchors --since. */
export function parseDriftArgs(argv: string[], now: Date): DriftArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { since: { type: "string" }, checkpoint: { type: "string" }, limit: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) throw new UsageError("");
  const command = positionals[0];
  if (positionals.length !== 1 || !COMMANDS.includes(command as Command)) {
    throw new UsageError(`expected one command, summary, requests or alerts (got ${positionals.length ? positionals.join(" ") : "none"})`);
  }
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new UsageError(`--limit: expected an integer in [1, 100000] (got "${values.limit}")`);
  return {
    command: command as Command,
    json: values.json ?? false,
    since: values.since === undefined ? null : new Date(now.getTime() - parseDuration("--since", values.since)),
    checkpoint: values.checkpoint ?? null,
    limit,
  };
}

/** Runs one command against a database and returns what to print. */
export async function runDriftCommand(db: Db, args: DriftArgs): Promise<string> {
  if (args.command === "summary") {
    const rows = await summary(db, args);
    if (args.json) return JSON.stringify({ object: "drift.summary", since: args.since?.toISOString() ?? null, data: rows }, null, 2);
    if (rows.length === 0) return "no requests in the drift log" + (args.since ? ` since ${clock(args.since.toISOString())} UTC` : "");
    return renderTable(
      ["checkpoint", "arm", "requests", "errors", "kl mean", "kl p95", "rejected", "fallback", "p50 ms", "p95 ms", "last request (UTC)"],
      rows.map((r) => [r.checkpoint_id, r.arm, r.requests, r.errors, fixed(r.kl_mean, 4), fixed(r.kl_p95, 4), percent(r.rejection_rate), percent(r.fallback_rate), fixed(r.latency_p50_ms, 1), fixed(r.latency_p95_ms, 1), clock(r.last_at)]),
    );
  }
  if (args.command === "requests") {
    const rows = await latestRequests(db, args);
    if (args.json) return JSON.stringify({ object: "list", data: rows }, null, 2);
    if (rows.length === 0) return "no requests";
    return renderTable(
      ["id", "time (UTC)", "checkpoint", "arm", "kl mean", "accepted", "fallback", "status", "ms"],
      rows.map((r) => [r.id, clock(r.created_at), r.checkpoint_id, r.arm, fixed(r.kl_mean, 4), `${r.accepted}/${r.n}`, r.fallback, r.status, fixed(r.total_ms, 1)]),
    );
  }
  const rows = await alertList(db, args);
  if (args.json) return JSON.stringify({ object: "list", data: rows }, null, 2);
  if (rows.length === 0) return "no alerts";
  return renderTable(
    ["id", "state", "severity", "rule", "checkpoint", "arm", "condition", "value", "since (UTC)", "resolved (UTC)"],
    rows.map((r) => [r.id, r.state, r.severity, r.rule, r.checkpoint_id, r.arm, condition(r), fixed(r.value, 4), clock(r.since), clock(r.resolved_at)]),
  );
}

/** "p95(kl_mean, 5m) > 2.2500" */
function condition(r: { metric: string | null; window: string | null; statistic: string | null; comparison: string | null; threshold: number | null }): string | null {
  if (r.metric === null) return r.threshold === null ? null : `> ${r.threshold.toFixed(4)}`;
  return `${r.statistic ?? ""}(${r.metric}${r.window ? `, ${r.window}` : ""}) ${r.comparison ?? ">"} ${r.threshold === null ? "?" : r.threshold.toFixed(4)}`;
}

async function main(): Promise<number> {
  let args: DriftArgs;
  try {
    args = parseDriftArgs(process.argv.slice(2), new Date());
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    if (e.message) process.stderr.write(`drift: ${e.message}\n`);
    process.stderr.write(`${USAGE}\n`);
    return e.message ? 2 : 0;
  }
  let target: string;
  try {
    target = driftLogTarget(loadGatewayConfig(await readConfigFile(process.env.TETHER_CONFIG), process.env));
  } catch (e) {
    for (const line of e instanceof ConfigError ? e.problems : [(e as Error).message]) process.stderr.write(`drift: ${line}\n`);
    return 2;
  }
  // Opening a missing PGlite directory would create an empty database: say where the log was expected.
  if (!/^postgres(ql)?:\/\//i.test(target) && !existsSync(target)) {
    process.stderr.write(`drift: no drift log at ${target} (start the gateway first, or set DATABASE_URL / TETHER_DATA_DIR)\n`);
    return 1;
  }
  try {
    const handle = await createDb(target);
    try {
      process.stdout.write(`${await runDriftCommand(handle.db, args)}\n`);
    } finally {
      await handle.close();
    }
    return 0;
  } catch (e) {
    const message = e instanceof PgliteBusyError ? e.message : `${target.startsWith("postgres") ? "database" : target}: ${(e as Error).message.split("\n")[0]}`;
    process.stderr.write(`drift: ${message}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  process.exitCode = await main();
}
