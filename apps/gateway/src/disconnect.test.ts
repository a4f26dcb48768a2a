// A real TCP client going away: @hono/node-server aborts the request's signal (non-streaming) or cancels
// the response body (streaming), and generation stops with the session closed and the request logged 499.
import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testApp, TEXT_ONLY, until } from "../../../test/support/gateway-app";

describe("client disconnect over HTTP", () => {
  const { app, store, policy } = testApp({ policy: { ...TEXT_ONLY, delayMs: 5 }, reference: TEXT_ONLY });
  let server: ServerType;
  let base = "";

  beforeAll(async () => {
    const port = await new Promise<number>((resolve) => {
      server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => resolve(info.port));
    });
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    (server as import("node:http").Server).closeAllConnections(); // keep-alive sockets would hold close() open
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  for (const stream of [false, true]) {
    it(`cancels generation when the client aborts (stream: ${stream})`, async () => {
      const before = store.entries.length;
      const steps = () => policy.calls.filter((c) => c.op === "step").length;
      const start = steps();
      const controller = new AbortController();
      const body = JSON.stringify({ model: app.context.modelName, prompt: "a", max_tokens: 100, stream, drift_guard: false });
      const pending = fetch(`${base}/v1/completions`, { method: "POST", body, headers: { "content-type": "application/json" }, signal: controller.signal });
      if (stream) await (await pending).body!.getReader().read();
      else await until(() => steps() > start + 2);
      controller.abort();
      await pending.catch(() => undefined);
      await until(() => store.entries.length === before + 1);
      expect(store.entries.at(-1)!.request.status).toBe(499);
      expect(policy.openSessions).toBe(0);
      expect(steps() - start).toBeLessThan(60);
    });
  }
});
