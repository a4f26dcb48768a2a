// The dashboard's files for the Worker, as text modules (wrangler.toml's Text rule): the same files node-assets.ts
// reads from disk on Node, named as in DASHBOARD_FILES. Our client files are imported through the workspace
// package's own name so that TypeScript types them by the module declarations in modules.d.ts.
import uPlotCss from "uplot/dist/uPlot.min.css";
import uPlotJs from "uplot/dist/uPlot.iife.min.js";
import charts from "@tether/gateway/src/dashboard/client/charts.js";
import connection from "@tether/gateway/src/dashboard/client/connection.js";
import dashboardCss from "@tether/gateway/src/dashboard/client/dashboard.css";
import dashboard from "@tether/gateway/src/dashboard/client/dashboard.js";
import render from "@tether/gateway/src/dashboard/client/render.js";
import sseParser from "@tether/gateway/src/dashboard/client/sse-parser.js";
import type { DASHBOARD_FILES, DashboardAssets } from "../dashboard/assets";

/** Every file the page loads; the type makes a file added to DASHBOARD_FILES a compile error here until it is imported. */
export const WORKER_DASHBOARD_ASSETS: DashboardAssets & Record<keyof typeof DASHBOARD_FILES, string> = {
  "uPlot.min.css": uPlotCss,
  "uPlot.iife.min.js": uPlotJs,
  "dashboard.css": dashboardCss,
  "sse-parser.js": sseParser,
  "connection.js": connection,
  "charts.js": charts,
  "render.js": render,
  "dashboard.js": dashboard,
};
