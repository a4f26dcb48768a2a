// β-sweep report writer: reads each run's metrics.jsonl under <dir>/runs/<id>/, renders the four PNG plots,
// tests the literature's claims, and writes <dir>/report.md. The sweep runner's single entry point.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { computeFindings, type Finding } from "./findings";
import { computeGrpoFindings } from "./findings-grpo";
import { renderMarkdown } from "./markdown";
import { readMetrics, runCurves } from "./metrics";
import { writePlots } from "./plots";
import type { PlotName, RunCurves, SweepRunSummary } from "./types";

export type { Finding, Verdict } from "./findings";
export type { KlOn, SweepRunSummary } from "./types";

export interface SweepReportInput {
  /** Sweep directory: runs are read from `<dir>/runs/<id>/metrics.jsonl`; report.md and PNGs go here. */
  dir: string;
  runs: readonly SweepRunSummary[];
  /** The exact command line that produced the sweep (printed verbatim in report.md). */
  command: string;
  /** Machine and backend line, e.g. "NVIDIA H100 · backend tensorflow-gpu · Node 20.19". */
  environment: string;
}

export interface SweepReportOutput {
  reportPath: string;
  /** PNG paths by plot: klVsStep, rewardVsStep, klVsReward, retentionVsBeta. */
  plots: Record<PlotName, string>;
  /** The computed findings, also written into report.md. */
  findings: Finding[];
}

function validate(runs: readonly SweepRunSummary[]): void {
  if (runs.length === 0) throw new Error("runs must contain at least one run summary");
  const seen = new Set<string>();
  for (const r of runs) {
    if (seen.has(r.id)) throw new Error(`runs: duplicate run id "${r.id}"`);
    seen.add(r.id);
    if (!(r.beta >= 0)) throw new Error(`runs["${r.id}"].beta must be ≥ 0, got ${r.beta}`);
    if (!["task", "replay", "both"].includes(r.klOn)) throw new Error(`runs["${r.id}"].klOn must be task|replay|both, got ${r.klOn}`);
  }
}

/**
 * Write the sweep report: `<dir>/report.md` plus kl_vs_step.png, reward_vs_step.png, kl_vs_reward.png
 * and retention_vs_beta.png. Missing or torn metrics files are tolerated and listed under "Data notes".
 * @example
 * const { reportPath, plots } = await writeSweepReport({
 *   dir: "docs/beta-sweep", runs, command: process.argv.join(" "), environment: "linux x64 · backend wasm",
 * });
 */
export async function writeSweepReport(input: SweepReportInput): Promise<SweepReportOutput> {
  validate(input.runs);
  mkdirSync(input.dir, { recursive: true });
  const curves = new Map<string, RunCurves>();
  const notes: string[] = [];
  for (const r of input.runs) {
    const path = join(input.dir, "runs", r.id, "metrics.jsonl");
    if (!existsSync(path)) notes.push(`\`${r.id}\`: no metrics.jsonl at runs/${r.id}/; its curves are missing.`);
    const m = readMetrics(path);
    if (m.malformed > 0) notes.push(`\`${r.id}\`: skipped ${m.malformed} malformed line(s) in metrics.jsonl.`);
    const c = runCurves(m, r.command);
    if (existsSync(path) && (c.kl.source === "none" || c.reward.source === "none")) {
      notes.push(`\`${r.id}\`: metrics.jsonl has no ${c.kl.source === "none" ? "KL" : "reward/accuracy"} series.`);
    }
    curves.set(r.id, c);
  }
  const findings = [...computeFindings(input.runs, curves), ...computeGrpoFindings(input.runs, curves)];
  const plots = await writePlots(input.dir, input.runs, curves);
  const reportPath = join(input.dir, "report.md");
  const md = renderMarkdown({ command: input.command, environment: input.environment, runs: input.runs, findings, notes });
  writeFileSync(reportPath, md);
  return { reportPath, plots, findings };
}
