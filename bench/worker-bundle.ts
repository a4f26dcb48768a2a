// The Worker as Cloudflare would receive it: `wrangler deploy --dry-run --outdir` (the real bundler and
// [[rules]], nothing uploaded), measured raw and gzipped file by file as `wrangler deploy` reports its upload,
// with esbuild's metafile for the imports the bundle leaves to the runtime. Used by bench/worker-limits.ts
// and test/worker-bundle.test.ts.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

export const REPO = join(import.meta.dirname, "..");

/** Environment that keeps wrangler offline and its state inside the project (as `npm run dev:worker`). */
export function wranglerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    XDG_CONFIG_HOME: join(REPO, ".xdg"),
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_SEND_ERROR_REPORTS: "false",
    WRANGLER_HIDE_BANNER: "true",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    ...extra,
  };
}

export interface BundleFile {
  name: string;
  rawBytes: number;
  gzipBytes: number;
}

export interface WorkerBundle {
  files: BundleFile[];
  rawBytes: number;
  gzipBytes: number;
  /** Imports the bundle leaves to the runtime (esbuild metafile: external), e.g. "node:buffer", "cloudflare:sockets". */
  externalImports: { path: string; kind: string }[];
}

interface Metafile {
  outputs: Record<string, { imports?: { path: string; kind: string; external?: boolean }[] }>;
}

/**
 * Bundles the Worker into a temporary directory, measures it and removes it.
 * @example const { gzipBytes, externalImports } = bundleWorker();
 */
export function bundleWorker(): WorkerBundle {
  const outdir = mkdtempSync(join(tmpdir(), "tether-worker-bundle-"));
  try {
    const run = spawnSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", outdir, "--metafile", join(outdir, "meta.json")], { cwd: REPO, env: wranglerEnv(), encoding: "utf8" });
    if (run.status !== 0) throw new Error(`wrangler deploy --dry-run failed (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
    const meta = JSON.parse(readFileSync(join(outdir, "meta.json"), "utf8")) as Metafile;
    // What wrangler uploads: the script and its modules; not the source map, the metafile or README.md.
    const files = readdirSync(outdir)
      .filter((name) => !/\.(map|md)$/.test(name) && name !== "meta.json")
      .map((name) => {
        const bytes = readFileSync(join(outdir, name));
        return { name, rawBytes: statSync(join(outdir, name)).size, gzipBytes: gzipSync(bytes, { level: 9 }).length };
      });
    const externalImports = Object.values(meta.outputs).flatMap((o) => (o.imports ?? []).filter((i) => i.external).map(({ path, kind }) => ({ path, kind })));
    return {
      files,
      rawBytes: files.reduce((s, f) => s + f.rawBytes, 0),
      gzipBytes: files.reduce((s, f) => s + f.gzipBytes, 0),
      externalImports,
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * Node built-ins that workerd implements under nodejs_compat (not merely stubs that throw when called).
 * Cloudflare's "Node.js compatibility" page lists them; node:fs there is an in-memory file system, so it is
 * left out on purpose: a gateway module reaching for the disk has no place in the Worker.
 */
export const WORKERD_NODE_MODULES = new Set([
  "node:assert", "node:assert/strict", "node:async_hooks", "node:buffer", "node:crypto", "node:diagnostics_channel", "node:dns",
  "node:events", "node:net", "node:path", "node:path/posix", "node:process", "node:querystring", "node:stream", "node:stream/promises",
  "node:stream/web", "node:string_decoder", "node:timers", "node:timers/promises", "node:tls", "node:url", "node:util", "node:util/types", "node:zlib",
]);

/**
 * The bundle's runtime imports that workerd cannot serve: node: modules outside WORKERD_NODE_MODULES, bare
 * names esbuild left external ("fs"), and "./" modules that are not among the uploaded `modules`.
 * @example forbiddenImports([{ path: "node:fs", kind: "import-statement" }], []) // ["node:fs (import-statement)"]
 */
export function forbiddenImports(imports: readonly { path: string; kind: string }[], modules: readonly string[]): string[] {
  const allowed = ({ path }: { path: string }) => {
    if (path.startsWith("node:")) return WORKERD_NODE_MODULES.has(path);
    if (path.startsWith("./")) return modules.includes(path.slice(2)); // wrangler's [[rules]] modules, uploaded beside worker.js
    return /^(cloudflare|workerd):/.test(path);
  };
  return imports.filter((i) => !allowed(i)).map(({ path, kind }) => `${path} (${kind})`);
}
