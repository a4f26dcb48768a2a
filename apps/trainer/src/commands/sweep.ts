// `tether-train sweep --beta 0,0.1,… --kl-on task,replay`: one fine-tuning run per (kl-on, β) from the same
// reference, data and seed, then report/ with metrics.jsonl per run, PNG plots and report.md
// (report/index.ts computes the findings from the numbers). With `--sweep-command grpo --kl-variants
// k3:loss,k1:reward` each (kl-on, β) is run once per estimator:placement pair (run ids gain `_k3-in-loss`).
// With --resume, a run whose folder already holds eval.json is read back instead of retrained and one with a
// snapshot continues from it, so a finished sweep's report can be rebuilt (and an interrupted one completed)
// with the same command.
import { existsSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { evalReport } from "@tether/shared/schemas/eval";
import type { KlVariant, TrainerConfig } from "@tether/shared/schemas/trainer-config";
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
  const variants: (KlVariant | undefined)[] = cfg.klVariants ?? [undefined];
  const total = cfg.sweepKlOn.length * variants.length * cfg.sweepBetas.length;
  for (const klOn of cfg.sweepKlOn) {
    for (const variant of variants) {
      for (const beta of cfg.sweepBetas) {
        const id = sweepRunId(beta, klOn, variant);
        log(`tether-train sweep: run ${runs.length + 1}/${total} ${id}`);
        const kl = variant ? { klEstimator: variant.estimator, klIn: variant.in } : {};
        const runCfg: TrainerConfig = { ...cfg, command: cfg.sweepCommand, beta, klOn, ...kl, out: join(dir, "runs", id) };
        const train = cfg.sweepCommand === "grpo" ? grpo : sft;
        const done = join(runCfg.out!, "eval.json");
        // --resume: a finished run is read back, an interrupted one continues from its snapshot, the rest start fresh
        const snapshot = cfg.resume && existsSync(join(runCfg.out!, "snapshot", "state.json"));
        const e = cfg.resume && existsSync(done) ? finishedEval(done, log) : (await train({ ...runCfg, resume: snapshot }, log)).eval;
        runs.push({
          id,
          beta,
          klOn,
          ...(variant ? { klVariant: `${variant.estimator}:${variant.in}` } : {}),
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

/**
 * A sweep run's folder name under `<out>/runs/`.
 * @example sweepRunId(0.1, "task", { estimator: "k1", in: "reward" }) // "beta-0.1_kl-on-task_k1-in-reward"
 */
export function sweepRunId(beta: number, klOn: TrainerConfig["klOn"], variant?: KlVariant): string {
  return `beta-${beta}_kl-on-${klOn}${variant ? `_${variant.estimator}-in-${variant.in}` : ""}`;
}

/** A finished run's final numbers from its eval.json (the fields the sweep summary needs). */
function finishedEval(path: string, log: (line: string) => void) {
  const ev = evalReport.parse(JSON.parse(readFileSync(path, "utf8")));
  log(`tether-train sweep: --resume: ${path} exists, reading it instead of retraining`);
  return { meanTokenKl: ev.kl.mean_token_kl, taskAccuracy: ev.task?.accuracy ?? 0, baseAccuracy: ev.base.accuracy, referenceBaseAccuracy: ev.base.reference_accuracy };
}
