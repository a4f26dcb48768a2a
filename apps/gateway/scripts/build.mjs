// `npm start`'s build step (the `prestart` script): bundles the gateway's Node entry and the two worker-thread
// entries it starts (the engine pool's and embedded PGlite's) from the TypeScript sources into
// apps/gateway/dist/node/, so that `npm start` runs plain JavaScript. Running the sources through tsx instead
// costs ~34 MiB in the main thread and ~27 MiB in every worker thread (tsx's loader, transforms and source
// maps in each isolate); `npm run bench -- idle-rss` measures both. Only the workspace's own code is bundled:
// every npm package stays an import that Node resolves from node_modules exactly as under tsx (native addons,
// wasm files found next to their modules, CommonJS). Takes well under a second.
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const OUT_DIR = join(root, "apps/gateway/dist/node");

/** Bare imports that are not this workspace's packages stay imports of node_modules. */
const npmPackagesExternal = {
  name: "npm-packages-external",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith("@tether/") ? undefined : { path: args.path, external: true }));
  },
};

await build({
  absWorkingDir: root,
  // file names matter: startModuleWorker() starts "./pool-worker.js" and "./pglite-thread-worker.js" next to the
  // bundle that calls it (no code splitting, so every entry is one self-contained file in this folder)
  entryPoints: ["apps/gateway/src/server.node.ts", "apps/gateway/src/engine/pool-worker.ts", "packages/db/src/pglite-thread-worker.ts"],
  entryNames: "[name]",
  outdir: OUT_DIR,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked", // stack traces name the .ts sources under node --enable-source-maps
  plugins: [npmPackagesExternal],
  logLevel: "warning",
});
