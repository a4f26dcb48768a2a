// /v1/models, /healthz, /readyz and /metrics.
import { modelList } from "@tether/shared/schemas/openai-response";
import { describe, expect, it } from "vitest";
import { post, testApp } from "../../../../test/support/gateway-app";

describe("read-only routes", () => {
  it("lists the served name and the checkpoint behind it, and retrieves each by id", async () => {
    const { app } = testApp({ config: { model_name: "tether-demo" } });
    const list = modelList.parse(await (await app.request("/v1/models")).json());
    const card = { object: "model", created: expect.any(Number), owned_by: "tether" };
    expect(list.data).toEqual([{ id: "tether-demo", ...card }, { id: "fake-policy", ...card }]);
    expect((await app.request("/v1/models/tether-demo")).status).toBe(200);
    expect((await app.request("/v1/models/fake-policy")).status).toBe(200);
    expect((await app.request("/v1/models/other")).status).toBe(404);
    expect((await post(app, "/v1/completions", { model: "tether-demo", prompt: "a", max_tokens: 1 })).status).toBe(200);
  });

  it("healthz answers; readyz follows the drift log's reachability", async () => {
    const { app, store } = testApp();
    expect(await (await app.request("/healthz")).json()).toEqual({ status: "ok" });
    const ready = await app.request("/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", policy: "fake-policy", reference: "fake-reference" });
    const healthy = store.stats();
    store.stats = () => ({ ...healthy, lastError: "ECONNREFUSED" }); // the database refuses connections
    const down = await app.request("/readyz");
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: "not_ready", store: { reachable: false, error: "ECONNREFUSED" } });
  });

  it("exports Prometheus metrics: requests, tokens, guard outcomes, queue depth, latency histogram", async () => {
    const { app } = testApp();
    await post(app, "/v1/completions", { prompt: "a", max_tokens: 3, n: 2, seed: 1 });
    await post(app, "/v1/completions", { prompt: "a", max_tokens: 3, drift_guard: { max_kl: 1e-9, fallback: "least_kl" } });
    await post(app, "/v1/completions", { prompt: "a", temperature: 9 });
    const res = await app.request("/metrics");
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = await res.text();
    expect(text).toContain('tether_requests_total{endpoint="completions",status="200"} 2');
    expect(text).toContain('tether_requests_total{endpoint="completions",status="400"} 1');
    expect(text).toContain('tether_guard_choices_total{outcome="fallback_least_kl"} 1');
    expect(text).toMatch(/tether_guard_choices_total\{outcome="accepted"\} [12]\n/);
    expect(text).toMatch(/tether_tokens_total\{kind="completion"\} \d+/);
    expect(text).toContain("tether_queue_depth 0");
    expect(text).toContain('tether_request_duration_seconds_count{endpoint="completions"} 3');
    expect(text).toContain("tether_drift_log_rows_written_total");
  });
});
