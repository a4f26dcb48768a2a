// GET /dashboard and /dashboard/assets/:name: the monitoring page, served from injected strings (assets.ts).
// The page itself needs no token (it holds no data); every figure on it comes from the /admin routes, which do.
import type { Hono } from "hono";
import type { AppEnv } from "../routes/env";
import { contentTypeOf, type DashboardAssets } from "./assets";

const LOGO = `<svg viewBox="0 0 24 24" fill="none" aria-hidden="true"><circle cx="6" cy="12" r="3.2" fill="var(--active)"/><circle cx="18" cy="12" r="3.2" fill="var(--canary)"/><path d="M9 12c2-3.5 4-3.5 6 0" stroke="var(--muted)" stroke-width="1.6" stroke-linecap="round"/></svg>`;

/** The HTML shell; `version` busts caches of the assets when they change. */
export function dashboardHtml(version: string): string {
  const asset = (name: string) => `/dashboard/assets/${name}?v=${version}`;
  return `<!doctype html>
<html lang="en" data-theme="dark">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tether · drift monitor</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${asset("uPlot.min.css")}">
<link rel="stylesheet" href="${asset("dashboard.css")}">
<script src="${asset("uPlot.iife.min.js")}"></script>
<script type="module" src="${asset("dashboard.js")}"></script>
</head>
<body>
<header>
  <div class="brand">${LOGO}<span>Tether</span><small>drift monitor</small></div>
  <span class="status" id="status" data-state="offline"><span class="dot"></span><span id="status-text">offline</span></span>
  <span class="spacer"></span>
  <div class="seg" id="windows" role="group" aria-label="chart window">
    <button data-window="1m" aria-pressed="false">1m</button><button data-window="5m" aria-pressed="true">5m</button><button data-window="1h" aria-pressed="false">1h</button>
  </div>
  <button class="btn" id="theme" title="switch between dark and light">◐</button>
  <button class="btn" id="signout" title="forget the token in this tab" hidden>Sign out</button>
</header>
<section class="login panel" id="login" hidden>
  <h1>Admin token</h1>
  <p>The dashboard reads the gateway's <code>/admin</code> API. The token stays in this tab (sessionStorage) and is sent as <code>Authorization: Bearer</code>, never in a URL.</p>
  <form id="login-form" autocomplete="off">
    <input id="token" type="password" placeholder="TETHER_ADMIN_TOKEN" aria-label="admin token" autocomplete="current-password">
    <p class="error" id="login-error" role="alert"></p>
    <button class="btn primary" type="submit">Connect</button>
  </form>
</section>
<main id="app" hidden>
  <div class="tiles" id="tiles"></div>
  <div class="charts">
    <section class="panel"><h2>KL to reference <span class="hint">nats/token</span></h2><div class="chart" id="chart-kl"></div>
      <div class="legend"><span><i style="border-color: var(--active)"></i>active</span><span><i style="border-color: var(--canary)"></i>canary</span><span><i class="dash" style="border-color: var(--muted)"></i>p95</span><span><i class="thr"></i>threshold</span></div></section>
    <section class="panel"><h2>Guard rejections <span class="hint">refused candidates</span></h2><div class="chart" id="chart-rejection"></div><div class="legend"><span><i style="border-color: var(--active)"></i>active</span><span><i style="border-color: var(--canary)"></i>canary</span></div></section>
    <section class="panel"><h2>Activation sketch <span class="hint">p95 percentile of reference</span></h2><div class="chart" id="chart-sketch"></div><div class="legend"><span><i style="border-color: var(--active)"></i>active</span><span><i style="border-color: var(--canary)"></i>canary</span></div></section>
  </div>
  <div class="cols">
    <section class="panel"><h2>Alerts <span class="pill firing" id="alert-count" hidden></span><span class="hint">pending → firing → resolved</span></h2><ul class="alerts" id="alerts"></ul></section>
    <section class="panel"><h2>Checkpoints <span class="hint" id="budget"></span></h2><div class="ckpts" id="checkpoints"></div></section>
  </div>
</main>
</body>
</html>`;
}

/** A short content hash (FNV-1a over every asset) so a new build is never served from an old cache. */
function versionOf(assets: DashboardAssets): string {
  let h = 0x811c9dc5;
  for (const text of Object.values(assets)) for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

/** Registers the page; without assets (an entry that did not load them) /dashboard answers 404 like any unknown route. */
export function dashboardRoutes(app: Hono<AppEnv>, assets: DashboardAssets | null | undefined): void {
  if (!assets || Object.keys(assets).length === 0) return;
  const version = versionOf(assets);
  const html = dashboardHtml(version);
  const security = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
  app.get("/dashboard", (c) => c.html(html, 200, { ...security, "cache-control": "no-cache" }));
  app.get("/dashboard/assets/:name", (c) => {
    const name = c.req.param("name");
    const text = Object.hasOwn(assets, name) ? assets[name] : undefined;
    if (text === undefined) return c.json({ error: { message: `no dashboard asset ${name}`, type: "invalid_request_error", param: null, code: "not_found" } }, 404);
    return c.body(text, 200, { ...security, "content-type": contentTypeOf(name), "cache-control": "no-cache" });
  });
}
