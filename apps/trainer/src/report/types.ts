// Types shared by the β-sweep report modules: the runner's per-run summary and the curves read from metrics.jsonl.

/** Where a run computed its KL term: the fine-tuning batch, a replay batch of base-corpus prompts, or both. */
export type KlOn = "task" | "replay" | "both";

/** Order in which kl-on groups appear in tables, plots and findings. */
export const KL_ON_ORDER: readonly KlOn[] = ["task", "replay", "both"];

/**
 * One finished sweep run, as the sweep runner hands it to the report writer.
 * Metrics for the run live in `<dir>/runs/<id>/metrics.jsonl`.
 * @example
 * const run: SweepRunSummary = {
 *   id: "beta-0.1_kl-on-task", beta: 0.1, klOn: "task", command: "sft", steps: 300,
 *   finalKl: 0.042, taskReward: 0.61, taskAccuracy: 0.61, baseAccuracy: 0.83,
 *   referenceBaseAccuracy: 0.9, baseRetention: 0.922,
 * };
 */
export interface SweepRunSummary {
  /** Run id, also the folder name under `<dir>/runs/`, e.g. "beta-0.1_kl-on-task". */
  id: string;
  /** KL coefficient β (≥ 0; the initial value when a controller adapts it). */
  beta: number;
  klOn: KlOn;
  /** GRPO sweeps with --kl-variants: the run's estimator:placement, e.g. "k3:loss" or "k1:reward". */
  klVariant?: string;
  command: "sft" | "grpo";
  /** Training steps the run was asked for. */
  steps: number;
  /** Held-out mean token KL(π_θ‖π_ref) at the end, nats/token. */
  finalKl: number;
  /** Final new-task reward (GRPO: mean verifiable reward; SFT: equals accuracy). */
  taskReward: number;
  /** Final new-task held-out exact-match accuracy, fraction in [0, 1]. */
  taskAccuracy: number;
  /** Final base-task held-out accuracy of the fine-tuned policy, fraction in [0, 1]. */
  baseAccuracy: number;
  /** Base-task accuracy of the frozen reference, fraction in [0, 1]. */
  referenceBaseAccuracy: number;
  /** baseAccuracy / referenceBaseAccuracy (1 = nothing forgotten). */
  baseRetention: number;
  /** The runner's own verdict on whether KL plateaued, if it computed one. */
  klBounded?: boolean;
}

/** A scalar series over training steps (parallel arrays, ascending step). */
export interface Points {
  step: number[];
  value: number[];
}

/** Which metrics.jsonl field a curve was taken from, for axis titles and findings text. */
export type CurveSource = "heldout_kl" | "kl" | "reward" | "task_accuracy" | "none";

/** A run's curve ready for plotting and trend tests. */
export interface Curve {
  source: CurveSource;
  points: Points;
}

/** The two curves a run contributes to the report. */
export interface RunCurves {
  kl: Curve;
  reward: Curve;
}

/** File names of the four plots, written under the report directory. */
export const PLOT_FILES = {
  klVsStep: "kl_vs_step.png",
  rewardVsStep: "reward_vs_step.png",
  klVsReward: "kl_vs_reward.png",
  retentionVsBeta: "retention_vs_beta.png",
} as const;
export type PlotName = keyof typeof PLOT_FILES;

/**
 * The label a run's group goes by in tables, plot legends and findings: its kl-on, plus its KL variant if any.
 * @example runGroup({ klOn: "task", klVariant: "k1:reward" }) // "task, k1:reward"
 */
export function runGroup(r: { klOn: KlOn; klVariant?: string }): string {
  return r.klVariant === undefined ? r.klOn : `${r.klOn}, ${r.klVariant}`;
}
