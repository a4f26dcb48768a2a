// tether-admin (`npm run admin -- <command>`): every admin HTTP call for people who prefer a CLI to curl
// (TETHER_URL, TETHER_ADMIN_TOKEN), plus the token and API-key commands, which work on the database directly
// (the same DATABASE_URL / TETHER_DATA_DIR / TETHER_CONFIG the gateway reads). Prints JSON; a secret is
// printed once, by `token create` or `api-key create`, and never otherwise.
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";
import { createDb, migrate, type DbHandle } from "@tether/db";
import { loadGatewayConfig } from "@tether/shared/schemas/gateway-config";
import { createAdminToken, listAdminTokens, revokeAdminToken } from "../admin/named-tokens";
import { createApiKey, listApiKeys, revokeApiKey } from "../admin/api-keys";
import { readConfigFile } from "../config-file"; // not server.node.ts: the CLI must not load onnxruntime-node

const USAGE = `usage: npm run admin -- <command>
  checkpoints [list] | checkpoints show <id> | checkpoints register <path>
  promote <id> [--canary <percent>] [--force --reason <text>] [--reason <text>]
  rollback [--reason <text>]
  promotions [--limit <n>]
  alerts [--state pending|firing|resolved] [--limit <n>]
  drift [--window 1m|5m|1h] [--checkpoint <id>]
  token create <name> | token revoke <name> | token list
  api-key create <name> [--expires-in <days>] | api-key revoke <name> | api-key list
environment: TETHER_URL (default http://127.0.0.1:8787), TETHER_ADMIN_TOKEN; token and api-key commands: DATABASE_URL or
TETHER_DATA_DIR, TETHER_CONFIG (with PGlite, stop the gateway first: one process per data dir)`;

type Out = (line: string) => void;

/** --name value pairs and bare flags after the positional arguments. */
function options(args: string[]): { positional: string[]; flags: Record<string, string | true> } {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("--")) positional.push(a);
    else if (a === "--force") flags.force = true;
    else if (args[i + 1] === undefined) throw new Error(`${a} needs a value`);
    else flags[a.slice(2)] = args[++i]!;
  }
  return { positional, flags };
}

async function http(env: NodeJS.ProcessEnv, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const base = (env.TETHER_URL || "http://127.0.0.1:8787").replace(/\/$/, "");
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (env.TETHER_ADMIN_TOKEN) headers.authorization = `Bearer ${env.TETHER_ADMIN_TOKEN}`;
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** The admin HTTP call of a command, or null when it is not one. */
function request(cmd: string, positional: string[], flags: Record<string, string | true>): { method: string; path: string; body?: unknown } | null {
  const q = (pairs: Record<string, string | true | undefined>) => {
    const s = new URLSearchParams(Object.entries(pairs).filter((e): e is [string, string] => typeof e[1] === "string")).toString();
    return s ? `?${s}` : "";
  };
  const reason = typeof flags.reason === "string" ? flags.reason : undefined;
  if (cmd === "checkpoints") {
    const [sub = "list", arg] = positional;
    if (sub === "list") return { method: "GET", path: "/admin/checkpoints" };
    if (sub === "show" && arg) return { method: "GET", path: `/admin/checkpoints/${encodeURIComponent(arg)}` };
    if (sub === "register" && arg) return { method: "POST", path: "/admin/checkpoints", body: { path: resolve(arg) } };
    return null;
  }
  if (cmd === "promote" && positional[0]) {
    const canary = flags.canary === undefined ? undefined : Number(flags.canary);
    return { method: "POST", path: `/admin/checkpoints/${encodeURIComponent(positional[0])}/promote`, body: { canary_percent: canary, force: flags.force === true, reason } };
  }
  if (cmd === "rollback") return { method: "POST", path: "/admin/rollback", body: { reason } };
  if (cmd === "promotions") return { method: "GET", path: `/admin/promotions${q({ limit: flags.limit })}` };
  if (cmd === "alerts") return { method: "GET", path: `/admin/alerts${q({ state: flags.state, limit: flags.limit })}` };
  if (cmd === "drift") return { method: "GET", path: `/admin/drift${q({ window: flags.window, checkpoint: flags.checkpoint })}` };
  return null;
}

/** Runs `work` on the gateway's database (migrated first), then closes it. */
async function onDatabase<T>(env: NodeJS.ProcessEnv, work: (db: DbHandle["db"]) => Promise<T>): Promise<T> {
  const config = loadGatewayConfig(await readConfigFile(env.TETHER_CONFIG), env);
  const handle = await createDb(config.database_url ?? join(config.data_dir, "pgdata"));
  try {
    await migrate(handle);
    return await work(handle.db);
  } finally {
    await handle.close();
  }
}

async function tokenCommand(sub: string | undefined, name: string | undefined, env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  if (!((sub === "create" || sub === "revoke") && name) && sub !== "list") {
    out(USAGE);
    return 2;
  }
  await onDatabase(env, async (db) => {
    if (sub === "create") out(`token ${name} created; its secret is shown only now:\n${await createAdminToken(db, name!)}`);
    else if (sub === "revoke") {
      if (!(await revokeAdminToken(db, name!))) throw new Error(`no live token named ${name}`);
      out(`token ${name} revoked`);
    } else out(JSON.stringify(await listAdminTokens(db), null, 2));
  });
  return 0;
}

/** `--expires-in <days>` (a positive number, fractions allowed) → the expiry instant. */
function expiryOf(flags: Record<string, string | true>): Date | null {
  const v = flags["expires-in"];
  if (v === undefined) return null;
  const days = Number(v);
  if (typeof v !== "string" || !(days > 0 && Number.isFinite(days))) throw new Error(`--expires-in must be a positive number of days (got ${JSON.stringify(v)})`);
  return new Date(Date.now() + days * 86_400_000);
}

async function apiKeyCommand(sub: string | undefined, name: string | undefined, flags: Record<string, string | true>, env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  if (!((sub === "create" || sub === "revoke") && name) && sub !== "list") {
    out(USAGE);
    return 2;
  }
  const expiresAt = sub === "create" ? expiryOf(flags) : null;
  await onDatabase(env, async (db) => {
    if (sub === "create") {
      const secret = await createApiKey(db, name!, { expiresAt });
      out(`API key ${name} created${expiresAt ? ` (expires ${expiresAt.toISOString()})` : ""}; send it as \`Authorization: Bearer <key>\` on /v1/*. It is shown only now:\n${secret}`);
    } else if (sub === "revoke") {
      if (!(await revokeApiKey(db, name!))) throw new Error(`no live API key named ${name}`);
      out(`API key ${name} revoked (gateways refuse it within promotion.sync_interval_ms)`);
    } else out(JSON.stringify(await listApiKeys(db), null, 2));
  });
  return 0;
}

/**
 * @example await runAdmin(["promote", "policy-…", "--canary", "10"], process.env, console.log) // 0
 */
export async function runAdmin(argv: string[], env: NodeJS.ProcessEnv, out: Out = console.log, err: Out = console.error): Promise<number> {
  try {
    const [cmd, ...rest] = argv;
    const { positional, flags } = options(rest);
    if (cmd === "token") return await tokenCommand(positional[0], positional[1], env, out);
    if (cmd === "api-key") return await apiKeyCommand(positional[0], positional[1], flags, env, out);
    const call = cmd === undefined ? null : request(cmd, positional, flags);
    if (!call) {
      err(USAGE);
      return 2;
    }
    const { status, json } = await http(env, call.method, call.path, call.body);
    (status < 400 ? out : err)(JSON.stringify(json, null, 2));
    return status < 400 ? 0 : 1;
  } catch (e) {
    err(`tether-admin: ${(e as Error).message}`);
    return 1;
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  process.exit(await runAdmin(process.argv.slice(2), process.env));
}
