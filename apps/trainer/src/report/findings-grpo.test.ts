// The GRPO sweep's findings on hand-built curves whose gains and KL gaps are computed by hand below.
import { describe, expect, it } from "vitest";
import { computeFindings } from "./findings";
import { computeGrpoFindings } from "./findings-grpo";
import { renderMarkdown } from "./markdown";
import type { RunCurves, SweepRunSummary } from "./types";

/** A 10-point reward curve from `first` to `last` (edge means over 10% = the end points themselves). */
function curve(first: number, last: number, kl: (t: number) => number): RunCurves {
  const step = Array.from({ length: 10 }, (_, i) => i + 1);
  const reward = step.map((t) => first + ((last - first) * (t - 1)) / 9);
  return { kl: { source: "kl", points: { step, value: step.map(kl) } }, reward: { source: "reward", points: { step, value: reward } } };
}

function run(beta: number, klVariant: string, finalKl: number, taskAccuracy = 0.5, baseRetention = 0.95): SweepRunSummary {
  return {
    id: `beta-${beta}_kl-on-task_${klVariant.replace(":", "-in-")}`,
    beta, klOn: "task", klVariant, command: "grpo", steps: 10, finalKl,
    taskReward: taskAccuracy, taskAccuracy, baseAccuracy: 0.9 * baseRetention, referenceBaseAccuracy: 0.9, baseRetention,
  };
}

// Reward gains: β=0 0.1 → 0.5 (+0.4), β=0.1 0.1 → 0.3 (+0.2), β=0.5 0.1 → 0.15 (+0.05), in both variants.
// Final KL: k3:loss 1.0 / 0.2 / 0.05, k1:reward 1.0 / 0.4 / 0.1 → k3:loss is 50% lower at β = 0.1 and 0.5.
const GAINS: Record<number, [number, number]> = { 0: [0.1, 0.5], 0.1: [0.1, 0.3], 0.5: [0.1, 0.15] };
const FINAL: Record<string, Record<number, number>> = { "k3:loss": { 0: 1, 0.1: 0.2, 0.5: 0.05 }, "k1:reward": { 0: 1, 0.1: 0.4, 0.5: 0.1 } };

function sweep(edit?: (runs: SweepRunSummary[], gains: typeof GAINS) => void) {
  const gains = structuredClone(GAINS);
  const runs = Object.keys(FINAL).flatMap((v) => [0, 0.1, 0.5].map((b) => run(b, v, FINAL[v]![b]!)));
  edit?.(runs, gains);
  // KL: linear growth 0.1·t at β = 0, flat at its final value for β > 0.
  const curves = new Map(runs.map((r) => [r.id, curve(gains[r.beta]![0], gains[r.beta]![1], (t) => (r.beta === 0 ? 0.1 * t : r.finalKl))]));
  return { runs, curves };
}

describe("computeGrpoFindings", () => {
  it("(vi) supports 'fastest at β = 0' per variant with the hand-computed gains", () => {
    const { runs, curves } = sweep();
    const six = computeGrpoFindings(runs, curves).filter((f) => f.claim === "vi");
    expect(six.map((f) => [f.variant, f.verdict])).toEqual([["k3:loss", "SUPPORTED"], ["k1:reward", "SUPPORTED"]]);
    expect(six[0]!.detail).toContain("β=0: +0.400, β=0.1: +0.200, β=0.5: +0.050");
  });

  it("(vi) rejects it when a β > 0 run gains more, or β = 0 does not rise", () => {
    const more = sweep((_, g) => (g[0.1] = [0.1, 0.55]));
    expect(computeGrpoFindings(more.runs, more.curves).find((f) => f.claim === "vi")!.detail).toContain("a β > 0 run gained more");
    const flat = sweep((_, g) => {
      g[0] = [0.1, 0.11];
      g[0.1] = [0.1, 0.1];
      g[0.5] = [0.1, 0.1];
    });
    const f = computeGrpoFindings(flat.runs, flat.curves).find((x) => x.claim === "vi")!;
    expect(f.verdict).toBe("NOT SUPPORTED");
    expect(f.detail).toContain("did not rise");
  });

  it("(vii) names the variant with the lower final KL at every β > 0 and the gaps (50%, 50%)", () => {
    const { runs, curves } = sweep();
    const f = computeGrpoFindings(runs, curves).find((x) => x.claim === "vii")!;
    expect(f.verdict).toBe("SUPPORTED");
    expect(f.detail).toMatch(/^k3:loss has the lowest final KL at every β > 0/);
    expect(f.detail).toContain("β=0.1: k3:loss KL 0.2000, task 0.50, retention 0.950 vs k1:reward KL 0.4000");
    expect(f.detail).toContain("(50% apart)");
    expect(f.detail).toContain("β=0: k3:loss KL 1.0000");
    expect(f.detail).toContain("(0% apart) [control: same objective]");
  });

  it("(vii) is inconclusive when the order flips with β or a gap is under 10%", () => {
    const flip = sweep((runs) => (runs.find((r) => r.id === "beta-0.5_kl-on-task_k1-in-reward")!.finalKl = 0.01));
    expect(computeGrpoFindings(flip.runs, flip.curves).find((x) => x.claim === "vii")!).toMatchObject({ verdict: "INCONCLUSIVE" });
    // 0.2 vs 0.21: (0.21 − 0.2) / 0.21 = 4.8% < 10%
    const close = sweep((runs) => (runs.find((r) => r.id === "beta-0.1_kl-on-task_k1-in-reward")!.finalKl = 0.21));
    const f = computeGrpoFindings(close.runs, close.curves).find((x) => x.claim === "vii")!;
    expect(f.verdict).toBe("INCONCLUSIVE");
    expect(f.detail).toContain("(5% apart)");
  });

  it("returns nothing for a sweep without KL variants", () => {
    const { runs, curves } = sweep();
    const plain = runs.filter((r) => r.klVariant === "k3:loss").map(({ klVariant: _, ...r }) => r);
    expect(computeGrpoFindings(plain, new Map(plain.map((r, i) => [r.id, [...curves.values()][i]!])))).toEqual([]);
  });
});

describe("computeFindings on a sweep with KL variants", () => {
  it("tests claims (i)–(v) within each variant and tags them", () => {
    const { runs, curves } = sweep();
    const fs = computeFindings(runs, curves);
    const one = fs.filter((f) => f.claim === "i");
    expect(one.map((f) => f.variant)).toEqual(["k3:loss", "k1:reward"]);
    // each variant's β = 0.5 run is compared with its own β = 0 run
    const two = fs.filter((f) => f.claim === "ii");
    expect(two.map((f) => [f.variant, f.verdict])).toEqual([["k3:loss", "SUPPORTED"], ["k1:reward", "SUPPORTED"]]);
    expect(two[1]!.detail).toContain("`beta-0_kl-on-task_k1-in-reward`");
    // the sweep-wide replay-vs-task line reads the same for both variants: listed once
    expect(fs.filter((f) => f.claim === "v" && f.klOn === "all")).toHaveLength(1);
  });

  it("renders one table per variant and the variant in each finding's label", () => {
    const { runs, curves } = sweep();
    const findings = [...computeFindings(runs, curves), ...computeGrpoFindings(runs, curves)];
    const md = renderMarkdown({ command: "c", environment: "e", runs, findings });
    expect(md).toContain("### KL on task, KL k3 in the loss (`--kl-on task`, grpo, 10 steps)");
    expect(md).toContain("### KL on task, KL k1 in the reward (`--kl-on task`, grpo, 10 steps)");
    expect(md).toContain("| claim | KL on task, k3:loss | KL on task, k1:reward | sweep |");
    expect(md).toContain("- KL on task, k1:reward: **SUPPORTED**");
    expect(md).toContain("### (vii) GRPO: one KL placement");
  });
});
