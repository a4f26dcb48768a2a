// Security of what the gateway writes and answers: a request id on every response and access-log line, no
// prompt in the log unless log_content, secrets masked, CORS off by default and exact when configured.
import { describe, expect, it } from "vitest";
import { loadGatewayConfig, type GatewayConfigInput } from "@tether/shared/schemas/gateway-config";
import { createApp } from "../app";
import { FakeEngine } from "../../../../test/support/fake-engine";
import { MemoryDriftStore } from "../store/memory-store";
import { errorText, jsonLogger, redact, type LogRecord } from "./log";

function appWithLog(config: GatewayConfigInput = {}) {
  const lines: LogRecord[] = [];
  const app = createApp({
    policy: new FakeEngine({ id: "fake-policy", seed: 7, drift: 0.3 }),
    reference: new FakeEngine({ id: "fake-reference", seed: 7 }),
    store: new MemoryDriftStore(),
    config: loadGatewayConfig({ drift_guard: { max_kl: 10 }, ...config }, {}),
    log: (r) => void lines.push(r),
  });
  return { app, lines };
}
const SECRET_PROMPT = "my card is 4111-1111-1111-1111; 1+1=";
const post = (app: ReturnType<typeof appWithLog>["app"], body: object, headers: Record<string, string> = {}) =>
  app.request("/v1/completions", { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ model: app.context.modelName, ...body }) });

describe("structured log", () => {
  it("one access line per request with the response's request id; no prompt or completion unless log_content", async () => {
    const { app, lines } = appWithLog();
    const responses = [
      await post(app, { prompt: SECRET_PROMPT, max_tokens: 4 }),
      await post(app, { prompt: SECRET_PROMPT, max_tokens: -1 }), // 400
      await app.request("/nope"), // 404
      await app.request("/healthz"),
    ];
    const ids = responses.map((r) => r.headers.get("x-tether-request-id"));
    expect(ids.every((id) => typeof id === "string" && id.length >= 16)).toBe(true);
    expect(new Set(ids).size).toBe(4);
    expect(lines.map((l) => [l.request_id, l.status])).toEqual(responses.map((r, i) => [ids[i], r.status]));
    const completion = ((await responses[0]!.json()) as { choices: Array<{ text: string }> }).choices[0]!.text;
    const text = JSON.stringify(lines);
    expect(text).not.toContain("4111");
    if (completion.length >= 3) expect(text).not.toContain(JSON.stringify(completion).slice(1, -1));
  });

  it("log_content: true puts the request body in the access line", async () => {
    const { app, lines } = appWithLog({ log_content: true });
    await post(app, { prompt: SECRET_PROMPT, max_tokens: 2 });
    expect(lines[0]!.content).toContain("4111-1111");
  });

  it("masks URL passwords, bearer tokens and configured secrets in every string field", () => {
    const out: string[] = [];
    const log = jsonLogger((l) => void out.push(l), { secrets: ["s3cr3t-admin-token-value"], now: () => new Date(0) });
    const err = new Error("connect failed for postgres://tether:hunter2@db.internal:5432/x", { cause: new Error("Authorization: Bearer abc.def-123") });
    log({ level: "error", msg: "token s3cr3t-admin-token-value leaked?", request_id: "r1", error: errorText(err) });
    const record = JSON.parse(out[0]!) as Record<string, string>;
    expect(record).toEqual({
      time: "1970-01-01T00:00:00.000Z",
      level: "error",
      msg: "token *** leaked?",
      request_id: "r1",
      error: "Error: connect failed for postgres://tether:***@db.internal:5432/x <- Error: Authorization: Bearer ***",
    });
    expect(redact("postgresql://u:p%40ss@h/d and postgres://nopass@h/d", [])).toBe("postgresql://u:***@h/d and postgres://nopass@h/d");
  });
});

describe("CORS", () => {
  const preflight = (app: ReturnType<typeof appWithLog>["app"], origin: string) =>
    app.request("/v1/completions", { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" } });

  it("off by default: no Access-Control-Allow-Origin on any response", async () => {
    const { app } = appWithLog();
    const res = await post(app, { prompt: "1+1=", max_tokens: 2 }, { origin: "https://evil.example" });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect((await preflight(app, "https://evil.example")).headers.get("access-control-allow-origin")).toBeNull();
  });

  it("cors.origins: the listed origin is allowed (preflight and request, request id exposed), others are not", async () => {
    const { app } = appWithLog({ cors: { origins: ["https://app.example"] } });
    const ok = await preflight(app, "https://app.example");
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(ok.headers.get("access-control-allow-methods")).toContain("POST");
    const res = await post(app, { prompt: "1+1=", max_tokens: 2 }, { origin: "https://app.example" });
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("access-control-expose-headers")).toContain("x-tether-request-id");
    const other = await post(app, { prompt: "1+1=", max_tokens: 2 }, { origin: "https://evil.example" });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("a malformed origin is a config error naming the key", () => {
    expect(() => loadGatewayConfig({ cors: { origins: ["app.example/path"] } }, {})).toThrow(/cors\.origins\S*: must be "\*" or an origin/);
  });
});
