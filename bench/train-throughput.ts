// Training throughput of the tfjs Qwen2 model (forward + backward + Adam) on the `tiny` and `small` presets,
// printed with the backend. Median of timed steps after warm-up; rerun with `npm run bench -- train`.
import * as tf from "@tensorflow/tfjs";
import { loadavg } from "node:os";
import { initBackend } from "../apps/trainer/src/backend";
import { PRESETS, validateModelConfig } from "../apps/trainer/src/model/config";
import { countParams, disposeParams, initParams } from "../apps/trainer/src/model/params";
import { forward } from "../apps/trainer/src/model/qwen2";
import { crossEntropy } from "../apps/trainer/src/train/losses";
import { Adam, DEFAULT_ADAM } from "../apps/trainer/src/train/optimizer";

const VOCAB = 100; // the bundled character tokenizer
const SHAPES: [keyof typeof PRESETS, number, number][] = [
  ["tiny", 32, 16],
  ["tiny", 16, 64],
  ["small", 16, 16],
  ["small", 8, 64],
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function benchTrain(steps = 8): Promise<void> {
  const backend = await initBackend();
  console.log(`train throughput · backend ${backend} · load ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  console.log("preset  params   B×T     ms/step   tokens/s");
  for (const [preset, B, T] of SHAPES) {
    const c = validateModelConfig({ ...PRESETS[preset], vocabSize: VOCAB, bosTokenId: 0, eosTokenId: 0 });
    const params = initParams(c, 1);
    const adam = new Adam(params, DEFAULT_ADAM);
    const ids = tf.tensor2d(Int32Array.from({ length: B * T }, (_, i) => (i * 7) % VOCAB), [B, T], "int32");
    const targets = tf.tensor2d(Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 7) % VOCAB), [B, T], "int32");
    const mask = tf.ones([B, T]) as tf.Tensor2D;
    const times: number[] = [];
    for (let s = 0; s < steps + 2; s++) {
      const t0 = performance.now();
      const { value, grads } = tf.variableGrads(() => crossEntropy(forward(params, c, ids).logits, targets, mask), adam.trainable());
      adam.apply(grads, 1e-4);
      value.dataSync();
      tf.dispose([value, ...Object.values(grads)]);
      if (s >= 2) times.push(performance.now() - t0);
    }
    const ms = median(times);
    console.log(`${preset.padEnd(7)} ${(countParams(c) / 1e6).toFixed(2)}M  ${`${B}×${T}`.padEnd(7)} ${ms.toFixed(1).padStart(8)}  ${Math.round((B * T) / (ms / 1000)).toString().padStart(9)}`);
    tf.dispose([ids, targets, mask]);
    adam.dispose();
    disposeParams(params);
  }
}
