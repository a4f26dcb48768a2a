// Reads a run's metrics.jsonl into per-key step series, leniently (a run killed mid-write leaves a torn
// last line), smooths noisy step series, and picks the KL and reward curves the sweep report plots.
import { readFileSync } from "node:fs";
import type { Curve, Points, RunCurves, SweepRunSummary } from "./types";

/** Fraction of a step series' length used as the moving-average window for plots (window ≥ 1). */
export const SMOOTH_FRACTION = 0.05;
/** Held-out KL (eval lines) is preferred over batch KL when a run has at least this many eval points. */
export const MIN_EVAL_POINTS = 4;

/** metrics.jsonl split by line kind: training steps carry `loss`, evaluations do not. */
export interface ParsedMetrics {
  /** Series per numeric key of training-step lines (`kl`, `reward`, `loss`, …). */
  train: Record<string, Points>;
  /** Series per numeric key of eval lines (`heldout_kl`, `task_accuracy`, `base_retention`, …). */
  eval: Record<string, Points>;
  /** Non-blank lines that were not a JSON object with a numeric `step` (torn writes, garbage). */
  malformed: number;
}

/**
 * Parse metrics.jsonl text. Missing keys are simply absent from a series; unknown keys become series
 * too; malformed lines are counted and skipped; a repeated step (resumed run) keeps the last value.
 * @example
 * const m = parseMetrics('{"step":1,"loss":2,"kl":0.1}\n{"step":1,"heldout_kl":0.2}\n{"step":2,"lo');
 * m.train.kl; // { step: [1], value: [0.1] }; m.malformed === 1
 */
export function parseMetrics(text: string): ParsedMetrics {
  const train = new Map<string, Map<number, number>>();
  const evals = new Map<string, Map<number, number>>();
  let malformed = 0;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      malformed++;
      continue;
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      malformed++;
      continue;
    }
    const rec = obj as Record<string, unknown>;
    const step = rec.step;
    if (typeof step !== "number" || !Number.isFinite(step)) {
      malformed++;
      continue;
    }
    const target = "loss" in rec ? train : evals;
    for (const [key, v] of Object.entries(rec)) {
      if (key === "step" || typeof v !== "number" || !Number.isFinite(v)) continue;
      let series = target.get(key);
      if (!series) target.set(key, (series = new Map()));
      series.set(step, v);
    }
  }
  return { train: toPoints(train), eval: toPoints(evals), malformed };
}

function toPoints(m: Map<string, Map<number, number>>): Record<string, Points> {
  const out: Record<string, Points> = {};
  for (const [key, series] of m) {
    const steps = [...series.keys()].sort((a, b) => a - b);
    out[key] = { step: steps, value: steps.map((s) => series.get(s)!) };
  }
  return out;
}

/**
 * Read and parse a metrics.jsonl file; a missing file gives empty series (the run is still tabled).
 * @example const m = readMetrics("report/runs/beta-0_kl-on-task/metrics.jsonl");
 */
export function readMetrics(path: string): ParsedMetrics {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return { train: {}, eval: {}, malformed: 0 };
  }
  return parseMetrics(text);
}

/**
 * Trailing moving average: y_i = mean(x_{max(0, i−w+1)} … x_i), so the first w−1 outputs average
 * over the points seen so far. Throws unless `window` is an integer ≥ 1.
 * @example movingAverage([1, 2, 3, 4], 2); // [1, 1.5, 2.5, 3.5]
 */
export function movingAverage(values: readonly number[], window: number): number[] {
  if (!Number.isInteger(window) || window < 1) throw new Error(`window must be an integer ≥ 1, got ${window}`);
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i]!;
    if (i >= window) sum -= values[i - window]!;
    out.push(sum / Math.min(i + 1, window));
  }
  return out;
}

/** Moving-average window for a series of n points: ⌈SMOOTH_FRACTION · n⌉, at least 1. */
export function smoothWindow(n: number): number {
  return Math.max(1, Math.ceil(SMOOTH_FRACTION * n));
}

const EMPTY: Points = { step: [], value: [] };

/**
 * The run's KL curve (held-out KL from eval lines when there are ≥ MIN_EVAL_POINTS of them, else the
 * training batch KL) and reward curve (GRPO step reward, else new-task accuracy from eval lines).
 * Curves are raw; plots smooth step-sourced ones.
 * @example const { kl, reward } = runCurves(readMetrics(path), "sft"); // kl.source === "heldout_kl"
 */
export function runCurves(m: ParsedMetrics, command: SweepRunSummary["command"]): RunCurves {
  const heldout = m.eval.heldout_kl;
  const kl: Curve =
    heldout && heldout.step.length >= MIN_EVAL_POINTS
      ? { source: "heldout_kl", points: heldout }
      : m.train.kl
        ? { source: "kl", points: m.train.kl }
        : heldout
          ? { source: "heldout_kl", points: heldout }
          : { source: "none", points: EMPTY };
  const stepReward = m.train.reward;
  const accuracy = m.eval.task_accuracy;
  const reward: Curve =
    command === "grpo" && stepReward && stepReward.step.length > 0
      ? { source: "reward", points: stepReward }
      : accuracy
        ? { source: "task_accuracy", points: accuracy }
        : stepReward
          ? { source: "reward", points: stepReward }
          : { source: "none", points: EMPTY };
  return { kl, reward };
}
