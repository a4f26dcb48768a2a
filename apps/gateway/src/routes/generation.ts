// POST /v1/completions and POST /v1/chat/completions: read the body (size limit, UTF-8, JSON), validate it
// with the shared zod schema, plan it, and hand it to the generation service. A request refused here is
// still logged (status and error code, no candidates).
import { ParameterError } from "@tether/shared/errors";
import { chatCompletionRequest, completionRequest } from "@tether/shared/schemas/openai";
import { zodIssueToOpenAIError } from "@tether/shared/schemas/openai-error";
import type { Context } from "hono";
import type { z } from "zod";
import type { GatewayContext } from "../context";
import { HttpError } from "../http/errors";
import { readJson } from "../http/body";
import { classify, failureResponse, recordFailure } from "../service/failure";
import { planChat, planCompletion, type Endpoint, type GenerationPlan } from "../service/plan";
import type { RequestMeta } from "../service/record";
import { serveGeneration } from "../service/serve";
import type { AppEnv } from "./env";

type Handler = (c: Context<AppEnv>) => Promise<Response>;

function generationRoute<S extends z.ZodType>(
  ctx: GatewayContext,
  endpoint: Endpoint,
  schema: S,
  plan: (ctx: GatewayContext, body: z.output<S>, raw: Record<string, unknown>) => GenerationPlan,
): Handler {
  return async (c) => {
    const meta: RequestMeta = { id: c.get("requestId"), arrivedAt: c.get("arrivedAt"), endpoint };
    let model: string | null = null;
    try {
      const raw = await readJson(c.req.raw, ctx.config.limits.max_body_bytes);
      const parsed = schema.safeParse(raw);
      if (!parsed.success) throw new HttpError(zodIssueToOpenAIError(parsed.error));
      model = (parsed.data as { model?: string }).model ?? null;
      // The request's policy is chosen once, here, and held until the request ends (serving/serving-set.ts).
      // The served name (ctx.modelName, /v1/models' first id) means "what is served": the split decides; only
      // another checkpoint id pins the request (the startup policy's id doubles as the served name by default).
      const lease = ctx.serving.acquire({ user: (parsed.data as { user?: string | null }).user ?? null, model: model === ctx.modelName ? null : model });
      meta.arm = lease.arm;
      let planned: GenerationPlan;
      try {
        planned = plan(lease.ctx, parsed.data, raw as Record<string, unknown>);
      } catch (error) {
        lease.release();
        throw error;
      }
      try {
        const response = warnUnknownChars(lease.ctx, meta, planned, await serveGeneration(lease.ctx, { request: c.req.raw, meta, model, plan: planned, onEnd: lease.release }));
        response.headers.set("x-tether-checkpoint", lease.checkpointId); // the checkpoint that actually served it
        return response;
      } catch (error) {
        lease.release(); // idempotent: serveGeneration releases it itself unless it never started
        // Past planning, a ParameterError (NaN logits, a non-finite sketch row…) is an engine or model fault,
        // not the client's: it must surface as a logged 500, not as a 400 the client cannot fix.
        if (error instanceof ParameterError) throw new Error(`internal: ${error.message}`, { cause: error });
        throw error;
      }
    } catch (error) {
      const failure = classify(ctx, error, c.req.raw.signal.aborted, meta.id);
      const facts = { meta, model, plan: null, result: null, state: null, status: failure.status, errorCode: failure.body.error.code, endedAt: ctx.clock.now() };
      await recordFailure(ctx, error, facts);
      return failureResponse(failure);
    }
  };
}

/** Text the tokenizer could only map to <|unk|> was served anyway: say how much, in a header and the log. */
function warnUnknownChars(ctx: GatewayContext, meta: RequestMeta, plan: GenerationPlan, response: Response): Response {
  const unknown = plan.prompts.reduce((sum, p) => sum + p.unknownChars, 0);
  if (unknown === 0) return response;
  response.headers.set("x-tether-unknown-chars", String(unknown));
  ctx.logWarning(`tether: request ${meta.id}: ${unknown} character(s) the tokenizer cannot represent were encoded as its unknown token`);
  return response;
}

export function completionsRoute(ctx: GatewayContext): Handler {
  return generationRoute(ctx, "completions", completionRequest, (served, body, raw) => planCompletion(served, body, raw));
}

export function chatRoute(ctx: GatewayContext): Handler {
  return generationRoute(ctx, "chat.completions", chatCompletionRequest, (served, body) => planChat(served, body));
}
