// `tether-train sweep --beta 0,0.1,… --kl-on task,replay`: one fine-tuning run per (kl-on, β) from the same
// reference, data and seed, then report/ with metrics.jsonl per run, PNG plots and report.md
// (report/index.ts computes the findings from the numbers).
import { cpus } from "node:os";
import { join } from "node:path";
import type { TrainerConfig } from "@tether/shared/schemas/trainer-config";
import { writeSweepReport, type SweepRunSummary } from "../report/index";
import { setupBackend } from "../train/setup";
import { grpo } from "./grpo";
import { sft } from "./sft";

export interface SweepResult {
  dir: string;
  reportPath: string;
  runs: SweepRunSummary[];
}

/**
 * @example await sweep(parseTrainerConfig({ command: "sweep", reference: "ref", beta: "0,0.5", klOn: "task,replay" }))
 */
export async function sweep(cfg: TrainerConfig, log: (line: string) => void = console.error, argv = process.argv.slice(2)): Promise<SweepResult> {
  const backend = await setupBackend(cfg, log);
  const dir = cfg.out ?? "report";
  const runs: SweepRunSummary[] = [];
  const total = cfg.sweepKlOn.length * cfg.sweepBetas.length;
  for (const klOn of cfg.sweepKlOn) {
    for (const beta of cfg.sweepBetas) {
      const id = `beta-${beta}_kl-on-${klOn}`;
      log(`tether-train sweep: run ${runs.length + 1}/${total} ${id}`);
      const runCfg: TrainerConfig = { ...cfg, command: cfg.sweepCommand, beta, klOn, out: join(dir, "runs", id) };
      const train = cfg.sweepCommand === "grpo" ? grpo : sft;
      const { eval: e } = await train(runCfg, log);
      runs.push({
        id,
        beta,
        klOn,
        command: cfg.sweepCommand,
        steps: cfg.steps,
        finalKl: e.meanTokenKl,
        taskReward: e.taskAccuracy,
        taskAccuracy: e.taskAccuracy,
        baseAccuracy: e.baseAccuracy,
        referenceBaseAccuracy: e.referenceBaseAccuracy,
        baseRetention: e.referenceBaseAccuracy > 0 ? e.baseAccuracy / e.referenceBaseAccuracy : 1,
      });
    }
  }
  const cpu = cpus();
  const { reportPath } = await writeSweepReport({
    dir,
    runs,
    command: `npm run train -- ${argv.join(" ")}`,
    environment: `${cpu[0]?.model ?? "cpu"} × ${cpu.length} · tfjs backend ${backend} · Node ${process.version}`,
  });
  log(`tether-train sweep: wrote ${reportPath}`);
  return { dir, reportPath, runs };
}
