// The Worker bundles as wrangler would deploy it, and leaves to the runtime only imports workerd provides:
// node: modules of nodejs_compat and cloudflare: modules. A gateway module that pulls node:fs, PGlite or
// onnxruntime-node into the Worker entry fails here (the first case shows the check catches one).
import { describe, expect, it } from "vitest";
import { bundleWorker, forbiddenImports } from "../bench/worker-bundle";

describe("the Worker bundle", () => {
  it("the check names a node: import workerd lacks, a bare built-in name and a module not uploaded", () => {
    const imports = [
      { path: "node:buffer", kind: "import-statement" },
      { path: "node:fs", kind: "import-statement" },
      { path: "fs", kind: "require-call" },
      { path: "cloudflare:sockets", kind: "dynamic-import" },
      { path: "./a1-model.onnx", kind: "import-statement" },
      { path: "./b2-missing.wasm", kind: "import-statement" },
    ];
    expect(forbiddenImports(imports, ["a1-model.onnx"])).toEqual(["node:fs (import-statement)", "fs (require-call)", "./b2-missing.wasm (import-statement)"]);
  });

  it("imports only node: modules workerd provides under nodejs_compat", () => {
    const bundle = bundleWorker();
    expect(bundle.files.some((f) => f.name === "worker.js")).toBe(true);
    expect(bundle.files.some((f) => f.name.endsWith(".wasm"))).toBe(true); // onnxruntime-web, as a module
    expect(bundle.files.filter((f) => f.name.endsWith("model.onnx"))).toHaveLength(2); // the demo pair, as Data
    expect(bundle.files.filter((f) => /\.safetensors$|metrics\.jsonl$/.test(f.name))).toEqual([]); // demo-models.ts NOT_BUNDLED: serving never reads them
    expect(bundle.gzipBytes).toBeLessThan(10 * 2 ** 20); // Workers Paid: 10 MiB script size after gzip
    expect(bundle.externalImports.length).toBeGreaterThan(0);
    expect(forbiddenImports(bundle.externalImports, bundle.files.map((f) => f.name))).toEqual([]);
    expect(bundle.externalImports.filter((i) => i.path.startsWith("node:")).map((i) => i.path)).toContain("node:async_hooks"); // worker.ts's request scope
  });
});
