// The alert surfaces through HTTP: /admin/alerts and /admin/drift (figures checked against the logged
// requests), the SSE stream (frames, resumption with Last-Event-ID from the ring and from the table,
// periodic drift frames, the stream cap), one structured log line per transition.
import { describe, expect, test } from "vitest";
import { syntheticRows } from "../../../../test/support/monitor-streams";
import { RELATIVE_ERROR } from "../monitor/log-histogram";
import { post, testApp } from "../../../../test/support/gateway-app";

const TOKEN = "admin-token-0123456789";
const auth = { authorization: `Bearer ${TOKEN}` };
const rules = [
  { name: "kl-any", metric: "kl_mean", window: "1m", statistic: "mean", comparison: ">=", threshold: 0, for: "0s", min_samples: 1 },
  { name: "kl-any-p95", metric: "kl_mean", window: "5m", statistic: "p95", comparison: ">=", threshold: 0, for: "0s", min_samples: 1, severity: "critical" },
] as const;

interface Frame { id?: string; event?: string; data?: string; comment?: string }

/** Reads SSE frames from a response body until `done(frames)` holds. */
async function readFrames(res: Response, done: (frames: Frame[]) => boolean): Promise<{ frames: Frame[]; cancel: () => Promise<void> }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const frames: Frame[] = [];
  let buffer = "";
  while (!done(frames)) {
    const { value, done: end } = await reader.read();
    if (end) break;
    buffer += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const f: Frame = {};
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) f.comment = line.slice(1).trim();
        else {
          const i = line.indexOf(": ");
          (f as Record<string, string>)[line.slice(0, i)] = line.slice(i + 2);
        }
      }
      frames.push(f);
    }
  }
  return { frames, cancel: () => reader.cancel() };
}

const alertFrames = (frames: Frame[]) => frames.filter((f) => f.event === "alert");

function appWithRules(alerts: Record<string, unknown> = {}) {
  return testApp({ config: { admin_token: TOKEN, alerts: { rules: [...rules], ...alerts } } });
}

describe("admin alert surfaces", () => {
  test("/admin/alerts and /admin/drift: lists by state, figures equal to the logged requests", async () => {
    const { app, store, logLines } = appWithRules();
    for (let i = 0; i < 8; i++) await (await post(app, "/v1/completions", { prompt: "ab", max_tokens: 4, seed: i })).text();
    const events = await app.context.monitoring.monitor.evaluate();
    expect(events.map((e) => e.transition)).toEqual(["pending", "firing", "pending", "firing"]);

    const firing = await (await app.request("/admin/alerts?state=firing", { headers: auth })).json();
    expect(firing.object).toBe("list");
    expect(firing.data.map((a: { rule: string; severity: string }) => [a.rule, a.severity])).toEqual([["kl-any-p95", "critical"], ["kl-any", "warning"]]);
    expect(firing.data[1]).toMatchObject({ state: "firing", arm: "active", checkpoint_id: "fake-policy", samples: 8, threshold: 0, window: "1m" });
    expect((await (await app.request("/admin/alerts?state=resolved", { headers: auth })).json()).data).toEqual([]);
    expect((await (await app.request("/admin/alerts?limit=1", { headers: auth })).json()).data).toHaveLength(1);
    const bad = await app.request("/admin/alerts?state=open", { headers: auth });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.param).toBe("state");

    const kls = store.entries.map((e) => e.request.klMean!);
    const drift = await (await app.request("/admin/drift?window=5m", { headers: auth })).json();
    expect(drift).toMatchObject({ object: "drift", window: "5m", window_s: 300, bucket_s: 10 });
    const arm = drift.arms[0];
    expect(arm).toMatchObject({ arm: "active", checkpoint_id: "fake-policy", requests: 8, request_rate: 8 / 300 });
    expect(arm.kl_mean.mean).toBeCloseTo(kls.reduce((a, b) => a + b, 0) / 8, 12);
    const p95 = [...kls].sort((a, b) => a - b)[Math.ceil(0.95 * 8) - 1]!;
    expect(Math.abs(arm.kl_mean.p95 - p95) / p95).toBeLessThanOrEqual(RELATIVE_ERROR);
    expect(arm.series).toHaveLength(30);
    expect(arm.series.reduce((a: number, s: { requests: number }) => a + s.requests, 0)).toBe(8);
    expect((await app.request("/admin/drift?window=2m", { headers: auth })).status).toBe(400);
    expect((await (await app.request("/admin/drift?checkpoint=other", { headers: auth })).json()).arms).toEqual([]);

    // one JSON line per transition, with the values that caused it
    expect(logLines).toHaveLength(4);
    const line = JSON.parse(logLines[1]!);
    expect(line).toMatchObject({ event: "alert.firing", rule: "kl-any", level: "warn", seq: 2, threshold: 0, samples: 8 });
    expect(line.value).toBeCloseTo(arm.kl_mean.mean, 12);
  });

  test("SSE: alert frames with ids, periodic drift frames, resumption with Last-Event-ID from the ring", async () => {
    const { app } = appWithRules({ stream_interval_s: 0.05 });
    await (await post(app, "/v1/completions", { prompt: "ab", max_tokens: 4 })).text();
    const first = await app.request("/admin/alerts/stream", { headers: auth });
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reading = readFrames(first, (f) => alertFrames(f).length >= 4 && f.some((x) => x.event === "drift"));
    await app.context.monitoring.monitor.evaluate();
    const a = await reading;
    await a.cancel();
    expect(alertFrames(a.frames).map((f) => [f.id, JSON.parse(f.data!).state])).toEqual([["1", "pending"], ["2", "firing"], ["3", "pending"], ["4", "firing"]]);
    const drift = JSON.parse(a.frames.find((f) => f.event === "drift")!.data!);
    expect(drift).toMatchObject({ object: "drift", window: "1m" });
    expect(a.frames.some((f) => f.comment === "ping")).toBe(true);

    // while disconnected: the canary arm fires both rules (events 5–8)
    const canary = syntheticRows({ at: Date.now(), klMean: 0.2, arm: "canary", checkpoint: "fake-policy" });
    app.context.monitoring.monitor.observe(canary.request, canary.samples);
    await app.context.monitoring.monitor.evaluate();
    const again = await app.request("/admin/alerts/stream", { headers: { ...auth, "last-event-id": "4" } });
    const b = await readFrames(again, (f) => alertFrames(f).length >= 4);
    await b.cancel();
    expect(alertFrames(b.frames).map((f) => [f.id, JSON.parse(f.data!).arm])).toEqual([["5", "canary"], ["6", "canary"], ["7", "canary"], ["8", "canary"]]);
  });

  test("SSE: resumption past the ring reads the alerts table (latest state of each alert changed since)", async () => {
    const { app } = appWithRules({ retained_events: 1 });
    await (await post(app, "/v1/completions", { prompt: "ab", max_tokens: 4 })).text();
    await app.context.monitoring.monitor.evaluate(); // 1–4
    const canary = syntheticRows({ at: Date.now(), klMean: 0.2, arm: "canary", checkpoint: "fake-policy" });
    app.context.monitoring.monitor.observe(canary.request, canary.samples);
    await app.context.monitoring.monitor.evaluate(); // 5–8; the ring holds only 8
    const res = await app.request("/admin/alerts/stream", { headers: { ...auth, "last-event-id": "2" } });
    const r = await readFrames(res, (f) => alertFrames(f).length >= 3);
    await r.cancel();
    // alert 1's last event is 2 (not sent again); alerts 2, 3, 4 last changed at 4, 6, 8
    expect(alertFrames(r.frames).map((f) => [f.id, JSON.parse(f.data!).id, JSON.parse(f.data!).state])).toEqual([["4", 2, "firing"], ["6", 3, "firing"], ["8", 4, "firing"]]);
  });

  test("100 streams from one client: the cap answers 429 beyond alerts.max_streams, a closed stream frees a slot", async () => {
    const { app } = appWithRules({ max_streams: 5 });
    const responses = await Promise.all(Array.from({ length: 100 }, () => app.request("/admin/alerts/stream", { headers: auth })));
    const ok = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 429);
    expect([ok.length, refused.length]).toEqual([5, 95]);
    expect((await refused[0]!.json()).error).toMatchObject({ code: "too_many_streams", type: "rate_limit_error" });
    expect(refused[0]!.headers.get("retry-after")).toBe("2");
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toContain("tether_alert_streams 5");
    expect(metrics).toContain("tether_alert_streams_refused_total 95");
    await ok[0]!.body!.cancel();
    expect((await app.request("/admin/alerts/stream", { headers: auth })).status).toBe(200);
    app.context.monitoring.streams.closeAll();
    expect(app.context.monitoring.streams.streams).toBe(0);
  });
});
