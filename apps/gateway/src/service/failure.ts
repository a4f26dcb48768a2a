// A failed generation request: its status and OpenAI-shaped body, and its drift-log row. A client that has
// gone away gets no body (status 499 is only logged); a full drift log never hides the original error.
import { openAIError, type OpenAIErrorBody } from "@tether/shared/schemas/openai-error";
import type { GatewayContext } from "../context";
import { errorResponse, isDriftLogFull } from "../http/errors";
import { finishRequest } from "./finish";
import type { RequestFacts } from "./record";

export interface Failure {
  status: number;
  body: OpenAIErrorBody;
  headers: Record<string, string>;
  clientGone: boolean;
}

/** Status and body for an error thrown while serving; internal errors are logged, never leaked. */
export function classify(ctx: GatewayContext, error: unknown, clientGone: boolean, requestId?: string): Failure {
  if (clientGone) {
    return { ...openAIError(499, "the client closed the request", null, "client_closed_request"), headers: {}, clientGone: true };
  }
  return { ...errorResponse(error, (e) => ctx.logError("tether gateway: internal error", e, requestId)), clientGone: false };
}

/** Logs the failed request (metrics always; the drift-log row unless the log itself is what failed). */
export async function recordFailure(ctx: GatewayContext, error: unknown, facts: RequestFacts): Promise<void> {
  try {
    await finishRequest(ctx, facts, { record: !isDriftLogFull(error) });
  } catch (recordError) {
    // the store is full while logging an error: the error response stands, only the row is lost
    if (!isDriftLogFull(recordError)) ctx.logError("tether gateway: recording a failed request", recordError, facts.meta.id);
    await finishRequest(ctx, facts, { record: false });
  }
}

/** The JSON response of a failure, with x-tether-request-id set by the app's middleware. */
export function failureResponse(failure: Failure): Response {
  return Response.json(failure.body, { status: failure.status, headers: failure.headers });
}
