// Every /admin route behind requireAdmin, and the list the 401/403 tests and the 405 table enumerate, so a
// new route cannot be added without its authentication being tested.
import type { Hono } from "hono";
import type { GatewayContext } from "../context";
import type { AppEnv } from "../routes/env";
import { requireAdmin } from "./auth";
import { alertRoutes } from "./alerts";
import { checkpointRoutes } from "./checkpoints";

/** Method and an example path of each admin route (a `:param` filled with a sample value). */
export const ADMIN_ROUTES: ReadonlyArray<{ method: "GET" | "POST"; path: string }> = [
  { method: "GET", path: "/admin/checkpoints" },
  { method: "GET", path: "/admin/checkpoints/some-id" },
  { method: "GET", path: "/admin/alerts" },
  { method: "GET", path: "/admin/alerts/stream" },
  { method: "GET", path: "/admin/drift" },
];

/** Registers the middleware first: it guards every /admin path, also unknown ones (no route probing). */
export function adminRoutes(app: Hono<AppEnv>, ctx: GatewayContext): void {
  app.use("/admin/*", requireAdmin(ctx));
  app.use("/admin", requireAdmin(ctx));
  checkpointRoutes(app, ctx);
  alertRoutes(app, ctx);
}
