// The drift log entry of a request (requests + drift_samples rows), per-layer sketch scores checked against
// the formula, and the default max_kl taken from the policy's eval.json percentile.
import { quantileAt, evalReport as evalReportSchema } from "@tether/shared/schemas/eval";
import { policyEval } from "../../../../test/support/schema-documents";
import { makeSketchSpec, ReferenceStatsBuilder, SketchReference } from "@tether/shared/sketch/reference";
import { describe, expect, it } from "vitest";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { FakeEngine } from "../../../../test/support/fake-engine";
import { post, testApp, TEXT_ONLY, until } from "../../../../test/support/gateway-app";

function sketchReference(layers: number[], m: number): SketchReference {
  const builder = new ReferenceStatsBuilder(makeSketchSpec({ d: 16, layers, m }));
  const rng = new Pcg32(4);
  for (let i = 0; i < 20; i++) builder.addRequest(layers.map(() => Array.from({ length: m }, () => 2 * rng.nextFloat() - 1)));
  return SketchReference.fromJson(JSON.stringify(builder.build()));
}

describe("drift log", () => {
  it("client strings are stored without NUL (PostgreSQL text refuses it) and at most 256 characters long", async () => {
    const { app, store } = testApp({ policy: TEXT_ONLY, reference: TEXT_ONLY });
    const user = `a\u0000b${"x".repeat(1000)}`;
    const res = await post(app, "/v1/completions", { prompt: "ab", max_tokens: 2, user, drift_guard: false });
    expect(res.status).toBe(200);
    const logged = store.entries[0]!.request.endUser!;
    expect(logged).not.toContain("\u0000");
    expect(logged).toBe(`ab${"x".repeat(254)}`);
  });

  it("logs one row per candidate per monitored layer with the pooled sketch's score", async () => {
    const sketch = { layers: [2, 4], m: 3 };
    const ref = sketchReference(sketch.layers, sketch.m);
    const { app, store, policy } = testApp({ policy: { ...TEXT_ONLY, sketch }, reference: TEXT_ONLY, sketch: ref });
    const body = await (await post(app, "/v1/completions", { prompt: "ab", max_tokens: 5, seed: 3, drift_guard: { candidates: 2, max_kl: 1 } })).json();
    const rows = store.entries[0]!.samples;
    expect(rows.map((r) => [r.round, r.candidate, r.layer])).toEqual([[0, 0, 2], [0, 0, 4], [0, 1, 2], [0, 1, 4]]);
    // independent pooled mean over prompt + fed completion tokens (the last sampled token is never fed)
    const fed = [...policy.tokenizer.encode("ab"), ...policy.tokenizer.encode(body.choices[0].text).slice(0, -1)];
    const spec = ref.spec;
    sketch.layers.forEach((layer, k) => {
      const mean = Array.from({ length: sketch.m }, (_, i) => fed.reduce((a, id) => a + policy.sketchOf(id, layer)[i]!, 0) / fed.length);
      const lref = ref.layers[k]!;
      const score = mean.reduce((a, y, i) => a + (y - lref.mean[i]!) ** 2 / (lref.variance[i]! + spec.varianceEps), 0) / sketch.m;
      const row = rows.find((r) => r.candidate === 0 && r.layer === layer)!;
      expect(row.sketchScore).toBeCloseTo(score, 5); // float32 sketch rows
      expect(row.sketchPercentile).toBeGreaterThanOrEqual(0);
      expect(row.sketchPercentile).toBeLessThanOrEqual(100);
      expect(row).toMatchObject({ accepted: true, choiceIndex: 0, klMean: body.choices[0].drift.kl_mean });
    });
  });

  it("takes the default max_kl from eval.json's per-request kl_mean percentile", async () => {
    const ev = evalReportSchema.parse(policyEval());
    const { app, store } = testApp({ config: { drift_guard: { max_kl_percentile: 95 } }, evalReport: ev });
    await post(app, "/v1/completions", { prompt: "a", max_tokens: 2 });
    expect(store.entries[0]!.request.guardMaxKl).toBeCloseTo(quantileAt(ev.kl.per_request_kl_mean, 0.95), 12);
  });

  it("records timings, the fallback and the reference row of a fallback choice", async () => {
    const { app, store } = testApp();
    const body = await (await post(app, "/v1/completions", { prompt: "a", max_tokens: 4, n: 2, drift_guard: { max_kl: 1e-9, candidates: 2, max_rounds: 3 } })).json();
    expect(body.choices.map((c: { drift: { fallback: string } }) => c.drift.fallback)).toEqual(["reference", "reference"]);
    const { request, samples } = store.entries[0]!;
    expect(request).toMatchObject({ fallback: "reference", rounds: 3, accepted: 0, guardCandidates: 2, guardMaxRounds: 3 });
    expect(request.generateMs).toBeGreaterThan(0);
    expect(request.totalMs).toBeGreaterThanOrEqual(request.generateMs! + request.guardMs!);
    expect(samples).toHaveLength(3 * 2 * 2 + 2); // rounds × n × k + one reference answer per choice
    expect(samples.filter((s) => s.round === 3).map((s) => [s.choiceIndex, s.accepted])).toEqual([[0, false], [1, false]]);
    expect(new Set(samples.map((s) => `${s.round}/${s.candidate}/${s.layer}`)).size).toBe(samples.length); // primary key unique
  });

  it("refuses a reference whose vocabulary differs from the policy's", () => {
    expect(() => testApp({ policyEngine: Object.assign(new FakeEngine(), { info: { ...new FakeEngine().info, vocabSize: 99 } }) })).toThrow(/vocabulary/);
  });

  it("refuses a reference with a shorter context window than the policy's (it could not score long answers)", () => {
    expect(() => testApp({ policyEngine: new FakeEngine({ contextWindow: 256 }) })).toThrow(/reference: context window 128 is shorter than the policy's 256/);
  });
});

describe("the engines' slot and the drift log's fsync", () => {
  for (const stream of [false, true]) {
    it(`frees the slot while an entry waits to be durable, and answers only once it is (stream: ${stream})`, async () => {
      const { app, store } = testApp({ policy: TEXT_ONLY, reference: TEXT_ONLY, config: { limits: { max_concurrent: 1 } } });
      const durable: Array<() => void> = [];
      const keep = store.record.bind(store);
      store.record = (entry) => {
        keep(entry);
        return new Promise<void>((resolve) => durable.push(resolve)); // as durability "fsync": settled after the group fsync
      };
      const settled: string[] = [];
      const ask = (id: string) =>
        post(app, "/v1/completions", { prompt: "ab", max_tokens: 2, drift_guard: false, stream })
          .then((res) => res.text().then((text) => ({ status: res.status, text })))
          .then((r) => (settled.push(id), r));
      const a = ask("a");
      const b = ask("b");
      // with one slot, b reaches the drift log only if a freed the slot before its entry was durable
      await until(() => store.entries.length === 2);
      await new Promise((r) => setTimeout(r, 20));
      expect(settled).toEqual([]); // neither is answered (nor its stream finished) before its entry is durable
      for (const done of durable) done();
      const [ra, rb] = await Promise.all([a, b]);
      expect([ra.status, rb.status]).toEqual([200, 200]);
      if (stream) expect(ra.text.trimEnd().endsWith("data: [DONE]")).toBe(true);
      expect(app.context.scheduler.active).toBe(0);
    });
  }
});
