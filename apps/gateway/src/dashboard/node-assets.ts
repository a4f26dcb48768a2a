// Node side of the dashboard's assets: reads DASHBOARD_FILES once at startup (uPlot from node_modules, ours
// from ./client), so the page is served from memory with no build step.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { repoFile } from "@tether/db/repo-file";
import { DASHBOARD_FILES, type DashboardAssets } from "./assets";

/** @example createApp({ …, dashboardAssets: loadDashboardAssets() }) */
export function loadDashboardAssets(): DashboardAssets {
  const require = createRequire(import.meta.url);
  const here = repoFile("apps/gateway/src/dashboard", import.meta.url); // the sources' folder, from the bundle too
  const out: Record<string, string> = {};
  for (const [name, spec] of Object.entries(DASHBOARD_FILES)) {
    const path = spec.startsWith("./") ? join(here, spec) : require.resolve(spec);
    out[name] = readFileSync(path, "utf8");
  }
  return out;
}
