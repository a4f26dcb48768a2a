// Cloudflare Worker entry of the gateway: the same Hono app as server.node.ts (createApp), on onnxruntime-web
// (wasm, one thread), with the drift log written to PostgreSQL (Hyperdrive) in ctx.waitUntil after each
// response, and a Cron Trigger (scheduled) that evaluates alert rules over the database.
//
// The gateway is built on an isolate's first request (worker/gateway.ts) and reused; a failed build is
// answered 503 in OpenAI's error shape, naming the problem, and retried on the next request.
import { AsyncLocalStorage } from "node:async_hooks";
import type { ExecutionContext, ScheduledController } from "@cloudflare/workers-types/index.ts";
import { ConfigError } from "@tether/shared/schemas/common";
import { openAIError } from "@tether/shared/schemas/openai-error";
import wasm from "../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm";
import { useOrtWasmModule } from "./engine/ort-web";
import { buildGateway, type WorkerGateway } from "./worker/gateway";
import type { WorkerEnv } from "./worker/env";
import { runScheduled } from "./worker/scheduled";

useOrtWasmModule(wasm);

/** The request whose waitUntil keeps deferred work (drift-log passes) alive. */
const requests = new AsyncLocalStorage<ExecutionContext>();

function defer(work: Promise<unknown>): void {
  const settled = work.catch((e: unknown) => console.error("tether worker: deferred work failed", e));
  requests.getStore()?.waitUntil(settled);
}

let gateway: Promise<WorkerGateway> | null = null;

function gatewayFor(env: WorkerEnv): Promise<WorkerGateway> {
  gateway ??= buildGateway(env, defer).catch((e: unknown) => {
    gateway = null; // the next request tries again (a binding fixed, R2 reachable again)
    throw e;
  });
  return gateway;
}

function startupFailure(e: unknown): Response {
  const lines = e instanceof ConfigError ? e.problems : [(e as Error).message.split("\n")[0]!];
  console.error(`tether worker: not serving: ${lines.join("; ")}`);
  const { status, body } = openAIError(503, `the gateway could not start: ${lines.join("; ")}`, null, "gateway_not_ready");
  return Response.json(body, { status, headers: { "retry-after": "5" } });
}

export default {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    return requests.run(ctx, async () => {
      let gw: WorkerGateway;
      try {
        gw = await gatewayFor(env);
      } catch (e) {
        return startupFailure(e);
      }
      return gw.app.fetch(request, env, ctx);
    });
  },

  scheduled(controller: ScheduledController, env: WorkerEnv, ctx: ExecutionContext): Promise<void> {
    return requests.run(ctx, async () => void (await runScheduled(await gatewayFor(env), new Date(controller.scheduledTime))));
  },
};
