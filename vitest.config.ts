// Test runner config: unit tests beside the code, end-to-end tests in test/.
import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.ts", "apps/*/src/**/*.test.ts", "test/**/*.test.ts"],
    // PGlite boots a wasm PostgreSQL (~5 s) and numeric tests sample millions of tokens.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // 2-core CI machines: more workers only thrash.
    maxWorkers: 2,
    reporters: ["default", "./test/summary-reporter.ts"],
    // Node (everything above) and the Worker's tests inside workerd (test/workerd/vitest.config.ts).
    projects: [{ extends: true, test: { name: "node", exclude: [...configDefaults.exclude, "test/workerd/**"] } }, "test/workerd/vitest.config.ts"],
  },
});
