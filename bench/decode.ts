// Decode throughput of the exported ONNX decoder on onnxruntime-node: standard vs fused variant, batch 1 and
// 8, tiny and small presets (random weights: speed does not depend on their values), one intra-op thread.
// Also the cost of the sketch outputs (same graph with and without them). Each figure is the median of
// REPEATS interleaved runs of a median single-token step; rerun with `npm run bench -- decode`.
import { loadavg } from "node:os";
import * as ort from "onnxruntime-node";
import { initBackend } from "../apps/trainer/src/backend";
import { buildDecoder, type OnnxVariant } from "../apps/trainer/src/export/decoder";
import { encodeModel } from "../apps/trainer/src/export/onnx-builder";
import { createSession, median, timeDecode } from "../apps/trainer/src/export/ort-decode";
import { addSketchOutputs } from "../apps/trainer/src/export/sketch-outputs";
import { sketchSpecFor } from "../apps/trainer/src/export/sketch-plan";
import { weightsFromParams } from "../apps/trainer/src/export/weights";
import { PRESETS, validateModelConfig, type ModelConfig } from "../apps/trainer/src/model/config";
import { countParams, disposeParams, initParams } from "../apps/trainer/src/model/params";

const VOCAB = 100; // the bundled character tokenizer
const BATCHES = [1, 8];
const REPEATS = 5;
const PROMPT = 32;
const STEPS = 32;

type Key = `${OnnxVariant}/${"plain" | "sketch"}/${number}`;

async function measure(c: ModelConfig): Promise<Map<Key, number>> {
  const params = initParams(c, 1);
  const weights = weightsFromParams(params);
  disposeParams(params);
  const sessions = new Map<string, ort.InferenceSession>();
  for (const variant of ["standard", "fused"] as const) {
    const model = buildDecoder(c, weights, variant);
    sessions.set(`${variant}/plain`, await createSession(encodeModel(model), 1));
    sessions.set(`${variant}/sketch`, await createSession(encodeModel(addSketchOutputs(model, sketchSpecFor(c).spec)), 1));
  }
  const samples = new Map<Key, number[]>();
  for (let rep = 0; rep < REPEATS; rep++) {
    for (const [name, session] of sessions) {
      for (const batch of BATCHES) {
        const key = `${name}/${batch}` as Key;
        const { tokensPerSecond } = await timeDecode(session, c, { batch, promptLength: PROMPT, steps: STEPS });
        samples.set(key, [...(samples.get(key) ?? []), tokensPerSecond]);
      }
    }
  }
  for (const session of sessions.values()) await session.release();
  return new Map([...samples].map(([k, v]) => [k, median(v)]));
}

export async function benchDecode(): Promise<void> {
  await initBackend(); // only for the seeded initParams
  const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");
  console.log(`decode throughput · onnxruntime-node ${ort.env.versions.node} · 1 intra-op thread · prompt ${PROMPT}, ${STEPS} steps · median of ${REPEATS} · load ${load()}`);
  console.log("preset  params  batch  standard tok/s  fused tok/s  fused/standard  sketch cost std  sketch cost fused");
  for (const preset of ["tiny", "small"] as const) {
    const c = validateModelConfig({ ...PRESETS[preset], vocabSize: VOCAB, bosTokenId: 0, eosTokenId: 0 });
    const r = await measure(c);
    for (const batch of BATCHES) {
      const get = (k: string) => r.get(k as Key)!;
      const std = get(`standard/plain/${batch}`);
      const fused = get(`fused/plain/${batch}`);
      // sketch cost = plain tok/s ÷ with-sketch tok/s (1.00 = free, 1.10 = 10% slower)
      const costStd = std / get(`standard/sketch/${batch}`);
      const costFused = fused / get(`fused/sketch/${batch}`);
      console.log(
        `${preset.padEnd(7)} ${(countParams(c) / 1e6).toFixed(2)}M  ${String(batch).padStart(5)}  ${std.toFixed(0).padStart(14)}  ${fused.toFixed(0).padStart(11)}  ${(fused / std).toFixed(2).padStart(14)}  ${costStd.toFixed(2).padStart(15)}  ${costFused.toFixed(2).padStart(17)}`,
      );
    }
  }
  console.log(`load after: ${load()}`);
}
