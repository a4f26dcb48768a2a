// The fused AdamW kernel against the tfjs op sequence the optimiser used before it (the same bits: training runs
// must not change) and against the float64 closed form of AdamW.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { initBackend } from "../backend";
import { Adam, type AdamOptions } from "./optimizer";
import { adamwModuleBytes, adamwScalar, fusedAdamW, fusedAdamWAvailable, fusedGlobalNorm, type AdamWScalars } from "./wasm-adamw";

function randn(n: number, seed: number, scale = 1): Float32Array {
  const rng = new Pcg32(seed, 11);
  return Float32Array.from({ length: n }, () => (rng.nextFloat() * 2 - 1) * scale);
}

/** The update as tfjs ops, one kernel per operation (optimizer.ts's non-wasm path). */
function opsUpdate(g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, theta: tf.Tensor, s: AdamWScalars): tf.Tensor[] {
  const gc = tf.mul(g, s.clip);
  const m2 = tf.add(tf.mul(m, s.beta1), tf.mul(gc, 1 - s.beta1));
  const v2 = tf.add(tf.mul(v, s.beta2), tf.mul(tf.square(gc), 1 - s.beta2));
  const a = tf.div(tf.div(m2, s.bias1), tf.add(tf.sqrt(tf.div(v2, s.bias2)), s.eps));
  const u = s.weightDecay > 0 ? tf.add(a, tf.mul(theta, s.weightDecay)) : a;
  return [m2, v2, tf.sub(theta, tf.mul(u, s.lrScale))];
}

const SCALARS: AdamWScalars[] = [
  { clip: 1, beta1: 0.9, beta2: 0.95, bias1: 1 - 0.9, bias2: 1 - 0.95, eps: 1e-8, weightDecay: 0, lrScale: 3e-3 },
  { clip: 0.37, beta1: 0.9, beta2: 0.999, bias1: 1 - 0.9 ** 7, bias2: 1 - 0.999 ** 7, eps: 1e-6, weightDecay: 0.1, lrScale: 1e-3 * 0.5 },
];

describe("fused AdamW kernel (wasm)", () => {
  beforeAll(async () => {
    await initBackend();
  });

  it("is a valid module, registered on the wasm backend", () => {
    expect(WebAssembly.validate(adamwModuleBytes())).toBe(true);
    expect(fusedAdamWAvailable()).toBe(true);
  });

  for (const n of [4096, 6403, 3, 1]) {
    it(`gives the tfjs ops' bits for ${n} elements (SIMD loop and scalar tail), with and without weight decay`, () => {
      SCALARS.forEach((s, k) => {
        tf.tidy(() => {
          const [g, m, v, t] = [randn(n, k + 1, 3), randn(n, k + 2, 0.1), randn(n, k + 3, 0.01).map(Math.abs), randn(n, k + 4)].map((a) => tf.tensor1d(a));
          const ours = fusedAdamW(g!, m!, v!, t!, s).map((x) => Array.from(x.dataSync()));
          const theirs = opsUpdate(g!, m!, v!, t!, s).map((x) => Array.from(x.dataSync()));
          expect(ours).toEqual(theirs);
          const outs: [Float32Array, Float32Array, Float32Array] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
          adamwScalar(s, [g!, m!, v!, t!].map((x) => x.dataSync() as Float32Array) as [Float32Array, Float32Array, Float32Array, Float32Array], outs);
          expect(outs.map((x) => Array.from(x))).toEqual(theirs);
        });
      });
    });
  }

  it("the global norm has the bits of √(addN(sum(square(g)))) over tensors of every size and spread", () => {
    tf.tidy(() => {
      const gs = [4096, 6403, 3, 1, 100_000, 77].map((n, k) => tf.tensor1d(randn(n, 40 + k, 10 ** (k - 3))));
      const theirs = Math.sqrt(tf.addN(gs.map((g) => tf.sum(tf.square(g)))).dataSync()[0]!);
      expect(fusedGlobalNorm(gs)).toBe(theirs);
      // float64: the sum of squares to float32 accuracy
      const exact = Math.sqrt(gs.reduce((s, g) => s + Array.from(g.dataSync()).reduce((a, x) => a + x * x, 0), 0));
      expect(Math.abs(fusedGlobalNorm(gs) - exact) / exact).toBeLessThan(1e-4);
    });
  });

  it("Adam.apply over several clipped, decayed steps matches AdamW in float64", () => {
    const opts: AdamOptions = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01, clipNorm: 0.5 };
    const theta0 = randn(37, 50);
    const params = new Map([["w", tf.variable(tf.tensor2d(theta0, [1, 37]))]]);
    const adam = new Adam(params, opts);
    const [t64, m64, v64] = [Float64Array.from(theta0), new Float64Array(37), new Float64Array(37)];
    for (let step = 1; step <= 5; step++) {
      const g = randn(37, 60 + step, 2);
      adam.apply({ [params.get("w")!.name]: tf.tensor2d(g, [1, 37]) }, 1e-2);
      const norm = Math.sqrt(g.reduce((s, x) => s + x * x, 0));
      const clip = norm > opts.clipNorm ? opts.clipNorm / norm : 1;
      for (let k = 0; k < 37; k++) {
        const gk = g[k]! * clip;
        m64[k] = opts.beta1 * m64[k]! + (1 - opts.beta1) * gk;
        v64[k] = opts.beta2 * v64[k]! + (1 - opts.beta2) * gk * gk;
        const a = m64[k]! / (1 - opts.beta1 ** step) / (Math.sqrt(v64[k]! / (1 - opts.beta2 ** step)) + opts.eps);
        t64[k] = t64[k]! - 1e-2 * (a + opts.weightDecay * t64[k]!);
      }
    }
    const got = params.get("w")!.dataSync();
    for (let k = 0; k < 37; k++) expect(Math.abs(got[k]! - t64[k]!)).toBeLessThan(1e-5);
    adam.dispose();
    params.get("w")!.dispose();
  });
});
