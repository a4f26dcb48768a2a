// β controllers for the KL anchor: fixed, Ziegler's target-KL controller, and a KL-to-reward ratio controller.
//
// target (Ziegler et al. 2019, "Fine-Tuning Language Models from Human Preferences", §2.2):
//   e = clip(KL / KL_target − 1, −0.2, 0.2);   β ← β·(1 + e·n / horizon)
//   n = samples in the step; proportional control in log-space, bounded to ±20 % error per update.
//
// ratio (ours): tighten β when the KL to the reference grows faster than the reward does.
//   Over a window of W steps split into an older and a newer half (means ō, n̄):
//     g_KL = (n̄_KL − ō_KL) / (ō_KL + ε_KL)          relative KL growth  (ε_KL = 1e-3 nats: KL starts at 0)
//     g_R  = (n̄_R − ō_R) / (|ō_R| + ε_R)            relative reward growth (SFT: reward = −task loss)
//     β ← β · exp(η · clip(g_KL − g_R, −1, 1)),  η = 0.05
//   Why: drift that buys no reward is what forgetting looks like, so β grows exactly when KL outpaces
//   reward and relaxes when reward outpaces KL. Multiplicative, so β stays > 0; the clip bounds a step to
//   ±5 %; relative rates make KL (nats) and reward (task units) comparable. Needs W steps of history.
import { ParameterError } from "@tether/shared/errors";

export type BetaControllerKind = "fixed" | "target" | "ratio";

export interface BetaControllerOptions {
  kind: BetaControllerKind;
  /** Initial β ≥ 0. */
  beta: number;
  /** target: KL_target (nats/token) > 0. */
  klTarget: number;
  /** target: horizon in samples. */
  horizon: number;
  /** ratio: window W ≥ 2 steps. */
  window: number;
}

export const RATIO_ETA = 0.05;
const EPS_KL = 1e-3;
const EPS_REWARD = 1e-3;
const TARGET_CLIP = 0.2;

/** Serialisable controller state (resume). */
export interface BetaControllerState {
  beta: number;
  kl: number[];
  reward: number[];
}

/**
 * @example
 * const ctl = new BetaController({ kind: "target", beta: 0.1, klTarget: 0.05, horizon: 10000, window: 50 });
 * ctl.update({ kl: 0.08, reward: 0.4, samples: 16 }); // β grows: KL is above target
 */
export class BetaController {
  beta: number;
  private kl: number[] = [];
  private reward: number[] = [];

  constructor(private readonly o: BetaControllerOptions) {
    if (!(o.beta >= 0)) throw new ParameterError("beta", "must be ≥ 0", o.beta);
    if (o.kind === "target" && !(o.klTarget > 0)) throw new ParameterError("kl_target", "must be > 0", o.klTarget);
    if (o.kind === "target" && !(o.horizon >= 1)) throw new ParameterError("controller_horizon", "must be ≥ 1", o.horizon);
    if (o.kind === "ratio" && !(Number.isInteger(o.window) && o.window >= 2)) throw new ParameterError("ratio_window", "must be an integer ≥ 2", o.window);
    this.beta = o.beta;
  }

  /** Feed one step's measured KL (nats/token), reward, and sample count; returns the β for the next step. */
  update({ kl, reward, samples }: { kl: number; reward: number; samples: number }): number {
    if (this.o.kind === "target") {
      const e = Math.min(TARGET_CLIP, Math.max(-TARGET_CLIP, kl / this.o.klTarget - 1));
      this.beta *= 1 + (e * samples) / this.o.horizon;
    } else if (this.o.kind === "ratio") {
      this.kl.push(kl);
      this.reward.push(reward);
      if (this.kl.length > this.o.window) {
        this.kl.shift();
        this.reward.shift();
      }
      if (this.kl.length === this.o.window) {
        const gKl = growth(this.kl, EPS_KL);
        const gReward = growth(this.reward, EPS_REWARD);
        this.beta *= Math.exp(RATIO_ETA * Math.min(1, Math.max(-1, gKl - gReward)));
      }
    }
    return this.beta;
  }

  state(): BetaControllerState {
    return { beta: this.beta, kl: [...this.kl], reward: [...this.reward] };
  }

  restore(s: BetaControllerState): void {
    this.beta = s.beta;
    this.kl = [...s.kl];
    this.reward = [...s.reward];
  }
}

// (mean of newer half − mean of older half) / (|mean of older half| + ε)
function growth(values: number[], eps: number): number {
  const half = Math.floor(values.length / 2);
  const older = mean(values.slice(0, half));
  const newer = mean(values.slice(values.length - half));
  return (newer - older) / (Math.abs(older) + eps);
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
