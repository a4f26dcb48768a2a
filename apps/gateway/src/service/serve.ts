// The generation service behind both endpoints: admission (bounded queue), the request deadline, the run,
// the response (JSON or SSE), and the drift-log entry after the response is built.
//
// 1) wait for a decode slot (429 when the queue is full), counting queue time
// 2) run the plan under one abort signal (client gone or request_timeout_s → generation stops)
// 3) JSON: build the body, record (enqueue) the drift-log entry — DriftLogFullError → 503 instead — respond
//    SSE: see stream.ts; a failure before the first chunk is still an ordinary JSON error
import type { GatewayContext } from "../context";
import { chatBody, completionBody } from "../render/responses";
import { Deadline } from "./deadline";
import { classify, failureResponse, recordFailure } from "./failure";
import { finishRequest } from "./finish";
import { factsOf, responseMeta, type ServeInput } from "./input";
import { newRunState, runPlan } from "./run";
import { startStream } from "./stream";

/**
 * @example return serveGeneration(ctx, { request: c.req.raw, meta, model: body.model ?? null, plan });
 */
export async function serveGeneration(ctx: GatewayContext, input: ServeInput): Promise<Response> {
  const state = newRunState();
  const deadline = new Deadline(input.request.signal, ctx.config.limits.request_timeout_s);
  let release: (() => void) | undefined;
  let handedOff = false; // the stream owns the slot and the deadline from then on
  try {
    const queued = ctx.clock.now();
    release = await ctx.scheduler.acquire(deadline.signal);
    state.timings.queueMs = ctx.clock.now() - queued;
    if (input.plan.stream) {
      const response = await startStream(ctx, input, state, deadline, release);
      handedOff = true;
      return response;
    }
    const result = await runPlan(ctx, input.plan, state, deadline.signal);
    const meta = responseMeta(ctx, input);
    const tokenizer = ctx.policy.tokenizer;
    const body = input.plan.endpoint === "chat.completions" ? chatBody(meta, tokenizer, input.plan, result) : completionBody(meta, tokenizer, input.plan, result);
    // The engines' slot is free once the result is in hand: the next queued request decodes while this one's
    // drift-log entry waits for its group fsync (the response itself still waits for it).
    release();
    await finishRequest(ctx, factsOf(ctx, input, state, 200, null, result)); // throws DriftLogFullError → 503 below
    return Response.json(body);
  } catch (error) {
    const failure = classify(ctx, error, deadline.clientClosed, input.meta.id);
    await recordFailure(ctx, error, factsOf(ctx, input, state, failure.status, failure.body.error.code, null));
    return failureResponse(failure);
  } finally {
    if (!handedOff) {
      release?.();
      deadline.dispose();
      input.onEnd?.();
    }
  }
}
