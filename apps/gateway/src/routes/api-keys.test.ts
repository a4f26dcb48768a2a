// API keys on /v1/*: with keys configured, the official openai client (which sends Authorization: Bearer)
// gets through with a right key and gets a 401 APIError with a wrong or missing one; digests in config work.
import { createHash } from "node:crypto";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { testApp } from "../../../../test/support/gateway-app";

const KEY = "sk-tether-test-key-0123456789";

function clientFor(app: ReturnType<typeof testApp>["app"], apiKey: string) {
  return new OpenAI({ apiKey, baseURL: "http://gateway.test/v1", maxRetries: 0, fetch: (input, init) => Promise.resolve(app.request(new Request(input as string, init))) });
}

describe("API keys on /v1/*", () => {
  it("accepts a configured key, refuses a wrong one with 401 invalid_api_key, and leaves /healthz open", async () => {
    const { app } = testApp({ config: { api_keys: [KEY] } });
    const ok = await clientFor(app, KEY).completions.create({ model: "fake-policy", prompt: "ab", max_tokens: 1 });
    expect(ok.choices).toHaveLength(1);
    await expect(clientFor(app, `${KEY}x`).completions.create({ model: "fake-policy", prompt: "ab", max_tokens: 1 })).rejects.toMatchObject({ status: 401, code: "invalid_api_key" });
    expect((await app.request("/v1/models")).status).toBe(401);
    expect((await app.request("/healthz")).status).toBe(200);
  });

  it("accepts a key configured as its sha256 digest, but not the digest presented as a key", async () => {
    const digest = `sha256:${createHash("sha256").update(KEY).digest("hex")}`;
    const { app } = testApp({ config: { api_keys: [digest] } });
    const bearer = (k: string) => app.request("/v1/models", { headers: { authorization: `Bearer ${k}` } });
    expect((await bearer(KEY)).status).toBe(200);
    expect((await bearer(digest)).status).toBe(401);
  });

  it("with no keys configured, /v1/* stays open", async () => {
    const { app } = testApp();
    expect((await app.request("/v1/models")).status).toBe(200);
  });
});
