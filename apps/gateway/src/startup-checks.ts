// What the Node entry checks before it creates anything (no PGlite folder, no spill file, no loaded model),
// so that each mistake a user makes at startup is one line naming the setting: Node too old (package.json
// engines), the port in use, the data dir not writable, a checkpoint dir missing, the database unreachable.
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { repoFile } from "@tether/db/repo-file";
import { GATEWAY_ENV, type GatewayConfig } from "@tether/shared/schemas/gateway-config";

/** `ENV_NAME (config key)` for a config key that has an environment variable, else the key. */
export function settingName(key: keyof GatewayConfig): string {
  const env = Object.entries(GATEWAY_ENV).find(([, k]) => k === key)?.[0];
  return env === undefined ? key : `${env} (${key})`;
}

/**
 * Whether `version` satisfies an npm engines range made of comparators (>=, >, <=, <, =) joined by spaces
 * (and) and `||` (or) — the forms package.json uses here. Missing minor/patch count as 0.
 * @example satisfiesRange("20.18.1", ">=20.19 <23") // false
 */
export function satisfiesRange(version: string, range: string): boolean {
  const parse = (v: string) => v.replace(/^v/, "").split(".").map((p) => Number.parseInt(p, 10) || 0);
  const compare = (a: number[], b: number[]) => {
    for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
    return 0;
  };
  const have = parse(version);
  return range.split("||").some((alternative) =>
    alternative
      .trim()
      .split(/\s+/)
      .filter((c) => c !== "")
      .every((comparator) => {
        const m = /^(>=|<=|>|<|=)?\s*v?(\d+(?:\.\d+){0,2})$/.exec(comparator);
        if (!m) throw new RangeError(`engines.node: unsupported comparator ${JSON.stringify(comparator)}`);
        const c = compare(have, parse(m[2]!));
        return { ">=": c >= 0, "<=": c <= 0, ">": c > 0, "<": c < 0, "=": c === 0 }[m[1] ?? "="]!;
      }),
  );
}

/** null, or the one line saying that this Node is outside package.json's engines.node. */
export function nodeVersionProblem(version = process.versions.node): string | null {
  const pkg = join(dirname(repoFile("migrations", import.meta.url)), "package.json"); // the root package.json (apps/gateway has its own)
  const range = (JSON.parse(readFileSync(pkg, "utf8")) as { engines?: { node?: string } }).engines?.node;
  if (range === undefined || satisfiesRange(version, range)) return null;
  return `Node ${version} is not supported: package.json engines.node is "${range}" (install Node 20 LTS, e.g. \`nvm install 20\`)`;
}

/** Rejects with one line when host:port cannot be bound; binds nothing afterwards (port 0: any free port). */
export async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (e: NodeJS.ErrnoException) => {
      const why = e.code === "EADDRINUSE" ? "is in use" : e.code === "EACCES" ? "needs privileges (ports below 1024)" : `cannot be bound (${e.code ?? e.message})`;
      reject(new Error(`${settingName("port")}: port ${port} on ${host} ${why}; set PORT to a free port`));
    });
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** Creates the data dir if needed and checks it is a writable directory. */
export function checkDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new Error(`${settingName("data_dir")}: ${dir} is not a writable directory (${code}); set TETHER_DATA_DIR to one the gateway may write`);
  }
}

/** The policy or reference directory exists. */
export function checkCheckpointDir(key: "policy" | "reference", dir: string): void {
  if (!existsSync(dir)) throw new Error(`${settingName(key)}: ${dir} does not exist (a checkpoint directory made by tether-train, with onnx/model.onnx from its export)`);
  if (!statSync(dir).isDirectory()) throw new Error(`${settingName(key)}: ${dir} is not a directory`);
}

/**
 * One line for a database failure at startup, naming DATABASE_URL without its password.
 * @example databaseProblem("postgres://u:secret@db:5432/x", new Error("connect ECONNREFUSED 10.0.0.2:5432"))
 * // "DATABASE_URL (database_url) postgres://u:***@db:5432/x: connect ECONNREFUSED 10.0.0.2:5432"
 */
export function databaseProblem(url: string, error: unknown): string {
  let shown = "(unparsable URL)";
  let password = "";
  try {
    const u = new URL(url);
    password = decodeURIComponent(u.password);
    if (u.password !== "") u.password = "***";
    shown = u.toString();
  } catch {
    // keep "(unparsable URL)": the raw string may hold a password
  }
  const e = error as Error & { code?: string; errors?: Error[] };
  let message = (e.errors?.[0]?.message ?? e.message ?? String(error)).split("\n")[0]!;
  if (password !== "") message = message.split(password).join("***");
  return `${settingName("database_url")} ${shown}: cannot use the database: ${message}`;
}
