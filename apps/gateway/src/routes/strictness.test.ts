// OpenAI strictness where it changes answers: `model` is required, bodies must be JSON (415), other servers'
// sampling extensions are refused by name, and GET /v1/models/:id takes ids with slashes.
import { openAIErrorBody } from "@tether/shared/schemas/openai-error";
import { describe, expect, it } from "vitest";
import { post, testApp } from "../../../../test/support/gateway-app";

async function error(res: Response | Promise<Response>, status: number) {
  const r = await res;
  expect(r.status).toBe(status);
  return openAIErrorBody.parse(await r.json()).error;
}

describe("OpenAI strictness", () => {
  const { app, errors } = testApp({ config: { model_name: "org/tiny-arith" } });
  const send = (path: string, body: string, type: string | null) =>
    app.request(path, { method: "POST", body, headers: type === null ? {} : { "content-type": type } });

  it("400 naming `model` when it is missing, on both endpoints", async () => {
    for (const [path, body] of [
      ["/v1/completions", { prompt: "1+1=" }],
      ["/v1/chat/completions", { messages: [{ role: "user", content: "hi" }] }],
    ] as const) {
      const e = await error(send(path, JSON.stringify(body), "application/json"), 400);
      expect(e).toEqual({ message: "model is required", type: "invalid_request_error", param: "model", code: "missing_required_parameter" });
    }
  });

  it("415 for a body that is not declared JSON; JSON with parameters or a +json suffix is fine", async () => {
    const body = JSON.stringify({ model: "org/tiny-arith", prompt: "1+1=", max_tokens: 1 });
    for (const type of ["application/x-www-form-urlencoded", "text/plain;charset=UTF-8", "multipart/form-data; boundary=x", null]) {
      const e = await error(send("/v1/completions", body, type), 415);
      expect(e).toMatchObject({ code: "unsupported_media_type", type: "invalid_request_error" });
      expect(e.message).toContain("content-type: application/json");
    }
    for (const type of ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/vnd.api+json"]) {
      expect((await send("/v1/completions", body, type)).status, type).toBe(200);
    }
  });

  it.each([
    ["repetition_penalty", 1.2],
    ["ignore_eos", true],
    ["use_beam_search", true],
    ["min_tokens", 4],
    ["stop_token_ids", [5]],
    ["guided_json", { type: "object" }],
    ["max_new_tokens", 8],
    ["typical_p", 0.5],
  ])("refuses %s = %j by name on both endpoints", async (field, value) => {
    for (const [path, body] of [
      ["/v1/completions", { prompt: "1+1=" }],
      ["/v1/chat/completions", { messages: [{ role: "user", content: "hi" }] }],
    ] as const) {
      const e = await error(post(app, path, { ...body, [field]: value }), 400);
      expect(e.param).toBe(field);
      expect(e.message).toMatch(new RegExp(`^${field} is not supported`));
    }
  });

  it("accepts those fields at their neutral value, harmless OpenAI fields, and unknown fields", async () => {
    const neutral = { repetition_penalty: 1, ignore_eos: false, use_beam_search: false, stop_token_ids: [], skip_special_tokens: true, guided_json: null };
    const harmless = { user: "u-1", metadata: { a: "b" }, store: false, service_tier: "auto", x_client_trace: "abc" };
    const res = await post(app, "/v1/completions", { prompt: "1+1=", max_tokens: 2, ...neutral, ...harmless });
    expect(res.status).toBe(200);
    const chat = await post(app, "/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], max_tokens: 2, best_of: 1, echo: false, ...harmless });
    expect(chat.status).toBe(200);
    expect(await error(post(app, "/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], best_of: 3 }), 400)).toMatchObject({ param: "best_of" });
  });

  it("GET /v1/models/:id takes ids with a slash, raw or percent-encoded", async () => {
    for (const path of ["/v1/models/org/tiny-arith", "/v1/models/org%2Ftiny-arith"]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(200);
      expect(await res.json()).toMatchObject({ id: "org/tiny-arith", object: "model" });
    }
    expect(await error(app.request("/v1/models/org/other"), 404)).toMatchObject({ code: "model_not_found", param: "model" });
    expect(await error(app.request("/v1/models/org/tiny-arith", { method: "DELETE" }), 405)).toMatchObject({ code: "method_not_allowed" });
    expect(errors).toEqual([]);
  });
});
