// Adam (Kingma & Ba 2015) with decoupled weight decay (AdamW), global-norm gradient clipping and
// per-parameter update scales α (layer freezing).
//
//   g ← g · min(1, clip / ‖g‖₂)                       ‖g‖₂ over all trainable parameters together
//   m ← β₁m + (1−β₁)g ;  v ← β₂v + (1−β₂)g²
//   θ ← θ − lr·α·( m/(1−β₁ᵗ) / (√(v/(1−β₂ᵗ)) + ε) + λ·θ )
//
// Why α scales the update and not the gradient: Adam divides by √v, so a gradient scaled by α gives the
// same step (up to ε) — a "gradient scale" of 0.1 would do nothing. Parameters with α = 0 get no
// gradient computed at all.
import * as tf from "@tensorflow/tfjs";
import { ParameterError } from "@tether/shared/errors";
import type { Params } from "../model/params";
import { fusedAdamW, fusedAdamWAvailable, fusedGlobalNorm } from "./wasm-adamw";

export interface AdamOptions {
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay λ (per unit of lr). */
  weightDecay: number;
  /** Global gradient-norm clip; 0 = off. */
  clipNorm: number;
}

export const DEFAULT_ADAM: AdamOptions = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, clipNorm: 1 };

export interface StepStats {
  /** ‖g‖₂ before clipping. */
  gradNorm: number;
}

/**
 * Optimiser state over a Params map.
 * @example
 * const adam = new Adam(params, DEFAULT_ADAM, scales);
 * const { grads } = tf.variableGrads(loss, adam.trainable());
 * adam.apply(grads, 1e-3);
 */
export class Adam {
  step = 0;
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();
  private readonly byVariable = new Map<string, string>();

  constructor(
    private readonly params: Params,
    private readonly opts: AdamOptions = DEFAULT_ADAM,
    private readonly scales: Map<string, number> = new Map(),
  ) {
    for (const [k, x] of Object.entries(opts)) {
      if (!(Number.isFinite(x) && x >= 0)) throw new ParameterError(k, "must be a finite number ≥ 0", x);
    }
    for (const [name, variable] of params) {
      const scale = this.scale(name);
      if (!(scale >= 0 && scale <= 1)) throw new ParameterError("freeze", `scale for ${name} must be in [0, 1]`, scale);
      if (scale === 0) continue;
      this.byVariable.set(variable.name, name);
      this.m.set(name, tf.variable(tf.zerosLike(variable), false));
      this.v.set(name, tf.variable(tf.zerosLike(variable), false));
    }
  }

  /** Variables that receive gradients (α > 0). */
  trainable(): tf.Variable[] {
    return [...this.m.keys()].map((name) => this.params.get(name)!);
  }

  /** One update from gradients keyed by tf variable name (as tf.variableGrads returns them). */
  apply(grads: tf.NamedTensorMap, lr: number): StepStats {
    const { beta1, beta2, eps, weightDecay, clipNorm } = this.opts;
    this.step++;
    const entries = Object.entries(grads).map(([varName, g]) => {
      const name = this.byVariable.get(varName);
      if (!name) throw new Error(`gradient for an unknown variable ${varName}`);
      return [name, g] as const;
    });
    // On wasm the norm is one pass per tensor and the whole update one kernel per tensor, with the same float32
    // operations in the same order as the tfjs ops (train/wasm-adamw.ts).
    const fused = fusedAdamWAvailable() && entries.every(([name, g]) => g.dtype === "float32" && this.params.get(name)!.dtype === "float32");
    const gradNorm = fused
      ? fusedGlobalNorm(entries.map(([, g]) => g))
      : tf.tidy(() => Math.sqrt(tf.addN(entries.map(([, g]) => tf.sum(tf.square(g)))).dataSync()[0]!));
    const clip = clipNorm > 0 && gradNorm > clipNorm ? clipNorm / gradNorm : 1;
    const bias1 = 1 - beta1 ** this.step;
    const bias2 = 1 - beta2 ** this.step;
    tf.tidy(() => {
      for (const [name, grad] of entries) {
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const theta = this.params.get(name)!;
        if (fused) {
          const [m2, v2, theta2] = fusedAdamW(grad, m, v, theta, { clip, beta1, beta2, bias1, bias2, eps, weightDecay, lrScale: lr * this.scale(name) });
          m.assign(m2);
          v.assign(v2);
          theta.assign(theta2);
          continue;
        }
        const g = tf.mul(grad, clip);
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const adam = tf.div(tf.div(m, bias1), tf.add(tf.sqrt(tf.div(v, bias2)), eps));
        const update = weightDecay > 0 ? tf.add(adam, tf.mul(theta, weightDecay)) : adam;
        theta.assign(tf.sub(theta, tf.mul(update, lr * this.scale(name))));
      }
    });
    return { gradNorm };
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }

  private scale(name: string): number {
    return this.scales.get(name) ?? 1;
  }
}
