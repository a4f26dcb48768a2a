// GET /admin/alerts?state=&limit=, GET /admin/drift?window=&checkpoint=, GET /admin/alerts/stream (SSE).
// Thin handlers: validate the query, ask the monitoring objects, answer JSON (CONTRACT-admin.md shapes).
import type { Hono } from "hono";
import type { GatewayContext } from "../context";
import { HttpError } from "../http/errors";
import type { AlertState } from "../monitor/alert-bus";
import { driftJson } from "../monitor/drift-json";
import { WINDOW_NAMES, type WindowName } from "../monitor/windows";
import type { AppEnv } from "../routes/env";

const STATES: AlertState[] = ["pending", "firing", "resolved"];
const MAX_LIMIT = 1000;

function queryState(value: string | undefined): AlertState | undefined {
  if (value === undefined || value === "") return undefined;
  if (!(STATES as string[]).includes(value)) throw HttpError.of(400, `state must be one of ${STATES.join(", ")} (got ${JSON.stringify(value)})`, "state", "invalid_value");
  return value as AlertState;
}

function queryLimit(value: string | undefined): number {
  if (value === undefined || value === "") return 100;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) throw HttpError.of(400, `limit must be an integer in [1, ${MAX_LIMIT}] (got ${JSON.stringify(value)})`, "limit", "invalid_value");
  return n;
}

function queryWindow(value: string | undefined): WindowName {
  if (value === undefined || value === "") return WINDOW_NAMES[0]!;
  if (!(WINDOW_NAMES as string[]).includes(value)) throw HttpError.of(400, `window must be one of ${WINDOW_NAMES.join(", ")} (got ${JSON.stringify(value)})`, "window", "invalid_value");
  return value as WindowName;
}

export function alertRoutes(app: Hono<AppEnv>, ctx: GatewayContext): void {
  const m = ctx.monitoring;
  app.get("/admin/alerts", async (c) => {
    const data = await m.store.list({ state: queryState(c.req.query("state")), limit: queryLimit(c.req.query("limit")) });
    return c.json({ object: "list", data });
  });
  app.get("/admin/drift", (c) => {
    const window = queryWindow(c.req.query("window"));
    const checkpoint = c.req.query("checkpoint") || undefined;
    const now = ctx.clock.now();
    return c.json(driftJson(window, m.monitor.view(window, now, checkpoint), now));
  });
  app.get("/admin/alerts/stream", (c) => {
    const res = m.streams.open(c.req.header("last-event-id"));
    if (res) return res;
    const e = HttpError.of(429, `too many alert streams open (alerts.max_streams = ${ctx.config.alerts.max_streams}); close one or raise the cap`, null, "too_many_streams");
    throw new HttpError(e.response, { "retry-after": String(Math.ceil(ctx.config.alerts.stream_interval_s)) });
  });
}
