// OpenAI's error shape {"error":{"message","type","param","code"}} and the conversions the gateway uses
// to answer every client mistake with a 4xx that names the offending parameter.

import { z } from "zod";
import { ParameterError } from "../errors";
import { formatPath, issueMessage, leafIssue } from "./common";

export const openAIErrorBody = z.object({
  error: z.object({
    message: z.string(), // one sentence naming the parameter and what is allowed
    type: z.string(), // "invalid_request_error", "not_found_error", … (derived from the status)
    param: z.string().nullable(), // offending field path, e.g. "messages[0].role"; null when not about one field
    code: z.string().nullable(), // machine-readable reason, e.g. "invalid_value", "drift_guard_rejected"
  }),
});
export type OpenAIErrorBody = z.infer<typeof openAIErrorBody>;

/** A status with its body, for `c.json(e.body, e.status)`. */
export interface OpenAIErrorResponse {
  status: number;
  body: OpenAIErrorBody;
}

/**
 * The `type` for a status. OpenAI's SDKs pick their error class from the status; the type is for people and
 * logs. A bad or missing API key is `invalid_request_error` (code `invalid_api_key`), as api.openai.com answers.
 */
export function openAIErrorType(status: number): string {
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/**
 * An OpenAI-shaped error.
 * @example openAIError(404, "model 'x' does not exist", "model", "model_not_found")
 * // { status: 404, body: { error: { message, type: "not_found_error", param: "model", code: "model_not_found" } } }
 */
export function openAIError(status: number, message: string, param: string | null = null, code: string | null = null): OpenAIErrorResponse {
  return { status, body: { error: { message, type: openAIErrorType(status), param, code } } };
}

/**
 * A 400 for a failed request parse, naming the first offending parameter.
 * @example zodIssueToOpenAIError(chatCompletionRequest.safeParse(body).error!)
 * // { status: 400, body: { error: { message: "temperature must be a number in [0, 2] (got 3)", param: "temperature", … } } }
 */
export function zodIssueToOpenAIError(error: z.ZodError): OpenAIErrorResponse {
  const first = error.issues[0];
  if (!first) return openAIError(400, "invalid request", null, "invalid_value");
  const issue = leafIssue(first);
  if (issue.code === "unrecognized_keys") {
    const param = formatPath([...issue.path, issue.keys[0]!]);
    return openAIError(400, `${param} is not a known option`, param, "unknown_parameter");
  }
  const param = formatPath(issue.path);
  const reason = issueMessage(issue);
  if (param === "") return openAIError(400, `request body ${issue.code === "invalid_type" ? "must be a JSON object" : reason}`, null, "invalid_value");
  const code = reason === "is required" ? "missing_required_parameter" : "invalid_value";
  return openAIError(400, `${param} ${reason}`, param, code);
}

/**
 * A 400 for a ParameterError thrown past parsing (sampling parameters, drift_guard limits).
 * @example parameterErrorToOpenAIError(new ParameterError("n", "must be ≤ 8", 9)) // param "n"
 */
export function parameterErrorToOpenAIError(error: ParameterError): OpenAIErrorResponse {
  return openAIError(400, error.message, error.param, "invalid_value");
}
