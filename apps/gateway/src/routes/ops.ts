// GET /v1/models, /v1/models/:id, /healthz (the process answers), /readyz (models loaded, at least one engine
// worker ready, and the drift log's database reachable: load balancers route only to ready instances), /metrics (Prometheus text).
// Reachable = the drift log's last write attempt succeeded (stats().lastError is null); while it fails the
// gateway still serves (entries spill to disk) but reports not ready, so traffic can move elsewhere.
import type { ModelList } from "@tether/shared/schemas/openai-response";
import type { Hono } from "hono";
import type { GatewayContext } from "../context";
import { HttpError } from "../http/errors";
import type { AppEnv } from "./env";
import { family, monitoringMetricLines } from "../observability/monitor-metrics";

function modelCard(ctx: GatewayContext, id: string): ModelList["data"][number] {
  return { id, object: "model", created: ctx.startedS, owned_by: "tether" };
}

/** The served name, then every checkpoint served under it now (active, canary): a request may name either. */
function servedModels(ctx: GatewayContext): string[] {
  const { active, canary } = ctx.serving.state;
  return [...new Set([ctx.modelName, active.id, ...(canary ? [canary.id] : [])])];
}

function storeStatus(ctx: GatewayContext): { reachable: boolean; error: string | null } {
  try {
    const error = ctx.store.stats().lastError;
    return { reachable: error === null, error };
  } catch (e) {
    return { reachable: false, error: (e as Error).message };
  }
}

/** Registers the read-only routes. */
export function opsRoutes(app: Hono<AppEnv>, ctx: GatewayContext): void {
  app.get("/v1/models", (c) => c.json({ object: "list", data: servedModels(ctx).map((id) => modelCard(ctx, id)) } satisfies ModelList));
  // `{.+}`: ids may hold slashes ("org/name", as Hugging Face repo ids), sent raw or as %2F
  app.get("/v1/models/:id{.+}", (c) => {
    const id = c.req.param("id");
    if (!servedModels(ctx).includes(id)) throw HttpError.of(404, `model ${JSON.stringify(id)} does not exist; this gateway serves ${JSON.stringify(ctx.modelName)}`, "model", "model_not_found");
    return c.json(modelCard(ctx, id));
  });
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) => {
    const store = storeStatus(ctx);
    // engine worker threads: a crashed one is replaced and reloads its models; meanwhile the pool is reduced
    const pool = ctx.enginePool?.status() ?? null;
    const ready = store.reachable && (pool === null || pool.ready > 0);
    const body = { status: ready ? "ready" : "not_ready", policy: ctx.serving.state.active.id, canary: ctx.serving.state.canary?.id ?? null, reference: ctx.reference.info.id, store, ...(pool ? { engines: pool } : {}) };
    return c.json(body, ready ? 200 : 503);
  });
  app.get("/metrics", (c) => {
    const pool = ctx.enginePool?.status();
    const poolLines = pool
      ? family("tether_engine_workers", "Engine worker threads: configured, ready (every model loaded), busy (running a prompt job).", "gauge", [
          [{ state: "configured" }, pool.workers],
          [{ state: "ready" }, pool.ready],
          [{ state: "busy" }, pool.busy],
        ])
      : [];
    const text = ctx.metrics.render({ queueDepth: ctx.scheduler.depth, inFlight: ctx.scheduler.active }, ctx.store.stats(), [...monitoringMetricLines(ctx.monitoring, ctx.clock.now()), ...poolLines]);
    return c.text(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
  });
}
