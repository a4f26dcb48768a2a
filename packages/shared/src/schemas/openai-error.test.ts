import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ParameterError } from "../errors";
import { openAIError, openAIErrorBody, parameterErrorToOpenAIError, zodIssueToOpenAIError } from "./openai-error";
import { chatCompletionRequest } from "./openai";

describe("openAIError", () => {
  it("builds OpenAI's shape with a type derived from the status", () => {
    const e = openAIError(404, "model 'x' does not exist", "model", "model_not_found");
    expect(e).toEqual({ status: 404, body: { error: { message: "model 'x' does not exist", type: "not_found_error", param: "model", code: "model_not_found" } } });
    expect(openAIErrorBody.parse(e.body)).toEqual(e.body);
    expect(openAIError(400, "bad").body.error).toEqual({ message: "bad", type: "invalid_request_error", param: null, code: null });
    expect(openAIError(401, "no").body.error.type).toBe("invalid_request_error");
    expect(openAIError(429, "busy").body.error.type).toBe("rate_limit_error");
    expect(openAIError(422, "drift", null, "drift_guard_rejected").body.error.type).toBe("invalid_request_error");
    expect(openAIError(503, "down").body.error.type).toBe("server_error");
  });
});

describe("zodIssueToOpenAIError", () => {
  it("names the first offending parameter path", () => {
    const err = chatCompletionRequest.safeParse({ model: "m", messages: [{ role: "user", content: "x" }], temperature: 3, n: 0 }).error!;
    const e = zodIssueToOpenAIError(err);
    expect(e.status).toBe(400);
    expect(e.body.error).toEqual({
      message: "temperature must be a number in [0, 2] (got 3)",
      type: "invalid_request_error",
      param: "temperature",
      code: "invalid_value",
    });
  });

  it("marks missing parameters and a body that is not an object", () => {
    expect(zodIssueToOpenAIError(chatCompletionRequest.safeParse({}).error!).body.error.code).toBe("missing_required_parameter");
    const notObject = zodIssueToOpenAIError(chatCompletionRequest.safeParse([1]).error!).body.error;
    expect(notObject).toMatchObject({ param: null, message: "request body must be a JSON object" });
  });

  it("works on any zod schema's error", () => {
    const err = z.object({ a: z.object({ b: z.array(z.number()) }) }).safeParse({ a: { b: [1, "x"] } }).error!;
    expect(zodIssueToOpenAIError(err).body.error.param).toBe("a.b[1]");
  });
});

describe("parameterErrorToOpenAIError", () => {
  it("keeps the ParameterError's param", () => {
    const e = parameterErrorToOpenAIError(new ParameterError("drift_guard.candidates", "must be ≤ 8", 9));
    expect(e.body.error).toMatchObject({ param: "drift_guard.candidates", message: "drift_guard.candidates must be ≤ 8 (got 9)" });
  });
});
