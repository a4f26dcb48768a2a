// POST /admin/checkpoints/:id/promote, POST /admin/rollback, GET /admin/promotions: the gated promotion
// API over serving/registry.ts; the actor of every audit row is the admin token's name.
import { z } from "zod";
import type { Promotion } from "@tether/db/schema";
import { zodIssueToOpenAIError } from "@tether/shared/schemas/openai-error";
import type { Hono } from "hono";
import type { GatewayContext } from "../context";
import { readJson } from "../http/body";
import { HttpError } from "../http/errors";
import type { AppEnv } from "../routes/env";
import { requireRegistry } from "./checkpoints";

const reason = z.string({ error: "must be a string" }).trim().min(1, { error: "must not be empty" }).max(1000).nullable().optional();

const promoteBody = z
  .strictObject({
    canary_percent: z.number({ error: "must be a number" }).gt(0, { error: "must be > 0 (use POST /admin/rollback to end a canary)" }).lte(100, { error: "must be ≤ 100" }).nullable().optional(),
    force: z.boolean({ error: "must be true or false" }).default(false),
    reason,
  })
  .refine((b) => !b.force || (b.reason ?? null) !== null, { path: ["reason"], error: "is required with force: true (it is kept in the audit trail)" });

const rollbackBody = z.strictObject({ reason });

/** An audit row on the admin API. */
export function promotionJson(p: Promotion) {
  return {
    id: p.id, action: p.action, checkpoint_id: p.checkpointId, previous_checkpoint_id: p.previousCheckpointId,
    canary_percent: p.canaryPercent, forced: p.forced, reason: p.reason, actor: p.actor, gate: p.gate ?? null,
    alert_id: p.alertId, created_at: new Date(p.createdAt).toISOString(),
  };
}

async function body<S extends z.ZodType>(ctx: GatewayContext, request: Request, schema: S): Promise<z.output<S>> {
  const text = request.headers.get("content-length") === "0" ? {} : await readJson(request, ctx.config.limits.max_body_bytes).catch((e: unknown) => {
    if (e instanceof HttpError && /empty/i.test(e.message)) return {};
    throw e;
  });
  const parsed = schema.safeParse(text);
  if (!parsed.success) throw new HttpError(zodIssueToOpenAIError(parsed.error));
  return parsed.data;
}

export function promotionRoutes(app: Hono<AppEnv>, ctx: GatewayContext): void {
  app.post("/admin/checkpoints/:id/promote", async (c) => {
    const registry = requireRegistry(ctx);
    const b = await body(ctx, c.req.raw, promoteBody);
    const audit = await registry.promote(c.req.param("id"), { canaryPercent: b.canary_percent ?? null, force: b.force, reason: b.reason ?? null, actor: c.get("adminName") });
    return c.json(promotionJson(audit));
  });
  app.post("/admin/rollback", async (c) => {
    const registry = requireRegistry(ctx);
    const b = await body(ctx, c.req.raw, rollbackBody);
    return c.json(promotionJson(await registry.rollback({ actor: c.get("adminName"), reason: b.reason ?? null })));
  });
  app.get("/admin/promotions", async (c) => {
    const registry = requireRegistry(ctx);
    const limit = Number(c.req.query("limit") ?? 100);
    if (!(Number.isInteger(limit) && limit >= 1 && limit <= 1000)) throw HttpError.of(400, "limit must be an integer in [1, 1000]", "limit", "invalid_value");
    return c.json({ object: "list", data: (await registry.store.promotions(limit)).map(promotionJson) });
  });
}
