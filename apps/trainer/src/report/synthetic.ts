// Synthetic β-sweeps with known shapes, for the report's tests (and for previewing the report without
// training): KL grows linearly at β = 0 and saturates for β > 0; accuracy rises more slowly with larger β.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KlOn, SweepRunSummary } from "./types";

export interface SyntheticOptions {
  betas: readonly number[];
  klOn?: readonly KlOn[];
  /** Training steps per run (default 60). */
  steps?: number;
  /** Eval every this many steps, plus the last step (default steps / 10). */
  evalEvery?: number;
  /** Base retention as a function of β and kl-on (default increasing in β). */
  retention?: (beta: number, klOn: KlOn) => number;
}

/** Default retention: 0.5 at β = 0 rising smoothly towards 1. */
export const increasingRetention = (beta: number): number => 0.5 + (0.5 * beta) / (beta + 0.2);

/** Deterministic ±1 noise so "training-batch" series are not perfectly smooth. */
function noise(i: number): number {
  const x = Math.sin(i * 12.9898) * 43758.5453;
  return 2 * (x - Math.floor(x)) - 1;
}

/**
 * Summaries plus metrics.jsonl text for each run of a synthetic SFT sweep.
 * @example const { runs, metrics } = syntheticSweep({ betas: [0, 0.1, 0.5] }); metrics.get(runs[0].id)
 */
export function syntheticSweep(o: SyntheticOptions): { runs: SweepRunSummary[]; metrics: Map<string, string> } {
  const steps = o.steps ?? 60;
  const evalEvery = o.evalEvery ?? Math.max(1, Math.floor(steps / 10));
  const retention = o.retention ?? increasingRetention;
  const runs: SweepRunSummary[] = [];
  const metrics = new Map<string, string>();
  for (const klOn of o.klOn ?? ["task"]) {
    for (const beta of o.betas) {
      const id = `beta-${beta}_kl-on-${klOn}`;
      // KL(t): linear (unbounded) at β = 0, else K(β)·(1 − e^{−t/τ}) with τ = steps/10.
      const kl = (t: number): number => (beta === 0 ? 0.01 * t : (0.5 / (1 + 10 * beta)) * (1 - Math.exp((-10 * t) / steps)));
      // accuracy(t) = A(β)·(1 − e^{−t/τ_r}), τ_r = steps/5·(1 + 2β): larger β learns less and slower.
      const ceiling = 0.9 - (0.3 * beta) / (1 + beta);
      const acc = (t: number): number => ceiling * (1 - Math.exp((-5 * t) / (steps * (1 + 2 * beta))));
      const ret = retention(beta, klOn);
      const lines: string[] = [];
      for (let t = 1; t <= steps; t++) {
        const batchKl = kl(t) * (1 + 0.1 * noise(t));
        lines.push(JSON.stringify({ step: t, loss: 2 - acc(t), kl: batchKl, beta, lr: 1e-3, grad_norm: 1, tokens_per_s: 900, elapsed_s: t / 10 }));
        if (t === 1 || t % evalEvery === 0 || t === steps) {
          // Retention decays linearly from 1 to its final value over training.
          const retained = 1 - (t / steps) * (1 - ret);
          const evalLine = { step: t, heldout_kl: kl(t), task_accuracy: acc(t), task_reward: acc(t), base_accuracy: 0.9 * retained, base_retention: retained };
          lines.push(JSON.stringify(evalLine));
        }
      }
      metrics.set(id, `${lines.join("\n")}\n`);
      runs.push({
        id, beta, klOn, command: "sft", steps,
        finalKl: kl(steps), taskReward: acc(steps), taskAccuracy: acc(steps),
        baseAccuracy: 0.9 * ret, referenceBaseAccuracy: 0.9, baseRetention: ret,
      });
    }
  }
  return { runs, metrics };
}

/**
 * Write a synthetic sweep's metrics under `<dir>/runs/<id>/metrics.jsonl` and return its summaries.
 * @example const runs = writeSyntheticSweep(tmp, { betas: [0, 0.5, 2] });
 */
export function writeSyntheticSweep(dir: string, o: SyntheticOptions): SweepRunSummary[] {
  const { runs, metrics } = syntheticSweep(o);
  for (const r of runs) {
    mkdirSync(join(dir, "runs", r.id), { recursive: true });
    writeFileSync(join(dir, "runs", r.id, "metrics.jsonl"), metrics.get(r.id)!);
  }
  return runs;
}
