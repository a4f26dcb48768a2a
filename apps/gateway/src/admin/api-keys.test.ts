// API keys in the `api_keys` table on /v1/* (fake engines, PGlite in memory): with no key anywhere /v1/* is
// open; once a key is issued it is required; an issued key and a config key both pass; a wrong, revoked or
// expired key is 401 in OpenAI's shape (the official client's APIError); the gateway's logs never contain a
// key; revoking the last key does not reopen the gateway; a table that cannot be read at start closes it (503).
import OpenAI from "openai";
import { createDb, migrate, type DbHandle } from "@tether/db";
import { loadGatewayConfig } from "@tether/shared/schemas/gateway-config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../app";
import { FakeEngine } from "../../../../test/support/fake-engine";
import { MemoryDriftStore } from "../store/memory-store";
import { createApiKey, revokeApiKey } from "./api-keys";

const CONFIG_KEY = "sk-tether-config-key-0123456789";
const REFRESH_MS = 1000;

describe("API keys issued into the database", () => {
  let handle: DbHandle;
  const clock = { t: Date.now(), now() { return this.t; } }; // issuing checks the expiry against the wall clock
  const logged: string[] = [];
  const make = (apiKeys: string[], db = handle.db) =>
    createApp({
      policy: new FakeEngine({ id: "fake-policy", seed: 7, drift: 0.3 }),
      reference: new FakeEngine({ id: "fake-reference", seed: 7 }),
      store: new MemoryDriftStore(),
      db,
      clock,
      config: loadGatewayConfig({ drift_guard: { max_kl: 0.05 }, api_keys: apiKeys, promotion: { sync_interval_ms: REFRESH_MS }, log_content: true }, {}),
      log: (record) => void logged.push(JSON.stringify(record)),
      logError: (message, error) => void logged.push(`${message} ${String(error)}`),
      logLine: (line) => void logged.push(line),
    });
  const client = (app: ReturnType<typeof make>, apiKey: string) =>
    new OpenAI({ apiKey, baseURL: "http://gateway.test/v1", maxRetries: 0, fetch: (input, init) => Promise.resolve(app.request(new Request(input as string, init))) });
  const complete = (app: ReturnType<typeof make>, key: string) => client(app, key).completions.create({ model: "fake-policy", prompt: "ab", max_tokens: 1 });

  beforeAll(async () => {
    handle = await createDb("memory://");
    await migrate(handle);
  }, 60_000);
  afterAll(async () => {
    await handle?.close();
  });

  it("is open with no key anywhere, then needs one; issued and config keys pass; wrong, revoked and expired keys are 401", async () => {
    const open = make([]);
    expect((await open.request("/v1/models")).status).toBe(200);

    const alice = await createApiKey(handle.db, "alice");
    const bobExpiry = new Date(clock.t + 3_600_000);
    const bob = await createApiKey(handle.db, "bob", { expiresAt: bobExpiry });
    expect(alice).toMatch(/^tether_key_[A-Za-z0-9_-]{43}$/);
    const app = make([CONFIG_KEY]);
    expect((await app.request("/v1/models")).status).toBe(401);
    expect((await complete(app, alice)).choices).toHaveLength(1);
    expect((await complete(app, bob)).choices).toHaveLength(1);
    expect((await complete(app, CONFIG_KEY)).choices).toHaveLength(1);
    await expect(complete(app, `${alice}x`)).rejects.toMatchObject({ status: 401, code: "invalid_api_key", type: "invalid_request_error" });
    // The first app was built before any key existed: it picks the table up on its next re-read.
    clock.t += REFRESH_MS;
    await open.request("/v1/models"); // starts the re-read
    for (let i = 0; i < 100 && (await open.request("/v1/models")).status === 200; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await open.request("/v1/models")).status).toBe(401);

    expect(await revokeApiKey(handle.db, "alice")).toBe(true);
    clock.t += REFRESH_MS; // the copy is stale: the next request re-reads the table
    await app.request("/v1/models", { headers: { authorization: `Bearer ${alice}` } });
    let revoked: unknown = null;
    for (let i = 0; i < 100 && revoked === null; i++) revoked = await complete(app, alice).then(() => null, (e: unknown) => e);
    expect(revoked).toMatchObject({ status: 401, code: "invalid_api_key", error: { message: "this API key has been revoked" } });

    clock.t += 2 * 3_600_000; // past bob's expiry
    await expect(complete(app, bob)).rejects.toMatchObject({ status: 401, code: "invalid_api_key", error: { message: `this API key expired at ${bobExpiry.toISOString()}` } });

    expect(await revokeApiKey(handle.db, "bob")).toBe(true);
    clock.t += REFRESH_MS;
    const last = make([]); // only revoked rows left: still closed
    expect((await last.request("/v1/models")).status).toBe(401);
    expect((await last.request("/v1/models", { headers: { authorization: `Bearer ${bob}` } })).status).toBe(401);

    const access = logged.map((l) => JSON.parse(l.startsWith("{") ? l : "{}") as { msg?: string; api_key?: string }).filter((r) => r.msg === "request");
    expect(new Set(access.map((r) => r.api_key))).toEqual(new Set([undefined, "alice", "bob", "config"])); // names only
    expect(logged.length).toBeGreaterThan(0); // access lines were written (log_content: bodies included)…
    for (const secret of [alice, bob, CONFIG_KEY]) expect(logged.join("\n")).not.toContain(secret); // …without a key
  }, 60_000);

  it("fails closed while the table has never been read: 503 api_keys_unavailable, config keys still pass, then it recovers", async () => {
    const broken = await createDb("memory://");
    try {
      await migrate(broken);
      await broken.db.execute("alter table api_keys rename to api_keys_away");
      const app = make([CONFIG_KEY], broken.db);
      const down = await app.request("/v1/models");
      expect(down.status).toBe(503);
      expect(((await down.json()) as { error: { code: string } }).error.code).toBe("api_keys_unavailable");
      await expect(complete(app, "tether_key_not-a-real-one")).rejects.toMatchObject({ status: 503, code: "api_keys_unavailable" });
      expect((await complete(app, CONFIG_KEY)).choices).toHaveLength(1);

      await broken.db.execute("alter table api_keys_away rename to api_keys");
      const carol = await createApiKey(broken.db, "carol");
      await expect(complete(app, carol)).rejects.toMatchObject({ status: 503 }); // retried at most once a second
      clock.t += 1000;
      expect((await complete(app, carol)).choices).toHaveLength(1);
      expect((await app.request("/v1/models")).status).toBe(401); // keys exist: no key, no entry
    } finally {
      await broken.close();
    }
  }, 60_000);
});
