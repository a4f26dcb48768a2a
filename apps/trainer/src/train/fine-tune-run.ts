// The scaffolding sft and grpo share: the anchored pair, held-out sets, optimiser, β controller, LR
// schedule, snapshots, progress and replay batches; per-step bookkeeping; and the final evaluation that
// becomes eval.json in the saved policy checkpoint.
import { join } from "node:path";
import type { Manifest } from "@tether/shared/schemas/manifest";
import type { TrainerConfig } from "@tether/shared/schemas/trainer-config";
import type { BackendName } from "../backend";
import { BASE_DATASET, NEW_TASK_DATASET, bundledDataset, type TaskExample } from "../data/bundled";
import { encodeExamples, shuffledBatches, type EncodedExample, type EpochBatch } from "../data/batches";
import { readSftJsonl } from "../data/jsonl";
import { weightsSha256, type LoadedCheckpoint } from "../checkpoint/save-load";
import type { ModelConfig } from "../model/config";
import { disposeParams } from "../model/params";
import type { Tokenizer } from "../tokenizer/tokenizer";
import { loadAnchoredPair } from "./anchor";
import { BetaController } from "./beta-controller";
import { Adam } from "./optimizer";
import { evaluatePolicy, type PolicyEval } from "./policy-eval";
import { Progress, type MetricRecord } from "./progress";
import { savePolicy } from "./save-policy";
import { learningRate, type LrSchedule } from "./schedule";
import { adamOptions, setupBackend, updateScales } from "./setup";
import { Snapshots } from "./snapshot";

/** Completion budget for evaluation rollouts (answers are ≤ 3 digits + eos). */
export const EVAL_MAX_TOKENS = 8;
/** Examples drawn from a bundled corpus when no file is given. */
export const BUNDLED_EXAMPLES = 10_000;

export interface FineTuneResult {
  dir: string;
  manifest: Manifest;
  eval: PolicyEval;
}

/**
 * @example
 * const run = await FineTuneRun.open(cfg, "sft", log);
 * for (const { step, items } of run.batches(rows)) { … await run.afterStep(step, record, tokens); }
 * return run.finish();
 */
export class FineTuneRun {
  readonly adam: Adam;
  readonly controller: BetaController;
  readonly progress: Progress;
  readonly replayRows: EncodedExample[];
  readonly replayBatches: Generator<EpochBatch<EncodedExample>>;
  private readonly schedule: LrSchedule;
  private readonly snapshots: Snapshots;
  private readonly startStep: number;
  private readonly started = Date.now();
  private readonly taskHeldOut: TaskExample[];
  private readonly baseHeldOut: TaskExample[];
  tokens: number;
  last: Record<string, number> = {};

  private constructor(
    readonly cfg: TrainerConfig,
    readonly command: "sft" | "grpo",
    readonly backend: BackendName,
    readonly reference: LoadedCheckpoint,
    readonly policy: LoadedCheckpoint,
    readonly tok: Tokenizer,
    readonly dir: string,
    private readonly log: (line: string) => void,
  ) {
    const model = policy.config;
    this.replayRows = encodeExamples(
      cfg.replayData ? readSftJsonl(cfg.replayData) : bundledDataset(BASE_DATASET, "train", cfg.seed + 1, BUNDLED_EXAMPLES),
      tok,
      { mode: "sft", maxLength: this.maxLength },
    ).rows;
    this.taskHeldOut = bundledDataset(NEW_TASK_DATASET, "heldout", cfg.seed, cfg.evalSamples);
    this.baseHeldOut = bundledDataset(BASE_DATASET, "heldout", cfg.seed, cfg.evalSamples);
    this.adam = new Adam(policy.params, adamOptions(cfg), updateScales(cfg, model));
    this.controller = new BetaController({ kind: cfg.betaController, beta: cfg.beta, klTarget: cfg.klTarget, horizon: cfg.controllerHorizon, window: cfg.ratioWindow });
    this.schedule = { peak: cfg.lr, floor: cfg.lr * cfg.minLrRatio, warmup: cfg.warmupSteps, total: cfg.steps };
    this.snapshots = new Snapshots(dir, cfg.saveEvery, policy.params, this.adam, this.controller);
    const start = cfg.resume ? this.snapshots.restore() : { step: 0, tokens: 0 };
    this.startStep = start.step;
    this.tokens = start.tokens;
    this.progress = new Progress({ label: `${command} β=${cfg.beta}`, totalSteps: cfg.steps, metricsPath: join(dir, "metrics.jsonl"), resume: cfg.resume, print: log });
    this.replayBatches = shuffledBatches(this.replayRows, { batchSize: cfg.replayBatch, seed: cfg.seed + 1, startStep: start.step });
  }

  static async open(cfg: TrainerConfig, command: "sft" | "grpo", log: (line: string) => void): Promise<FineTuneRun> {
    const backend = await setupBackend(cfg, log);
    const { reference, policy, tokenizer } = loadAnchoredPair(cfg);
    const dir = cfg.out ?? join("runs", `${command}-b${cfg.beta}-${cfg.klOn}-s${cfg.seed}`);
    return new FineTuneRun(cfg, command, backend, reference, policy, tokenizer, dir, log);
  }

  get model(): ModelConfig {
    return this.policy.config;
  }

  get maxLength(): number {
    return Math.min(this.policy.config.maxPositions, this.cfg.seqLen ?? this.policy.config.maxPositions);
  }

  /** Training batches of `items`, resuming at the snapshot's step; stops after --steps. */
  *batches<T>(items: readonly T[]): Generator<EpochBatch<T>> {
    for (const batch of shuffledBatches(items, { batchSize: this.cfg.batch, seed: this.cfg.seed, startStep: this.startStep })) {
      if (batch.step >= this.cfg.steps) return;
      yield batch;
    }
  }

  lr(step: number): number {
    return learningRate(this.schedule, step);
  }

  /** Record a finished step: controller, metrics, periodic held-out eval and snapshot. */
  async afterStep(step: number, record: Record<string, number>, stepTokens: number, controllerInput: { kl: number; reward: number; samples: number }): Promise<void> {
    this.controller.update(controllerInput);
    this.tokens += stepTokens;
    this.last = record;
    this.progress.update({ step: step + 1, ...record }, stepTokens);
    const done = step + 1;
    if (done === this.cfg.fingerprintAt) this.progress.log({ step: done, weights_sha256: weightsSha256(this.model, this.policy.params) });
    if (this.cfg.evalEvery > 0 && done % this.cfg.evalEvery === 0 && done < this.cfg.steps) this.progress.log(evalRecord(done, await this.evaluate()));
    if (this.snapshots.due(done, this.cfg.steps)) this.snapshots.save(done, this.tokens);
  }

  evaluate(): Promise<PolicyEval> {
    return evaluatePolicy(this.policy.params, this.reference.params, this.model, this.tok, this.taskHeldOut, this.baseHeldOut, {
      seed: this.cfg.seed,
      maxNewTokens: EVAL_MAX_TOKENS,
    });
  }

  /** Final evaluation, policy checkpoint with eval.json, and release of every tensor. */
  async finish(): Promise<FineTuneResult> {
    this.progress.stop();
    this.snapshots.clear();
    const result = await this.evaluate();
    this.progress.log(evalRecord(this.cfg.steps, result));
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    this.log(
      `tether-train: held-out KL ${result.meanTokenKl.toFixed(4)} nats/token, task accuracy ${pct(result.taskAccuracy)}` +
        ` (reference ${pct(result.referenceTaskAccuracy)}), base ${pct(result.baseAccuracy)} (reference ${pct(result.referenceBaseAccuracy)})`,
    );
    const { cfg, command, dir, reference, policy, backend, tokens, started, last } = this;
    const manifest = savePolicy({ cfg, command, dir, reference, policy, backend, tokens, started, last, result, evalMaxTokens: EVAL_MAX_TOKENS });
    this.adam.dispose();
    disposeParams(policy.params);
    disposeParams(reference.params);
    return { dir, manifest, eval: result };
  }
}

/**
 * The bundled new task's training problems (sft and grpo without --data): --task-max-left and --task-left-digits
 * widen them, --task-examples draws more of them (the first BUNDLED_EXAMPLES are the default set: one seeded
 * stream); the held-out evaluation set (taskHeldOut) keeps the default task.
 * @example bundledTaskTrain(parseTrainerConfig({ command: "sft", taskMaxLeft: "999", taskLeftDigits: "balanced", taskExamples: "50000" }))
 */
export function bundledTaskTrain(cfg: TrainerConfig): TaskExample[] {
  return bundledDataset(NEW_TASK_DATASET, "train", cfg.seed, cfg.taskExamples ?? BUNDLED_EXAMPLES, {
    ...(cfg.taskMaxLeft !== undefined ? { maxLeft: cfg.taskMaxLeft } : {}),
    ...(cfg.taskLeftDigits !== undefined ? { leftDigits: cfg.taskLeftDigits } : {}),
  });
}

/** The eval line of metrics.jsonl (report/ reads these fields). */
export function evalRecord(step: number, e: PolicyEval): MetricRecord {
  return {
    step,
    heldout_kl: e.meanTokenKl,
    task_accuracy: e.taskAccuracy,
    task_reward: e.taskAccuracy,
    base_accuracy: e.baseAccuracy,
    base_retention: e.referenceBaseAccuracy > 0 ? e.baseAccuracy / e.referenceBaseAccuracy : 1,
  };
}
