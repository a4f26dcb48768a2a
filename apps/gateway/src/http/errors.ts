// Every failure as an OpenAI-shaped error response: client mistakes are 4xx naming the parameter, the
// drift guard's refusal is 422, capacity is 429/503, and anything unexpected is a 500 in the same shape.
import { ParameterError } from "@tether/shared/errors";
import { openAIError, parameterErrorToOpenAIError, type OpenAIErrorResponse } from "@tether/shared/schemas/openai-error";
import { DriftRejectedError } from "../guard/guard";
import { QueueFullError } from "../scheduler";
import { DriftLogFullError } from "../store/drift-store";

/** An error that already knows its HTTP answer. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly response: OpenAIErrorResponse,
    readonly headers: Record<string, string> = {},
  ) {
    super(response.body.error.message);
  }

  static of(status: number, message: string, param: string | null = null, code: string | null = null): HttpError {
    return new HttpError(openAIError(status, message, param, code));
  }
}

/** The generation deadline (limits.request_timeout_s) passed. */
export class RequestTimeoutError extends Error {
  override readonly name = "RequestTimeoutError";
  constructor(readonly seconds: number) {
    super(`the request did not finish within limits.request_timeout_s = ${seconds} s`);
  }
}

/** The drift log can hold no more entries (spill cap, spill failure, closed). */
export function isDriftLogFull(error: unknown): error is DriftLogFullError {
  return error instanceof DriftLogFullError;
}

/** Status, body and headers for any thrown value. `internal` receives errors that are our bug. */
export function errorResponse(error: unknown, internal: (e: unknown) => void): { status: number; body: OpenAIErrorResponse["body"]; headers: Record<string, string> } {
  const plain = (r: OpenAIErrorResponse, headers: Record<string, string> = {}) => ({ status: r.status, body: r.body, headers });
  if (error instanceof HttpError) return plain(error.response, error.headers);
  if (error instanceof ParameterError) return plain(parameterErrorToOpenAIError(error));
  if (error instanceof QueueFullError) {
    return plain(openAIError(429, error.message, null, "queue_full"), { "retry-after": String(error.retryAfterS) });
  }
  if (error instanceof DriftRejectedError) {
    const r = openAIError(422, error.message, "drift_guard", "drift_limit_exceeded");
    r.body.error.type = "drift_error";
    return plain(r);
  }
  if (error instanceof RequestTimeoutError) return plain(openAIError(504, error.message, null, "request_timeout"));
  if (isDriftLogFull(error)) {
    return plain(openAIError(503, "the drift log is full (database unreachable and spill file at its cap); the request was not served", null, "drift_log_full"), {
      "retry-after": "5",
    });
  }
  internal(error);
  return plain(openAIError(500, "internal error while serving the request", null, "internal_error"));
}
