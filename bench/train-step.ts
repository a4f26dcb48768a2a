// One training step of the bench and the profiler, the same work as a pretrain (CE) or sft-with-KL step:
//   plain:  forward → CE → backward → AdamW
//   kl:     reference forward (constant, outside the tape) + policy forward → CE + β·KL(π‖π_ref) exact → backward → AdamW
import * as tf from "@tensorflow/tfjs";
import { PRESETS, validateModelConfig, type ModelConfig } from "../apps/trainer/src/model/config";
import { disposeParams, initParams, type Params } from "../apps/trainer/src/model/params";
import { forward } from "../apps/trainer/src/model/qwen2";
import { crossEntropy, klLoss } from "../apps/trainer/src/train/losses";
import { Adam, DEFAULT_ADAM } from "../apps/trainer/src/train/optimizer";

export const VOCAB = 100; // the bundled character tokenizer

export interface BenchRig {
  c: ModelConfig;
  policy: Params;
  reference: Params;
  adam: Adam;
  ids: tf.Tensor2D;
  targets: tf.Tensor2D;
  mask: tf.Tensor2D;
  dispose(): void;
}

/** A model of a preset with deterministic weights, its optimiser, a frozen reference and one fixed batch. */
export function makeRig(preset: keyof typeof PRESETS, B: number, T: number): BenchRig {
  const c = validateModelConfig({ ...PRESETS[preset], vocabSize: VOCAB, bosTokenId: 0, eosTokenId: 0 });
  const policy = initParams(c, 1);
  const reference = initParams(c, 2);
  const adam = new Adam(policy, DEFAULT_ADAM);
  const ids = tf.tensor2d(Int32Array.from({ length: B * T }, (_, i) => (i * 7) % VOCAB), [B, T], "int32");
  const targets = tf.tensor2d(Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 7) % VOCAB), [B, T], "int32");
  const mask = tf.ones([B, T]) as tf.Tensor2D;
  return {
    c, policy, reference, adam, ids, targets, mask,
    dispose() {
      tf.dispose([ids, targets, mask]);
      adam.dispose();
      disposeParams(policy);
      disposeParams(reference);
    },
  };
}

/** One optimiser step; returns the loss (the one host read a training loop makes per step). */
export function trainStep(r: BenchRig, withKl: boolean, beta = 0.1): number {
  const ref = withKl ? tf.tidy(() => forward(r.reference, r.c, r.ids).logits) : null;
  const { value, grads } = tf.variableGrads(() => {
    const logits = forward(r.policy, r.c, r.ids).logits;
    const ce = crossEntropy(logits, r.targets, r.mask);
    return ref ? (tf.add(ce, tf.mul(klLoss(logits, ref, r.mask, "reverse"), beta)) as tf.Scalar) : ce;
  }, r.adam.trainable());
  r.adam.apply(grads, 1e-4);
  const loss = value.dataSync()[0]!;
  tf.dispose([value, ...Object.values(grads), ...(ref ? [ref] : [])]);
  return loss;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Milliseconds of CPU this process spent (user + system) while f ran, and the wall-clock milliseconds. */
export function timed(f: () => void): { cpu: number; wall: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  f();
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1000, wall: performance.now() - t0 };
}
