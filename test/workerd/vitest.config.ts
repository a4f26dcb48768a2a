// The Worker's tests, inside workerd (@cloudflare/vitest-pool-workers, miniflare): a separate vitest project
// of the root config, so the rest of the suite keeps running in Node. global-setup.ts (Node) computes what the
// Node engine answers for the same requests and migrates TEST_DATABASE_URL; the tests read both via inject().
import { join } from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineProject } from "vitest/config";
import { CONFIG, workerDatabaseUrl } from "./cases.ts";

const database = process.env.TEST_DATABASE_URL ? workerDatabaseUrl(process.env.TEST_DATABASE_URL) : undefined;
/** Hyperdrive wants a password in its URL (trust-auth servers ignore it). */
function hyperdriveUrl(url: string): string {
  const u = new URL(url);
  if (u.password === "") u.password = "unused";
  return u.toString();
}

const REPO = join(import.meta.dirname, "..", "..");

export default defineProject({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: join(REPO, "wrangler.toml") },
      miniflare: {
        // Without TEST_DATABASE_URL the tests skip (tests/workerd/database.ts says why): miniflare's local
        // Hyperdrive proxy crashes the run when its database refuses the connection.
        ...(database ? { hyperdrives: { HYPERDRIVE: hyperdriveUrl(database) } } : {}),
        r2Buckets: ["MODELS", "TEST_BUCKET"],
        bindings: { TETHER_CONFIG: JSON.stringify(CONFIG) }, // the config global-setup.ts gives the Node gateway
      },
    }),
  ],
  test: {
    name: "workerd",
    root: REPO, // the paths below are the repository's, whether run as a project of the root config or alone
    include: ["test/workerd/**/*.test.ts"],
    globalSetup: ["test/workerd/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
