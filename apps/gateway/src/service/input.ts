// What one generation request carries through the service: the HTTP request (for its abort signal), when
// and as what it arrived, and its plan; plus the response header fields and drift-log facts derived from it.
import type { GatewayContext } from "../context";
import type { ResponseMeta } from "../render/responses";
import type { GenerationPlan } from "./plan";
import type { RequestFacts, RequestMeta } from "./record";
import type { RunResult, RunState } from "./run";

export interface ServeInput {
  request: Request; // for its abort signal
  meta: RequestMeta;
  model: string | null; // as the client sent it
  plan: GenerationPlan;
  /** Called once when the request has ended, stream or not (releases its lease on the served policy). */
  onEnd?: () => void;
}

/** id / created / model of the response. */
export function responseMeta(ctx: GatewayContext, input: ServeInput): ResponseMeta {
  const prefix = input.plan.endpoint === "chat.completions" ? "chatcmpl-" : "cmpl-";
  return { id: prefix + input.meta.id, created: Math.floor(input.meta.arrivedAt / 1000), model: ctx.modelName };
}

/** The facts of this request at the moment it ends. */
export function factsOf(ctx: GatewayContext, input: ServeInput, state: RunState, status: number, errorCode: string | null, result: RunResult | null): RequestFacts {
  return { meta: input.meta, model: input.model, plan: input.plan, result, state, status, errorCode, endedAt: ctx.clock.now() };
}

