// GET /dashboard and its assets through Hono's app.request() (no socket): the page needs no token and holds no
// data, every asset it references is served with its type from the files loadDashboardAssets() read (uPlot's
// from the pinned npm package), an unknown asset is an OpenAI-shaped 404, and without assets there is no page.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { AppEnv } from "../routes/env";
import { DASHBOARD_FILES } from "./assets";
import { loadDashboardAssets } from "./node-assets";
import { dashboardRoutes } from "./page";

function app(assets = loadDashboardAssets()) {
  const a = new Hono<AppEnv>();
  dashboardRoutes(a, assets);
  return a;
}

describe("GET /dashboard", () => {
  it("serves the page without a token, with a CSP that allows only its own origin", async () => {
    const res = await app().request("/dashboard");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toMatch(/script-src 'self'/);
    const html = await res.text();
    expect(html).toMatch(/<input id="token" type="password"/);
    expect(html).not.toMatch(/https?:\/\//); // no CDN, no absolute URL
  });

  it("serves every asset the page and its modules reference, byte for byte, with its content type", async () => {
    const a = app();
    const html = await (await a.request("/dashboard")).text();
    const referenced = new Set([...html.matchAll(/\/dashboard\/assets\/([\w.-]+)\?v=\w+/g)].map((m) => m[1]!));
    const require = createRequire(import.meta.url);
    for (const [name, spec] of Object.entries(DASHBOARD_FILES)) {
      const res = await a.request(`/dashboard/assets/${name}`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get("content-type"), name).toBe(name.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8");
      const file = spec.startsWith("./") ? new URL(spec, import.meta.url) : require.resolve(spec);
      expect(await res.text(), name).toBe(readFileSync(file, "utf8"));
      // ES-module imports between our files are relative ("./charts.js"): each must be a served asset too.
      for (const m of (await (await a.request(`/dashboard/assets/${name}`)).text()).matchAll(/from "\.\/([\w.-]+)"/g)) referenced.add(m[1]!);
    }
    for (const name of referenced) expect(Object.keys(DASHBOARD_FILES), name).toContain(name);
    expect(referenced.has("uPlot.iife.min.js") && referenced.has("dashboard.js") && referenced.has("sse-parser.js")).toBe(true);
  });

  it("answers an unknown asset with an OpenAI-shaped 404; without assets there is no page", async () => {
    const res = await app().request("/dashboard/assets/secrets.js");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { message: "no dashboard asset secrets.js", type: "invalid_request_error", param: null, code: "not_found" } });
    expect((await app({}).request("/dashboard")).status).toBe(404);
  });
});
