// GET/POST /admin/checkpoints, GET /admin/checkpoints/:id: the registry table (status, canary share,
// eval.json) when the gateway has a database and a checkpoint loader; otherwise (tests, Worker) the two
// checkpoints this process serves, read-only, in the same shape.
import { z } from "zod";
import type { Checkpoint } from "@tether/db/schema";
import { zodIssueToOpenAIError } from "@tether/shared/schemas/openai-error";
import type { Hono } from "hono";
import type { GatewayContext } from "../context";
import { readJson } from "../http/body";
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

/** The two checkpoints this process serves (no registry). */
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

/** A registry row as the admin API shows it. */
export function checkpointJson(row: Checkpoint): CheckpointJson {
  return {
    id: row.id, kind: row.kind, status: row.status, canary_percent: row.canaryPercent, path: row.path,
    reference_id: row.referenceId, eval: row.eval ?? null, created_at: new Date(row.createdAt).toISOString(),
  };
}

const registerBody = z.strictObject({ path: z.string({ error: "must be a string" }).min(1, { error: "must not be empty" }) });

export function checkpointRoutes(app: Hono<AppEnv>, ctx: GatewayContext): void {
  app.get("/admin/checkpoints", async (c) => {
    const data = ctx.registry ? (await ctx.registry.store.list()).map(checkpointJson) : servedCheckpoints(ctx);
    return c.json({ object: "list", data });
  });
  app.get("/admin/checkpoints/:id", async (c) => {
    const id = c.req.param("id");
    const found = ctx.registry ? await ctx.registry.store.get(id).then((r) => r && checkpointJson(r)) : servedCheckpoints(ctx).find((k) => k.id === id);
    if (!found) throw HttpError.of(404, `no checkpoint ${JSON.stringify(id)}`, "id", "checkpoint_not_found");
    return c.json(found);
  });
  // 201 for a new checkpoint, 200 when the same content was registered before (ids are content-addressed).
  app.post("/admin/checkpoints", async (c) => {
    const registry = requireRegistry(ctx);
    const parsed = registerBody.safeParse(await readJson(c.req.raw, ctx.config.limits.max_body_bytes));
    if (!parsed.success) throw new HttpError(zodIssueToOpenAIError(parsed.error));
    const { row, created } = await registry.register(parsed.data.path);
    return c.json(checkpointJson(row), created ? 201 : 200);
  });
}

/** The registry, or 501 saying what it needs. */
export function requireRegistry(ctx: GatewayContext): NonNullable<GatewayContext["registry"]> {
  if (!ctx.registry) throw HttpError.of(501, "this gateway has no checkpoint registry (it needs a database and a checkpoint loader: the Node server)", null, "registry_unavailable");
  return ctx.registry;
}
