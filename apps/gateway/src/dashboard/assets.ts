// The dashboard's static files as strings, injected into the app (createApp deps) so the route never touches a
// file system: the Node entry reads them at startup (node-assets.ts); a Worker entry imports the same files
// as text modules (wrangler `[[rules]] type = "Text"`).

/** File name under /dashboard/assets/ → its text. */
export type DashboardAssets = Readonly<Record<string, string>>;

/** The files the page loads, in order: uPlot (npm package `uplot`, vendored at its pinned version) and ours. */
export const DASHBOARD_FILES = {
  "uPlot.min.css": "uplot/dist/uPlot.min.css",
  "uPlot.iife.min.js": "uplot/dist/uPlot.iife.min.js",
  "dashboard.css": "./client/dashboard.css",
  "sse-parser.js": "./client/sse-parser.js",
  "connection.js": "./client/connection.js",
  "charts.js": "./client/charts.js",
  "render.js": "./client/render.js",
  "dashboard.js": "./client/dashboard.js",
} as const;

export const contentTypeOf = (name: string): string => (name.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8");
