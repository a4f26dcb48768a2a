// GET /admin/checkpoints[/:id], read-only: the served policy (status "active") and its reference, as the
// context knows them. Promotions (issue 10) replace this with the registry table, same JSON shape.
import type { Hono } from "hono";
import type { GatewayContext } from "../context";
import { HttpError } from "../http/errors";
import type { AppEnv } from "../routes/env";

/** A checkpoint on the admin API (CONTRACT-admin.md). */
export interface CheckpointJson {
  id: string;
  kind: "policy" | "reference";
  status: "registered" | "canary" | "active" | "retired";
  canary_percent: number | null;
  path: string;
  reference_id: string | null;
  eval: unknown | null; // eval.json as stored
  created_at: string; // ISO
}

/** The two checkpoints this process serves. */
export function servedCheckpoints(ctx: GatewayContext): CheckpointJson[] {
  const created = new Date(ctx.startedS * 1000).toISOString();
  return [
    {
      id: ctx.policy.info.id, kind: "policy", status: "active", canary_percent: null, path: ctx.config.policy,
      reference_id: ctx.reference.info.id, eval: ctx.evalReport, created_at: created,
    },
    {
      id: ctx.reference.info.id, kind: "reference", status: "registered", canary_percent: null, path: ctx.config.reference,
      reference_id: null, eval: null, created_at: created,
    },
  ];
}

export function checkpointRoutes(app: Hono<AppEnv>, ctx: GatewayContext): void {
  app.get("/admin/checkpoints", (c) => c.json({ object: "list", data: servedCheckpoints(ctx) }));
  app.get("/admin/checkpoints/:id", (c) => {
    const id = c.req.param("id");
    const found = servedCheckpoints(ctx).find((k) => k.id === id);
    if (!found) throw HttpError.of(404, `no checkpoint ${JSON.stringify(id)}`, "id", "checkpoint_not_found");
    return c.json(found);
  });
}
