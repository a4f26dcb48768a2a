// Tests for report.md: provenance lines, table rows formatted as documented, plots, computed findings.
import { describe, expect, it } from "vitest";
import type { Finding } from "./findings";
import { renderMarkdown, tableRow } from "./markdown";
import type { SweepRunSummary } from "./types";

const run = (over: Partial<SweepRunSummary>): SweepRunSummary => ({
  id: "beta-0.1_kl-on-task", beta: 0.1, klOn: "task", command: "sft", steps: 300,
  finalKl: 0.04204, taskReward: 0.6123, taskAccuracy: 0.6123, baseAccuracy: 0.83, referenceBaseAccuracy: 0.9,
  baseRetention: 0.83 / 0.9, ...over,
});

const RUNS = [
  run({}),
  run({ id: "beta-0_kl-on-task", beta: 0, finalKl: 1.23456, taskAccuracy: 0.9, taskReward: 0.9, baseAccuracy: 0.45, baseRetention: 0.5 }),
  run({ id: "beta-2_kl-on-replay", beta: 2, klOn: "replay", finalKl: 0.0012, baseRetention: 0.99, baseAccuracy: Number.NaN }),
];
const FINDINGS: Finding[] = [
  { claim: "iii", klOn: "task", verdict: "NOT SUPPORTED", detail: "Spearman(β, retention) = -0.500 over 3 runs." },
  { claim: "v", klOn: "all", verdict: "INCONCLUSIVE", detail: "needs both groups." },
];
const COMMAND = "npx tsx apps/trainer/src/cli.ts sweep --preset small --beta 0,0.1,2 --kl-on task,replay --steps 300";

describe("tableRow", () => {
  it("prints β as given, KL to 4 decimals, the rest to 3, n/a for missing", () => {
    expect(tableRow(RUNS[0]!)).toBe("| 0.1 | 0.0420 | 0.612 | 0.612 | 0.830 | 0.922 |");
    expect(tableRow(RUNS[2]!)).toBe("| 2 | 0.0012 | 0.612 | 0.612 | n/a | 0.990 |");
  });
});

describe("renderMarkdown", () => {
  const md = renderMarkdown({ command: COMMAND, environment: "linux x64 · backend wasm", runs: RUNS, findings: FINDINGS, notes: ["`x`: skipped 1 malformed line(s)."] });

  it("shows the exact command and the machine line", () => {
    expect(md).toContain(`\`\`\`sh\n${COMMAND}\n\`\`\``);
    expect(md).toContain("Machine / backend: linux x64 · backend wasm");
  });

  it("has one table per kl-on, rows sorted by β", () => {
    const task = md.indexOf("### KL on task (`--kl-on task`, sft, 300 steps)");
    const replay = md.indexOf("### KL on replay");
    expect(task).toBeGreaterThan(0);
    expect(replay).toBeGreaterThan(task);
    expect(md).toContain("| β | final KL (nats/token) | task reward | task accuracy | base accuracy | base retention |");
    const zero = md.indexOf("| 0 | 1.2346 | 0.900 | 0.900 | 0.450 | 0.500 |");
    const tenth = md.indexOf("| 0.1 | 0.0420 |");
    expect(zero).toBeGreaterThan(task);
    expect(tenth).toBeGreaterThan(zero);
    expect(md.indexOf("| 2 | 0.0012 |")).toBeGreaterThan(replay);
    expect(md).not.toContain("### KL on both");
  });

  it("embeds the four plots relatively and lists findings with verdicts and notes", () => {
    for (const f of ["kl_vs_step.png", "reward_vs_step.png", "kl_vs_reward.png", "retention_vs_beta.png"]) expect(md).toContain(`](${f})`);
    expect(md).toContain("- KL on task: **NOT SUPPORTED** — Spearman(β, retention) = -0.500 over 3 runs.");
    expect(md).toContain("- sweep: **INCONCLUSIVE** — needs both groups.");
    expect(md).toContain("| claim | KL on task | sweep |");
    expect(md).toContain("| (iii) | NOT SUPPORTED | – |");
    expect(md).toContain("| (v) | – | INCONCLUSIVE |");
    expect(md).toContain("## Data notes\n\n- `x`: skipped 1 malformed line(s).");
  });
});
