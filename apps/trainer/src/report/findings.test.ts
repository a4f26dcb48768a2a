// Tests for the computed findings on synthetic sweeps where each claim is known to hold or fail.
import { describe, expect, it } from "vitest";
import { computeFindings, MIN_RETENTION, operatingPoint, type Finding } from "./findings";
import { parseMetrics, runCurves } from "./metrics";
import { syntheticSweep, type SyntheticOptions } from "./synthetic";
import type { RunCurves, SweepRunSummary } from "./types";

function findingsFor(o: SyntheticOptions, edit?: (runs: SweepRunSummary[]) => void): Finding[] {
  const { runs, metrics } = syntheticSweep(o);
  edit?.(runs);
  const curves = new Map<string, RunCurves>(runs.map((r) => [r.id, runCurves(parseMetrics(metrics.get(r.id)!), r.command)]));
  return computeFindings(runs, curves);
}

const pick = (fs: Finding[], claim: Finding["claim"], klOn: Finding["klOn"] = "task"): Finding => {
  const f = fs.find((x) => x.claim === claim && x.klOn === klOn);
  if (!f) throw new Error(`no finding (${claim}) for ${klOn}`);
  return f;
};

const BETAS = [0, 0.1, 0.2, 0.5, 1, 2];

describe("computeFindings when the literature's claims hold", () => {
  const fs = findingsFor({ betas: BETAS });

  it("(i) β = 0: reward rises, KL unbounded", () => {
    const f = pick(fs, "i");
    expect(f.verdict).toBe("SUPPORTED");
    expect(f.detail).toContain("beta-0_kl-on-task");
    expect(f.detail).toContain("reward rose");
  });

  it("(ii) β = 0.5: KL bounded and reward slower", () => {
    const f = pick(fs, "ii");
    expect(f.verdict).toBe("SUPPORTED");
    expect(f.detail).toContain("beta-0.5_kl-on-task");
    expect(f.detail).not.toContain("nearest");
  });

  it("(iii) retention increasing in β with ρ = 1", () => {
    const f = pick(fs, "iii");
    expect(f.verdict).toBe("SUPPORTED");
    expect(f.detail).toContain("Spearman(β, retention) = 1.000");
  });

  it("(iv) the default retention curve is smooth", () => {
    expect(pick(fs, "iv").verdict).toBe("SUPPORTED");
  });
});

describe("computeFindings from noisy training-batch KL (too few eval lines)", () => {
  const fs = findingsFor({ betas: [0, 0.5, 2], steps: 120, evalEvery: 120 });

  it("tests the smoothed batch KL and still sees growth at β = 0 and a plateau at β = 0.5", () => {
    expect(pick(fs, "i").detail).toContain("KL (kl)");
    expect(pick(fs, "i").verdict).toBe("SUPPORTED");
    expect(pick(fs, "ii").verdict).toBe("SUPPORTED");
  });
});

describe("computeFindings when they do not", () => {
  it("(iii) retention decreasing with β is NOT SUPPORTED with ρ = −1", () => {
    const f = pick(findingsFor({ betas: BETAS, retention: (b) => 0.95 - 0.2 * b }), "iii");
    expect(f.verdict).toBe("NOT SUPPORTED");
    expect(f.detail).toContain("= -1.000");
  });

  it("(iii)/(iv) retention flat within noise is INCONCLUSIVE", () => {
    const fs = findingsFor({ betas: BETAS, retention: (b) => 0.9 + 0.001 * b });
    expect(pick(fs, "iii").verdict).toBe("INCONCLUSIVE");
    expect(pick(fs, "iv").verdict).toBe("INCONCLUSIVE");
  });

  it("(iv) a sharp switch names the adjacent βs where it happens", () => {
    const f = pick(findingsFor({ betas: BETAS, retention: (b) => (b >= 0.5 ? 0.97 : 0.4) }), "iv");
    expect(f.verdict).toBe("NOT SUPPORTED");
    expect(f.detail).toContain("β=0.2 → 0.5: +0.570");
    expect(f.detail).toContain("100% of the spread");
  });

  it("(ii) uses the nearest β and says so; without β = 0 it is INCONCLUSIVE", () => {
    const f = pick(findingsFor({ betas: [0.1, 0.3, 2] }), "ii");
    expect(f.detail).toContain("beta-0.3_kl-on-task");
    expect(f.detail).toContain("nearest β to 0.5");
    expect(f.verdict).toBe("INCONCLUSIVE");
    expect(pick(findingsFor({ betas: [0.1, 0.3, 2] }), "i", "all").verdict).toBe("INCONCLUSIVE");
  });

  it("(i) a β = 0 run whose KL plateaus is NOT SUPPORTED", () => {
    // Relabel the saturating β = 0.5 run as β = 0: its KL is bounded, so "without bound" fails.
    const { runs, metrics } = syntheticSweep({ betas: [0.5, 1, 2] });
    const curves = new Map(runs.map((r) => [r.id, runCurves(parseMetrics(metrics.get(r.id)!), "sft")]));
    runs[0]!.beta = 0;
    const f = pick(computeFindings(runs, curves), "i");
    expect(f.verdict).toBe("NOT SUPPORTED");
    expect(f.detail).toContain("not growing without bound");
  });
});

describe("operating point (v)", () => {
  // task-KL: retention low everywhere; replay-KL: β = 0.2 keeps retention and most of the accuracy.
  const retention = (b: number, k: string): number => (k === "task" ? 0.5 + 0.1 * b : b >= 0.2 ? 0.95 : 0.6);
  const fs = findingsFor({ betas: BETAS, klOn: ["task", "replay"], retention });

  it("finds none for task-KL and the most accurate qualifying replay run", () => {
    expect(pick(fs, "v", "task").verdict).toBe("NOT SUPPORTED");
    expect(pick(fs, "v", "task").detail).toMatch(/^none/);
    const replay = pick(fs, "v", "replay");
    expect(replay.verdict).toBe("SUPPORTED");
    expect(replay.detail).toContain("beta-0.2_kl-on-replay");
    expect(pick(fs, "v", "all").verdict).toBe("SUPPORTED");
  });

  it("applies both constraints and prefers higher accuracy", () => {
    const { runs } = syntheticSweep({ betas: BETAS, klOn: ["replay"], retention });
    const best = Math.max(...runs.map((r) => r.taskAccuracy));
    const op = operatingPoint(runs, best)!;
    expect(op.baseRetention).toBeGreaterThanOrEqual(MIN_RETENTION);
    const rivals = runs.filter((r) => r.baseRetention >= MIN_RETENTION && r.taskAccuracy > op.taskAccuracy);
    expect(rivals).toEqual([]);
    expect(operatingPoint(runs, 0)).toBeUndefined();
  });

  it("is NOT SUPPORTED across the sweep when task-KL also finds one", () => {
    const both = findingsFor({ betas: BETAS, klOn: ["task", "replay"], retention: (b) => (b >= 0.2 ? 0.95 : 0.6) });
    expect(pick(both, "v", "task").detail).toContain("beta-0.2_kl-on-task");
    const f = pick(both, "v", "all");
    expect(f.verdict).toBe("NOT SUPPORTED");
    expect(f.detail).toBe("task-KL finds one; replay-KL finds one.");
  });
});
