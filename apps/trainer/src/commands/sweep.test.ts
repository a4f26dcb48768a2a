import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTrainerConfig } from "@tether/shared/schemas/trainer-config";
import { pretrain } from "./pretrain";
import { sweep, sweepRunId } from "./sweep";

describe("sweep (tiny)", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-sweep-"));
  const reference = join(root, "ref");
  const quiet = () => {};
  beforeAll(async () => {
    await pretrain(parseTrainerConfig({ command: "pretrain", steps: "40", batch: "32", lr: "3e-3", seed: "2", evalSamples: "16", evalEvery: "0", out: reference }), quiet);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("runs every (kl-on, β) and writes metrics per run, PNG plots and a report table", async () => {
    const out = join(root, "report");
    const cfg = parseTrainerConfig({ command: "sweep", reference, beta: "0,2", klOn: "task,replay", steps: "8", batch: "8", lr: "3e-3", seed: "1", evalSamples: "16", evalEvery: "4", out });
    const result = await sweep(cfg, quiet, ["sweep", "--beta", "0,2"]);
    expect(result.runs.map((r) => r.id)).toEqual(["beta-0_kl-on-task", "beta-2_kl-on-task", "beta-0_kl-on-replay", "beta-2_kl-on-replay"]);
    for (const r of result.runs) expect(existsSync(join(out, "runs", r.id, "metrics.jsonl"))).toBe(true);
    for (const png of ["kl_vs_step.png", "reward_vs_step.png", "kl_vs_reward.png", "retention_vs_beta.png"]) {
      const bytes = readFileSync(join(out, png));
      expect(bytes.subarray(1, 4).toString("latin1")).toBe("PNG");
    }
    const md = readFileSync(result.reportPath, "utf8");
    expect(md).toContain("npm run train -- sweep --beta 0,2");
    // the β = 2 run of each kl-on appears in the table with its measured KL
    const run = result.runs.find((r) => r.id === "beta-2_kl-on-task")!;
    expect(md).toContain(run.finalKl.toFixed(4));
    // --resume reads the finished runs' eval.json back instead of retraining, and rewrites the report
    const lines: string[] = [];
    const again = await sweep({ ...cfg, resume: true }, (l) => lines.push(l), ["sweep", "--resume"]);
    expect(again.runs).toEqual(result.runs);
    expect(lines.filter((l) => l.includes("reading it instead of retraining"))).toHaveLength(4);
    expect(readFileSync(again.reportPath, "utf8")).toContain("npm run train -- sweep --resume");
  });

  it("a grpo sweep runs each β once per --kl-variants pair, with that estimator and placement", async () => {
    const out = join(root, "grpo");
    const cfg = parseTrainerConfig({
      command: "sweep", sweepCommand: "grpo", reference, beta: "0.5", klVariants: "k3:loss,k1:reward", steps: "2", batch: "2", groupSize: "2",
      maxNewTokens: "4", seed: "1", evalSamples: "8", evalEvery: "0", out,
    });
    const result = await sweep(cfg, quiet, ["sweep"]);
    expect(result.runs.map((r) => [r.id, r.klVariant])).toEqual([["beta-0.5_kl-on-task_k3-in-loss", "k3:loss"], ["beta-0.5_kl-on-task_k1-in-reward", "k1:reward"]]);
    for (const [id, estimator, klIn] of [["beta-0.5_kl-on-task_k3-in-loss", "k3", "loss"], ["beta-0.5_kl-on-task_k1-in-reward", "k1", "reward"]]) {
      const manifest = readFileSync(join(out, "runs", id!, "manifest.json"), "utf8");
      expect(manifest).toContain(`"klEstimator": "${estimator}"`);
      expect(manifest).toContain(`"klIn": "${klIn}"`);
    }
    expect(readFileSync(result.reportPath, "utf8")).toContain("### (vii) GRPO: one KL placement");
  });
});

describe("sweepRunId", () => {
  it("names a run by β and kl-on, plus the KL variant when the sweep has that axis", () => {
    expect(sweepRunId(0.5, "replay")).toBe("beta-0.5_kl-on-replay");
    expect(sweepRunId(0, "task", { estimator: "k3", in: "loss" })).toBe("beta-0_kl-on-task_k3-in-loss");
    expect(sweepRunId(0.1, "task", { estimator: "k1", in: "reward" })).toBe("beta-0.1_kl-on-task_k1-in-reward");
  });
});
