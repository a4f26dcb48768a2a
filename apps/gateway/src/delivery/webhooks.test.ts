// Webhooks against real local HTTP receivers: the signature verified independently with node:crypto, a
// receiver that fails the first two deliveries gets the third (backoff, delivery log), and a receiver
// that never answers blocks neither rule evaluation nor completions.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import type { MemoryAlertStore } from "../monitor/memory-alert-store";
import { post, testApp, until } from "../../../../test/support/gateway-app";

const SECRET = "whsec-0123456789abcdef";
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function receiver(handle: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => handle(req, body, res));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

const firingRule = { name: "kl-any", metric: "kl_mean", window: "1m", statistic: "mean", comparison: ">=", threshold: 0, for: "0s", min_samples: 1 } as const;

describe("webhooks", () => {
  test("signed with HMAC-SHA256 over the raw body (timestamp inside it), retried with backoff after two failures, every attempt logged", async () => {
    const got: Array<{ headers: IncomingMessage["headers"]; body: string; at: number }> = [];
    const url = await receiver((req, body, res) => {
      got.push({ headers: req.headers, body, at: Date.now() });
      res.writeHead(got.length <= 2 ? 500 : 204).end();
    });
    const { app } = testApp({ config: { alerts: { rules: [firingRule], webhooks: [{ url, secret: SECRET, events: ["firing"], backoff_ms: 50, max_attempts: 4 }] } } });
    await (await post(app, "/v1/completions", { prompt: "a", max_tokens: 2 })).text();
    const events = await app.context.monitoring.monitor.evaluate();
    expect(events.map((e) => e.transition)).toEqual(["pending", "firing"]);
    await app.context.monitoring.webhooks.drained();

    expect(got).toHaveLength(3);
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(45); // 50 ms, then 100 ms (timer granularity)
    expect(got[2]!.at - got[1]!.at).toBeGreaterThanOrEqual(95);
    for (const { headers, body } of got) {
      const expected = createHmac("sha256", SECRET).update(body).digest();
      const sig = String(headers["x-tether-signature"]);
      expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(timingSafeEqual(Buffer.from(sig.slice(7), "hex"), expected)).toBe(true);
      const payload = JSON.parse(body);
      expect(payload).toMatchObject({ type: "alert.firing", id: events[1]!.seq, alert: { rule: "kl-any", state: "firing" } });
      expect(String(payload.timestamp)).toBe(headers["x-tether-timestamp"]);
      expect(Math.abs(payload.timestamp - Date.now() / 1000)).toBeLessThan(60);
      expect(headers["x-tether-event-id"]).toBe(String(events[1]!.seq));
    }
    // a tampered body no longer matches
    expect(createHmac("sha256", SECRET).update(got[0]!.body.replace("firing", "resolved")).digest("hex")).not.toBe(String(got[0]!.headers["x-tether-signature"]).slice(7));

    const log = (app.context.monitoring.store as MemoryAlertStore).deliveries;
    expect(log.map((d) => [d.attempt, d.status, d.ok])).toEqual([[1, 500, false], [2, 500, false], [3, 204, true]]);
    expect(log[0]).toMatchObject({ url, event: "alert.firing", error: "HTTP 500", alertId: events[1]!.alert.id });
    expect(app.context.monitoring.webhooks.snapshot()).toMatchObject({ delivered: 1, failedAttempts: 2, gaveUp: 0 });
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toContain('tether_webhook_deliveries_total{outcome="failed"} 2');
    expect(metrics).toContain('tether_alerts{state="firing"} 1');
  });

  test("a receiver that never answers blocks neither evaluation nor completions; the attempt times out and is logged", async () => {
    let hits = 0;
    const url = await receiver(() => void hits++); // reads the request, never responds
    const { app } = testApp({ config: { alerts: { rules: [firingRule], webhooks: [{ url, secret: SECRET, timeout_ms: 300, max_attempts: 1 }] } } });
    await (await post(app, "/v1/completions", { prompt: "a", max_tokens: 2 })).text();
    await app.context.monitoring.monitor.evaluate();
    await until(() => hits === 1);
    // evaluation has returned while the delivery is still hanging, and a completion is served meanwhile
    expect(app.context.monitoring.webhooks.snapshot().inFlight).toBe(1);
    const res = await post(app, "/v1/completions", { prompt: "b", max_tokens: 2 });
    expect(res.status).toBe(200);
    await res.text();
    expect(app.context.monitoring.webhooks.snapshot().inFlight).toBe(1);
    expect((app.context.monitoring.store as MemoryAlertStore).deliveries).toHaveLength(0);
    await app.context.monitoring.webhooks.drained();
    expect(hits).toBe(1);
    const log = (app.context.monitoring.store as MemoryAlertStore).deliveries;
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ ok: false, status: null, error: "no answer within 300 ms" });
    expect(app.context.monitoring.webhooks.snapshot()).toMatchObject({ gaveUp: 1, inFlight: 0 });
  });
});
