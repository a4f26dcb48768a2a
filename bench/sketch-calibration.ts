// Why the reference-percentile sketch rule fires on healthy traffic (`npm run bench -- sketch-calibration`):
// the demo reference and policy, each served as the gateway's policy (the reference's sketch.json scores
// them), answer 100 held-out prompts of the base corpus (what sketch.json was calibrated on) and 100 of the
// new task (what the demo traffic is). Prints per layer the percentile scores' p50 / p95 and the share
// above 99: uniform (p50 ≈ 50, ≈ 1% above 99) means the calibration fits the traffic. No timing involved.
import { loadGatewayConfig } from "@tether/shared/schemas/gateway-config";
import { createApp } from "../apps/gateway/src/app";
import { OrtNodeEngine } from "../apps/gateway/src/engine/ort-node";
import { MemoryDriftStore } from "../apps/gateway/src/store/memory-store";
import { bundledDataset } from "../apps/trainer/src/data/bundled";
import { DEMO_POLICY, DEMO_REFERENCE } from "../test/gateway-helpers";

const PROMPTS = 100;

export async function benchSketchCalibration(): Promise<void> {
  const reference = await OrtNodeEngine.load(DEMO_REFERENCE, { intraOpNumThreads: 1 });
  const policy = await OrtNodeEngine.load(DEMO_POLICY, { intraOpNumThreads: 1 });
  const at = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
  console.log(`sketch-calibration: percentile scores in the reference's sketch.json, ${PROMPTS} held-out prompts each, temperature 1, 8 tokens`);
  try {
    for (const [name, served] of [["reference", reference], ["policy", policy]] as const) {
      for (const dataset of ["arithmetic", "multiplication"] as const) {
        const store = new MemoryDriftStore();
        const config = loadGatewayConfig({ drift_guard: { allow_disable: true, max_kl: 100 }, alerts: { rules: [] } }, {});
        const app = createApp({ policy: served, reference, store, config, sketch: reference.checkpoint.sketch, logWarning: () => {} });
        for (const ex of bundledDataset(dataset, "heldout", 1, PROMPTS)) {
          const body = { model: app.context.modelName, prompt: ex.prompt, max_tokens: 8, temperature: 1, seed: 1, drift_guard: false };
          await (await app.request("/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })).text();
        }
        const layers = new Map<number, number[]>();
        for (const e of store.entries) for (const s of e.samples) if (s.sketchPercentile != null) (layers.get(s.layer) ?? layers.set(s.layer, []).get(s.layer)!).push(s.sketchPercentile);
        for (const [layer, xs] of layers) {
          const above = xs.filter((x) => x > 99).length / xs.length;
          console.log(`  ${name.padEnd(9)} on ${dataset.padEnd(14)} layer ${layer}: p50 ${at(xs, 0.5).toFixed(1)}  p95 ${at(xs, 0.95).toFixed(1)}  above 99: ${(100 * above).toFixed(0)}%`);
        }
      }
    }
  } finally {
    await Promise.all([policy.dispose(), reference.dispose()]);
  }
}
