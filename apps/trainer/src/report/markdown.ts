// report.md for a β-sweep: provenance (command, machine), one results table per kl-on, the plots, and the
// computed Findings. Pure string building; index.ts does the I/O.
import {
  BOUNDED_REL_CHANGE,
  CLAIMS,
  KL_NOISE_FLOOR,
  MIN_RETENTION,
  MIN_REWARD_RISE,
  MIN_TASK_SHARE,
  MONOTONE_MIN_RHO,
  RETENTION_NOISE,
  RETENTION_RHO_REJECT,
  RETENTION_RHO_SUPPORT,
  REWARD_EDGE_FRACTION,
  SHARP_SWITCH_SHARE,
  TARGET_BETA,
  UNBOUNDED_MIN_SLOPE_RATIO,
  type Finding,
} from "./findings";
import { betaLabel, fixed } from "./format";
import { VARIANT_MIN_REL_DIFF } from "./findings-grpo";
import { KL_ON_ORDER, PLOT_FILES, runGroup, type PlotName, type SweepRunSummary } from "./types";

export interface MarkdownInput {
  /** The exact command line that produced the sweep, shown verbatim. */
  command: string;
  /** Machine and backend, e.g. "linux x64, 16 cores · backend tensorflow-gpu (H100)". */
  environment: string;
  runs: readonly SweepRunSummary[];
  findings: readonly Finding[];
  /** Data-quality remarks (missing metrics, torn lines), listed verbatim; optional. */
  notes?: readonly string[];
}

const TABLE_HEADER = [
  "| β | final KL (nats/token) | task reward | task accuracy | base accuracy | base retention |",
  "|---:|---:|---:|---:|---:|---:|",
];

/**
 * One table row: β as given, KL to 4 decimals, the other columns to 3; "n/a" when missing.
 * @example tableRow(run); // "| 0.1 | 0.0420 | 0.610 | 0.610 | 0.830 | 0.922 |"
 */
export function tableRow(r: SweepRunSummary): string {
  const cells = [
    betaLabel(r.beta),
    fixed(r.finalKl, 4),
    fixed(r.taskReward, 3),
    fixed(r.taskAccuracy, 3),
    fixed(r.baseAccuracy, 3),
    fixed(r.baseRetention, 3),
  ];
  return `| ${cells.join(" | ")} |`;
}

function tables(runs: readonly SweepRunSummary[]): string[] {
  const out: string[] = [];
  const variants = [...new Set(runs.map((r) => r.klVariant))];
  for (const klOn of KL_ON_ORDER) {
    for (const variant of variants) {
      const group = runs.filter((r) => r.klOn === klOn && r.klVariant === variant).sort((a, b) => a.beta - b.beta);
      if (group.length === 0) continue;
      const commands = [...new Set(group.map((r) => r.command))].join("/");
      const steps = [...new Set(group.map((r) => r.steps))].join("/");
      const how = variant === undefined ? "" : `, KL ${variant.replace(":", " in the ")}`;
      out.push(`### KL on ${klOn}${how} (\`--kl-on ${klOn}\`, ${commands}, ${steps} steps)`, "", ...TABLE_HEADER);
      out.push(...group.map(tableRow), "");
    }
  }
  const refs = [...new Set(runs.map((r) => fixed(r.referenceBaseAccuracy, 3)))];
  out.push(`Reference base-task accuracy: ${refs.join(", ")}. Base retention = base accuracy / reference base accuracy.`, "");
  return out;
}

const PLOT_CAPTIONS: Record<PlotName, string> = {
  klVsStep: "KL to the reference vs step",
  rewardVsStep: "Task reward vs step",
  klVsReward: "Final KL vs final task performance",
  retentionVsBeta: "Base retention and task accuracy vs β",
};

function thresholds(): string[] {
  return [
    "Thresholds (named constants in `apps/trainer/src/report/findings.ts`):",
    "",
    `- reward "rose": mean of the last vs first ${100 * REWARD_EDGE_FRACTION}% of the reward curve differs by ≥ ${MIN_REWARD_RISE};`,
    `- KL "grows without bound": Spearman(step, KL) ≥ ${MONOTONE_MIN_RHO} and the least-squares slope over the last third ` +
      `of training ≥ ${UNBOUNDED_MIN_SLOPE_RATIO} × the slope over the first third;`,
    `- KL "bounded": its change over the last third (slope × duration) ≤ ${100 * BOUNDED_REL_CHANGE}% of its mean there, ` +
      `or that mean ≤ ${KL_NOISE_FLOOR} nats/token; tested at β = ${TARGET_BETA} or the nearest β > 0;`,
    `- retention "increases with β": Spearman(β, retention) ≥ ${RETENTION_RHO_SUPPORT} (≤ ${RETENTION_RHO_REJECT} rejects); ` +
      `a retention spread < ${RETENTION_NOISE} is noise;`,
    `- "sharp switch": one adjacent-β jump carries ≥ ${100 * SHARP_SWITCH_SHARE}% of the retention spread;`,
    `- operating point: retention ≥ ${MIN_RETENTION} and task accuracy ≥ ${MIN_TASK_SHARE} × the sweep's best, highest task accuracy wins;`,
    `- (vi) "fastest at β = 0": the β = 0 reward gain is ≥ ${MIN_REWARD_RISE} and ≥ every β > 0 run's gain (same KL variant);`,
    `- (vii) "anchors tighter": the same KL variant has the lowest final KL at every β > 0, each time ≥ ${100 * VARIANT_MIN_REL_DIFF}% below the highest.`,
    "",
  ];
}

/** Verdicts at a glance: one row per claim, one column per kl-on group present (plus "sweep"). */
const who = (f: Finding): string => (f.klOn === "all" ? "sweep" : `KL on ${f.variant === undefined ? f.klOn : runGroup({ klOn: f.klOn, klVariant: f.variant })}`);

function summaryTable(findings: readonly Finding[]): string[] {
  const order = [...KL_ON_ORDER, "all"];
  const cols = [...new Set([...findings].sort((a, b) => order.indexOf(a.klOn) - order.indexOf(b.klOn)).map(who))];
  const head = cols;
  const rows = (Object.keys(CLAIMS) as Finding["claim"][]).map((claim) => {
    const cells = cols.map((k) => {
      const vs = findings.filter((f) => f.claim === claim && who(f) === k).map((f) => f.verdict);
      return vs.length === 0 ? "–" : vs.join(", ");
    });
    return `| (${claim}) | ${cells.join(" | ")} |`;
  });
  return [`| claim | ${head.join(" | ")} |`, `|---|${cols.map(() => "---|").join("")}`, ...rows, ""];
}

function findingsSection(findings: readonly Finding[]): string[] {
  const out = ["## Findings", "", ...summaryTable(findings), ...thresholds()];
  for (const claim of Object.keys(CLAIMS) as Finding["claim"][]) {
    const fs = findings.filter((f) => f.claim === claim);
    if (fs.length === 0) continue;
    out.push(`### (${claim}) ${CLAIMS[claim]}`, "");
    for (const f of fs) out.push(`- ${who(f)}: **${f.verdict}** — ${f.detail}`);
    out.push("");
  }
  return out;
}

/**
 * The whole report.md text. Images are referenced relative to the report's folder.
 * @example
 * const md = renderMarkdown({ command: "tether-train sweep --beta 0,0.5", environment: "wasm", runs, findings });
 */
export function renderMarkdown(input: MarkdownInput): string {
  const lines = [
    "# β-sweep report: KL anchoring vs adaptation and forgetting",
    "",
    "Produced by:",
    "",
    "```sh",
    input.command,
    "```",
    "",
    `Machine / backend: ${input.environment}`,
    "",
    "## Results",
    "",
    "Final values at the end of each run; KL is the held-out mean token KL(π_θ‖π_ref).",
    "",
    ...tables(input.runs),
    "## Plots",
    "",
    ...(Object.keys(PLOT_FILES) as PlotName[]).flatMap((k) => [`![${PLOT_CAPTIONS[k]}](${PLOT_FILES[k]})`, ""]),
    ...findingsSection(input.findings),
  ];
  if (input.notes && input.notes.length > 0) lines.push("## Data notes", "", ...input.notes.map((n) => `- ${n}`), "");
  return lines.join("\n");
}
