// `tether-train export <policy> --reference <ref>` writes eval.json's sketch section: checked against the gateway
// decoding the same held-out requests with its real OrtNodeEngine and decode loop, the pooled sketches and drift
// scores recomputed here in float64 from the raw rows and sketch.json's moments, and the quantiles by sorting.
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyCheckpoint } from "@tether/checkpoint/files";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { StopSequences } from "@tether/shared/sampling/stop";
import { evalReport, quantileAt } from "@tether/shared/schemas/eval";
import { parseTrainerConfig } from "@tether/shared/schemas/trainer-config";
import { parseSketchJson, QuantileSummary } from "@tether/shared/sketch/index";
import { decodeBatch } from "../apps/gateway/src/decode/batch";
import { SequenceState } from "../apps/gateway/src/decode/sequence";
import type { DecodeSession, InferenceEngine, StepOutput } from "../apps/gateway/src/engine/engine";
import { OrtNodeEngine } from "../apps/gateway/src/engine/ort-node";
import { defaultAlertRules } from "../apps/gateway/src/monitor/default-rules";
import { resolveThreshold } from "../apps/gateway/src/monitor/rules";
import { initBackend } from "../apps/trainer/src/backend";
import { saveCheckpoint } from "../apps/trainer/src/checkpoint/save-load";
import { exportCheckpoint } from "../apps/trainer/src/commands/export";
import { bundledDataset, NEW_TASK_DATASET } from "../apps/trainer/src/data/bundled";
import { randomModel, tinyConfig, writeTinyCheckpoint } from "./support/checkpoint-fixtures";
import { disposeParams, type Params } from "../apps/trainer/src/model/params";
import { buildEvalReport } from "../apps/trainer/src/train/eval-report";

const quiet = () => {};
const N = 12; // held-out requests
const SEED = 3;
const MAX_TOKENS = 6;

/** The engine with every graph call's sketch rows recorded, in call order (prefill [T, m], then steps [1, m]). */
function recording(engine: InferenceEngine, calls: { rows: Float32Array[]; fed: number }[]): InferenceEngine {
  const keep = (out: StepOutput, fed: number) => {
    calls.push({ rows: (out.sketch ?? []).map((r) => Float32Array.from(r)), fed });
    return out;
  };
  return {
    info: engine.info,
    tokenizer: engine.tokenizer,
    score: (...a) => engine.score(...a),
    dispose: () => engine.dispose(),
    startDecode: async (prompt, B, o): Promise<DecodeSession> => {
      const s = await engine.startDecode(prompt, B, o);
      return { batchSize: s.batchSize, prefill: async () => keep(await s.prefill(), prompt.length), step: async (t, live) => keep(await s.step(t, live), 1), close: () => s.close() };
    },
  };
}

/** numpy-"linear" quantile of a sample, by sorting. */
function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  return s[lo]! + (h - lo) * ((s[lo + 1] ?? s[lo]!) - s[lo]!);
}

describe("export: eval.json's sketch section", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-eval-sketch-"));
  const ref = join(root, "reference");
  const policy = join(root, "policy");
  const c = tinyConfig();
  let refParams: Params;
  let policyParams: Params;
  beforeAll(async () => {
    await initBackend();
    refParams = randomModel(c, 41).params;
    policyParams = randomModel(c, 41).params; // the reference's weights: its requests land inside the reference's scale
    writeTinyCheckpoint(ref, c, refParams);
    await exportCheckpoint(parseTrainerConfig({ command: "export", input: ref, onnxVariant: "standard" }), quiet);
    const refId = verifyCheckpoint(ref).id;
    const tokFiles = ["tokenizer.json", "tokenizer_config.json", "generation_config.json"];
    saveCheckpoint({
      dir: policy, kind: "policy", referenceId: refId, config: c, params: policyParams,
      files: Object.fromEntries(tokFiles.map((f) => [f, readFileSync(join(ref, f), "utf8")])),
      training: { command: "sft", config: {}, seed: SEED, backend: "test", steps: 0, metrics: {} },
      // eval.json as sft writes it; its KL numbers are inputs here (export leaves them alone)
      filesNamingId: (id) => ({
        "eval.json": `${JSON.stringify(buildEvalReport({
          checkpointId: id, referenceId: refId, backend: "test", source: `bundled:${NEW_TASK_DATASET}/heldout`, seed: SEED, maxTokens: MAX_TOKENS,
          taskName: NEW_TASK_DATASET, baseName: "arithmetic", baseSamples: N,
          result: {
            meanTokenKl: 0.1, perRequestKlMean: Array.from({ length: N }, (_, i) => 0.05 + i / 100), perRequestKlMax: Array.from({ length: N }, (_, i) => 0.5 + i / 10),
            completionTokens: N * MAX_TOKENS, taskAccuracy: 0.5, baseAccuracy: 0.9, referenceTaskAccuracy: 0, referenceBaseAccuracy: 0.9,
          },
        }), null, 2)}\n`,
      }),
    });
  });
  afterAll(() => {
    disposeParams(refParams);
    disposeParams(policyParams);
    rmSync(root, { recursive: true, force: true });
  });

  it("a reference without eval.json gets none; the policy's per-layer distribution equals the gateway's decode re-scored in float64", async () => {
    expect(() => readFileSync(join(ref, "eval.json"))).toThrow(/ENOENT/);
    const lines: string[] = [];
    await exportCheckpoint(parseTrainerConfig({ command: "export", input: policy, reference: ref, onnxVariant: "standard" }), (l) => lines.push(l));
    expect(lines.join("\n")).toMatch(/eval\.json sketch section from 12 held-out multiplication requests ranked in .*reference\/sketch\.json/);
    const manifest = verifyCheckpoint(policy);
    expect(manifest.files["eval.json"]).toBeDefined();
    const ev = evalReport.parse(JSON.parse(readFileSync(join(policy, "eval.json"), "utf8")));
    const refSketch = parseSketchJson(readFileSync(join(ref, "sketch.json"), "utf8"));
    expect(ev.sketch!.per_request_percentile.map((l) => l.layer)).toEqual(refSketch.spec.layers);

    // The gateway: its engine and decode loop, request n on Pcg32(held_out.seed, n) with eval's settings.
    const engine = await OrtNodeEngine.load(policy, { intraOpNumThreads: 1 });
    const percent: number[][] = refSketch.layers.map(() => []);
    try {
      const prompts = bundledDataset(NEW_TASK_DATASET, "heldout", SEED, N).map((e) => engine.tokenizer.encode(e.prompt));
      for (const [n, prompt] of prompts.entries()) {
        const calls: { rows: Float32Array[]; fed: number }[] = [];
        const settings = { sampling: { temperature: 1, topP: 1 }, maxTokens: MAX_TOKENS, stop: new StopSequences([]), eosIds: new Set(engine.info.eosTokenIds), topLogprobs: null, keepLogits: false, sketchWidth: refSketch.spec.m };
        const seq = new SequenceState(engine.tokenizer, settings, new Pcg32(SEED, n), engine.info.vocabSize, refSketch.layers.length);
        await decodeBatch(recording(engine, calls), prompt, [seq]);
        // pooled tokens: the prompt and every fed token = all but the last sampled one
        expect(calls.reduce((a, k) => a + k.fed, 0)).toBe(prompt.length + seq.tokens.length - 1);
        refSketch.layers.forEach((L, k) => {
          const m = refSketch.spec.m;
          const sum = new Float64Array(m);
          let count = 0;
          for (const call of calls) {
            const rows = call.rows[k]!;
            for (let t = 0; t < rows.length / m; t++, count++) for (let i = 0; i < m; i++) sum[i] += rows[t * m + i]!;
          }
          // score = (1/m) Σ_i (ȳ_i − μ_i)² / (σ_i² + ε), ȳ = Σ_t y_t / T
          let acc = 0;
          for (let i = 0; i < m; i++) acc += (sum[i]! / count - L.mean[i]!) ** 2 / (L.variance[i]! + refSketch.spec.varianceEps);
          // F_ref from sketch.json's digest: the gateway's definition of the percentile (quantiles.test.ts checks it)
          percent[k]!.push(100 * QuantileSummary.fromJSON(L.score.digest).cdf(acc / m));
        });
      }
    } finally {
      await engine.dispose();
    }
    ev.sketch!.per_request_percentile.forEach(({ distribution: d }, k) => {
      const xs = percent[k]!;
      expect(d.count).toBe(N);
      expect(d.mean).toBeCloseTo(xs.reduce((a, b) => a + b, 0) / N, 6);
      expect(d.min).toBeCloseTo(Math.min(...xs), 6);
      expect(d.max).toBeCloseTo(Math.max(...xs), 6);
      for (const { q, value } of d.quantiles) expect(value, `layer ${refSketch.layers[k]!.layer} q ${q}`).toBeCloseTo(quantile(xs, q), 6);
    });
    // not a constant: the requests spread over the reference's scale
    for (const xs of percent) expect(new Set(xs).size, xs.join(", ")).toBeGreaterThan(N / 2);
  });

  it("re-exporting is byte-identical, verifies, and the gateway's default rules get one sketch rule per layer at eval's p99", async () => {
    const files = ["eval.json", "manifest.json", "sketch.json"];
    const before = files.map((f) => readFileSync(join(policy, f)));
    await exportCheckpoint(parseTrainerConfig({ command: "export", input: policy, reference: ref, onnxVariant: "standard" }), quiet);
    files.forEach((f, i) => expect(readFileSync(join(policy, f)).equals(before[i]!), f).toBe(true));
    verifyCheckpoint(policy);

    const ev = evalReport.parse(JSON.parse(readFileSync(join(policy, "eval.json"), "utf8")));
    const rules = defaultAlertRules(ev, true).filter((r) => r.metric === "sketch_percentile");
    expect(rules.map((r) => r.name)).toEqual(["sketch-p95-high-layer-1", "sketch-p95-high-layer-2"]);
    for (const rule of rules) {
      const d = ev.sketch!.per_request_percentile.find((l) => l.layer === rule.layer)!.distribution;
      expect(resolveThreshold(rule, { eval: ev, hasSketch: true, guardMaxKl: null })).toBe(quantileAt(d, 0.99));
    }
  });

  it("without --reference the requests are ranked in the checkpoint's own sketch.json (here the reference's twin: same numbers)", async () => {
    const self = join(root, "policy-self");
    cpSync(policy, self, { recursive: true });
    const lines: string[] = [];
    await exportCheckpoint(parseTrainerConfig({ command: "export", input: self, onnxVariant: "standard" }), (l) => lines.push(l));
    expect(lines.join("\n")).toMatch(/ranked in .*policy-self\/sketch\.json/);
    verifyCheckpoint(self);
    // same weights, spec and calibration data as the reference: the same sketch.json, so the same section
    expect(readFileSync(join(self, "sketch.json"))).toEqual(readFileSync(join(ref, "sketch.json")));
    const sketchOf = (dir: string) => evalReport.parse(JSON.parse(readFileSync(join(dir, "eval.json"), "utf8"))).sketch;
    expect(sketchOf(self)).toEqual(sketchOf(policy));
  });
});
