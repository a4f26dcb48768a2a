// The gateway as a pure Hono app built from injected dependencies (engines, drift-log store, clock,
// config). No runtime, database driver or server is imported here: server.node.ts and worker.ts wire them.
//
// Routes: GET /v1/models[/:id], POST /v1/completions, POST /v1/chat/completions, GET /healthz, /readyz,
// /metrics. Every response carries x-tether-request-id; every error is OpenAI-shaped
// ({"error":{"message","type","param","code"}}): 404 for unknown routes, 405 for a known route with the
// wrong method, 500 (logged, process alive) for our own bugs.
import { Hono } from "hono";
import { cors } from "hono/cors";
import { createContext, type AppDeps, type GatewayContext } from "./context";
import { errorResponse, HttpError } from "./http/errors";
import type { AppEnv } from "./routes/env";
import { chatRoute, completionsRoute } from "./routes/generation";
import { opsRoutes } from "./routes/ops";
import { requireApiKey } from "./routes/api-keys";
import { adminRoutes } from "./admin/routes";
import { attachAutoRollback } from "./serving/auto-rollback";
import { dashboardRoutes } from "./dashboard/page";

export type { AppDeps } from "./context";

/** Methods of every route, for 405 + Allow. */
const ROUTES: Array<[RegExp, string[]]> = [
  [/^\/v1\/completions$/, ["POST"]],
  [/^\/v1\/chat\/completions$/, ["POST"]],
  [/^\/v1\/models(\/.+)?$/, ["GET", "HEAD"]],
  [/^\/(healthz|readyz|metrics)$/, ["GET", "HEAD"]],
  [/^\/admin\/checkpoints$/, ["GET", "HEAD", "POST"]],
  [/^\/admin\/checkpoints\/[^/]+\/promote$/, ["POST"]],
  [/^\/admin\/rollback$/, ["POST"]],
  [/^\/admin\/promotions$/, ["GET", "HEAD"]],
  [/^\/admin\/(checkpoints(\/[^/]+)?|alerts|alerts\/stream|drift)$/, ["GET", "HEAD"]],
  [/^\/dashboard(\/assets\/[^/]+)?$/, ["GET", "HEAD"]],
];

function notFound(path: string, method: string): HttpError {
  const route = ROUTES.find(([pattern]) => pattern.test(path));
  if (route) {
    const allowed = route[1];
    const error = HttpError.of(405, `${method} is not allowed on ${path}; use ${allowed.filter((m) => m !== "HEAD").join(" or ")}`, null, "method_not_allowed");
    return new HttpError(error.response, { allow: allowed.join(", ") });
  }
  return HttpError.of(404, `no route ${method} ${path}`, null, "not_found");
}

/**
 * @example
 * const app = createApp({ policy, reference, store, config: loadGatewayConfig({}, process.env) });
 * const res = await app.request("/v1/models");
 */
export function createApp(deps: AppDeps): Hono<AppEnv> & { context: GatewayContext } {
  const ctx = createContext(deps);
  const app = new Hono<AppEnv>();
  app.use("*", async (c, next) => {
    c.set("requestId", ctx.newRequestId());
    c.set("arrivedAt", ctx.clock.now());
    const copy = ctx.log && ctx.config.log_content ? c.req.raw.clone() : null; // only when configured
    await next();
    c.res.headers.set("x-tether-request-id", c.get("requestId"));
    if (!ctx.log) return;
    const content = copy ? { content: (await copy.text().catch(() => "")).slice(0, 4096) } : {};
    const key = c.get("apiKeyName") === undefined ? {} : { api_key: c.get("apiKeyName") }; // the key's name, never the key
    ctx.log({ level: "info", msg: "request", request_id: c.get("requestId"), method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round((ctx.clock.now() - c.get("arrivedAt")) * 100) / 100, ...key, ...content });
  });
  // CORS only when origins are configured (off by default: no browser origin may call the API).
  const origins = ctx.config.cors.origins;
  if (origins.length > 0) {
    app.use("*", cors({ origin: origins.includes("*") ? "*" : origins, allowMethods: ["GET", "POST", "OPTIONS"], allowHeaders: ["content-type", "authorization"], exposeHeaders: ["x-tether-request-id"], maxAge: 600 }));
  }
  if (ctx.config.api_keys.length > 0 || ctx.db) app.use("/v1/*", requireApiKey(ctx)); // keys in config or in the api_keys table
  opsRoutes(app, ctx);
  adminRoutes(app, ctx);
  if (ctx.registry) attachAutoRollback(ctx.registry, ctx.alerts);
  dashboardRoutes(app, deps.dashboardAssets);
  app.post("/v1/completions", completionsRoute(ctx));
  app.post("/v1/chat/completions", chatRoute(ctx));
  app.notFound((c) => {
    const e = notFound(c.req.path, c.req.method);
    return c.json(e.response.body, e.response.status as 404, e.headers);
  });
  app.onError((error, c) => {
    const r = errorResponse(error, (e) => ctx.logError("tether gateway: internal error", e));
    return c.json(r.body, r.status as 500, r.headers);
  });
  return Object.assign(app, { context: ctx });
}
