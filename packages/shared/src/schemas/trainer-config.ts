// The trainer's one typed config, parsed from `tether-train <command> [flags]`. Keys are the flags in
// camelCase (--group-size → groupSize); numeric flags may arrive as the strings util.parseArgs yields.
// Defaults are chosen for the `tiny`/`small` presets on a CPU; every range says why it is there.

import { z } from "zod";
import { bool, ConfigError, formatPath, int, issueLines, oneOf, real, text } from "./common";
import { type FreezeSpec, NO_FREEZE, parseFreezeSpec } from "./freeze-spec";
import { ParameterError } from "../errors";

export const TRAINER_COMMANDS = ["pretrain", "sft", "grpo", "sweep", "export", "import-hf"] as const;
export type TrainerCommand = (typeof TRAINER_COMMANDS)[number];
const KL_ON = ["task", "replay", "both"] as const;

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A CLI string that spells a number becomes that number; anything else is left for the schema to reject. */
function numeric<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (typeof v === "string" && DECIMAL.test(v.trim()) ? Number(v) : v), schema);
}

/** A CLI boolean: parseArgs gives true/false; "true"/"false" from a config file are accepted too. */
const flag = z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), bool());

/**
 * A comma-separated list of numbers, each checked against [min, max]; errors name the entry.
 * @example parseNumberList("beta", "0,0.1,2", 0) // [0, 0.1, 2]
 */
export function parseNumberList(param: string, text: string, min = -Infinity, max = Infinity): number[] {
  const entries = text.split(",").map((s) => s.trim());
  if (text.trim() === "") throw new ParameterError(param, "must be a comma-separated list of numbers", text);
  return entries.map((entry) => {
    const v = DECIMAL.test(entry) ? Number(entry) : NaN;
    if (!(v >= min && v <= max)) {
      const range = Number.isFinite(max) ? `in [${min}, ${max}]` : `≥ ${min}`;
      throw new ParameterError(param, `entry ${JSON.stringify(entry)} must be a number ${range}`);
    }
    return v;
  });
}

/** --freeze as text (parsed) or as an already-parsed FreezeSpec (a config stored in manifest.json). */
const freezeField = z.union([
  z.strictObject({ layers: z.record(z.string().regex(/^\d+$/), real(0, 1)), rest: real(0, 1) }),
  z.string().transform((s, ctx): FreezeSpec => {
    try {
      return parseFreezeSpec(s);
    } catch (e) {
      ctx.issues.push({ code: "custom", input: s, message: (e as Error).message.replace(/^freeze /, "") });
      return z.NEVER;
    }
  }),
]);

/** A comma list (or array) of --kl-on values, for `sweep`. */
const klOnList = z.preprocess(
  (v) => (typeof v === "string" ? v.split(",").map((s) => s.trim()) : v),
  z.array(oneOf(KL_ON)).min(1, { error: "must name at least one of task, replay, both" }),
);

/** How a GRPO run takes its KL: a sampled estimator (k1|k2|k3) in the loss or subtracted from the reward. */
export interface KlVariant {
  estimator: "k1" | "k2" | "k3";
  in: "loss" | "reward";
}

/**
 * `--kl-variants k3:loss,k1:reward` (sweep's second GRPO axis): a comma list of estimator:placement pairs.
 * @example klVariantList.parse("k3:loss,k1:reward") // [{ estimator: "k3", in: "loss" }, { estimator: "k1", in: "reward" }]
 */
const klVariantList = z.preprocess(
  (v) => (typeof v === "string" ? v.split(",").map((s) => s.trim()) : v),
  z
    .array(
      z.union([
        z.strictObject({ estimator: oneOf(["k1", "k2", "k3"]), in: oneOf(["loss", "reward"]) }),
        z.string().transform((s, ctx): KlVariant => {
          const m = /^(k[123]):(loss|reward)$/.exec(s);
          if (!m) {
            ctx.issues.push({ code: "custom", input: s, message: `entry ${JSON.stringify(s)} must be <k1|k2|k3>:<loss|reward>, e.g. k3:loss` });
            return z.NEVER;
          }
          return { estimator: m[1] as KlVariant["estimator"], in: m[2] as KlVariant["in"] };
        }),
      ]),
    )
    .min(1, { error: "must name at least one estimator:placement pair" }),
);

/** A comma list (or array) of β values ≥ 0, for `sweep`. */
const betaList = z.preprocess(
  (v) => (typeof v === "string" ? v.split(",").map((s) => s.trim()) : v),
  z.array(numeric(real(0, 1000))).min(1, { error: "must name at least one β" }),
);

const base = z.strictObject({
  // --- what to do ------------------------------------------------------------------------------
  command: oneOf(TRAINER_COMMANDS),
  input: text().optional(), // positional: the checkpoint for `export`, the HF folder for `import-hf`
  preset: text().default("tiny"), // "tiny" (~100k params, CI), "demo" (d=128, 3 layers, ~0.6M), "small" (d=256, 4 layers) or a path to a Qwen2 config.json
  reference: text().optional(), // frozen reference checkpoint dir: the KL anchor (required by sft, grpo, sweep)
  init: text().optional(), // checkpoint whose weights start training; default: the reference (or random for pretrain)
  data: text().optional(), // JSONL: {"prompt","completion"} for sft, {"prompt","answer"} for grpo; default: bundled task
  // without --data, sft/grpo train on the bundled new task; these two widen its training problems only (the held-out
  // evaluation stays 0–99 × one digit, and no held-out prompt is ever drawn: the split is by hash of the prompt)
  taskMaxLeft: numeric(int(0, 10_000_000)).optional(), // largest left operand of the training products; default 99
  taskLeftDigits: oneOf(["uniform", "balanced"]).optional(), // left operand: uniform over 0..taskMaxLeft (default), or each digit count equally likely
  taskExamples: numeric(int(1, 10_000_000)).optional(), // training products drawn (repeats allowed); default 10,000. More distinct problems, less to memorise
  out: text().optional(), // output dir; default chosen by the trainer (runs/<command>-<id>)
  backend: oneOf(["auto", "node-gpu", "node", "wasm", "cpu"]).default("auto"), // auto: node-gpu, else node, else wasm, else cpu
  // data-parallel replicas (worker threads, each its own backend) for pretrain, sft, grpo; auto = physical cores
  workers: z.union([z.literal("auto"), numeric(int(1, 256))]).default(1),

  // --- optimisation (Adam, warmup + cosine) ------------------------------------------------------
  steps: numeric(int(1, 10_000_000)).default(1000), // optimiser steps
  batch: numeric(int(1, 4096)).default(16), // sequences per step (GRPO: prompts per step, each sampled groupSize times)
  seqLen: numeric(int(2, 1 << 20)).optional(), // tokens per training sequence; default min(preset context, 256)
  lr: numeric(real({ value: 0, exclusive: true }, 1)).default(3e-4), // peak learning rate
  minLrRatio: numeric(real(0, 1)).default(0.1), // cosine decays to lr·minLrRatio (nanoGPT: min_lr = lr/10)
  warmupSteps: numeric(int(0)).optional(), // linear warmup; default min(100, steps/10); must be ≤ steps
  gradClip: numeric(real(0)).default(1), // max global gradient L2 norm; 0 = off
  weightDecay: numeric(real(0, 1)).default(0), // decoupled (AdamW) decay per step ÷ lr; 0 = plain Adam
  adamBeta1: numeric(real(0, { value: 1, exclusive: true })).default(0.9), // first-moment decay (< 1 or Adam diverges)
  adamBeta2: numeric(real(0, { value: 1, exclusive: true })).default(0.95), // second-moment decay; 0.95 as nanoGPT for small batches
  seed: numeric(int(0, Number.MAX_SAFE_INTEGER)).default(42), // data order, init, sampling: same seed → same weights on a backend

  // --- KL anchor ---------------------------------------------------------------------------------
  beta: numeric(real(0, 1000)).default(0.1), // β: weight of the KL term; 0 = unanchored (β < 0 would reward drift)
  // forward = KL(π_ref‖π_θ) (mass-covering), reverse = KL(π_θ‖π_ref) (mode-seeking; what the gateway measures)
  kl: oneOf(["forward", "reverse", "mixed"]).default("reverse"),
  klMix: numeric(real(0, 1)).default(0.5), // λ for mixed: λ·forward + (1 − λ)·reverse (as math/kl.ts)
  klEstimator: oneOf(["k1", "k2", "k3"]).default("k3"), // GRPO's sampled estimator (Schulman 2020); k3 is unbiased and ≥ 0
  klIn: oneOf(["loss", "reward"]).default("loss"), // GRPO: KL as a loss term (DeepSeekMath) or subtracted from the reward (InstructGPT)
  klOn: oneOf(KL_ON).default("task"), // batch the KL is computed on: fine-tuning batch, base-corpus replay, or both
  replayData: text().optional(), // replay prompts (JSONL); default: the bundled base corpus
  replayBatch: numeric(int(1, 4096)).optional(), // replay sequences per step; default = batch
  freeze: freezeField.default(NO_FREEZE), // per-layer gradient scales α_l, e.g. "0:0,1:0.1,*:1"

  // --- β controller ------------------------------------------------------------------------------
  betaController: oneOf(["fixed", "target", "ratio"]).default("fixed"),
  klTarget: numeric(real({ value: 0, exclusive: true })).default(0.1), // target: KL the controller steers to (nats/token)
  controllerHorizon: numeric(int(1)).default(10_000), // target: Ziegler's horizon (steps·batch) in β ← β(1 + e·n/H)
  ratioWindow: numeric(int(2, 100_000)).default(50), // ratio: steps over which KL and reward growth rates are compared

  // --- GRPO --------------------------------------------------------------------------------------
  groupSize: numeric(int(2, 256)).default(8), // G samples per prompt; ≥ 2 or the group-normalised advantage is 0/0
  clipEps: numeric(real({ value: 0, exclusive: true }, { value: 1, exclusive: true })).default(0.2), // PPO ratio clip ε
  maxNewTokens: numeric(int(1, 4096)).default(32), // completion budget per rollout (tokens)
  sampleTemperature: numeric(real({ value: 0, exclusive: true }, 2)).default(1), // rollout temperature; 1 = on-policy

  // --- bookkeeping -------------------------------------------------------------------------------
  logEvery: numeric(int(1)).default(10), // steps between metrics.jsonl lines / progress updates
  evalEvery: numeric(int(0)).default(100), // steps between held-out evals; 0 = only at the end
  evalSamples: numeric(int(1, 100_000)).default(64), // held-out prompts per eval (eval.json's sample count)
  saveEvery: numeric(int(0)).default(0), // steps between resumable snapshots; 0 = only at the end
  fingerprintAt: numeric(int(0)).default(0), // after this step, log the weights' sha256 to metrics.jsonl (a rerun of the prefix can be checked against it); 0 = off
  resume: flag.default(false), // continue from the snapshot in --out

  // --- sweep and export --------------------------------------------------------------------------
  sweepBetas: betaList.default([0, 0.1, 0.2, 0.3, 0.5, 1, 2]), // sweep: `--beta 0,0.1,…`
  sweepKlOn: klOnList.default(["task"]), // sweep: `--kl-on task,replay`
  sweepCommand: oneOf(["sft", "grpo"]).default("sft"), // sweep: the training each run performs
  // sweep with grpo: a second axis of KL estimator:placement pairs, e.g. k3:loss,k1:reward; default: --kl-estimator:--kl-in
  klVariants: klVariantList.optional(),
  onnxVariant: oneOf(["auto", "standard", "fused"]).default("auto"), // export: graph variant; auto = fastest that passes parity
  quantize: oneOf(["none", "int8", "int4"]).default("none"), // export: also write onnx/model_<int8|int4>.onnx (weight-only), measured against fp32 (tolerances in export/quantize-eval.ts)
});

/** Config keys that are CLI flags (camelCase; `--group-size` is groupSize). command/input are positional. */
export const TRAINER_FLAG_KEYS: readonly string[] = Object.keys(base.shape).filter(
  (k) => !["command", "input", "sweepBetas", "sweepKlOn"].includes(k),
);

/** `sweep --beta 0,0.1 --kl-on task,replay`: the list flags feed sweepBetas/sweepKlOn, not the single-run fields. */
function routeSweepLists(raw: unknown): unknown {
  if (typeof raw !== "object" || raw === null || (raw as { command?: unknown }).command !== "sweep") return raw;
  const { beta, klOn, ...rest } = raw as Record<string, unknown>;
  return { ...rest, ...(beta === undefined ? {} : { sweepBetas: beta }), ...(klOn === undefined ? {} : { sweepKlOn: klOn }) };
}

/**
 * The trainer config. Parse the object built from argv (flags camelCased, positional as `input`).
 * @example trainerConfig.parse({ command: "sft", reference: "models/demo/reference", beta: "0.2" })
 */
export const trainerConfig = z.preprocess(
  routeSweepLists,
  base
    .superRefine((c, ctx) => {
      const needsReference = c.command === "sft" || c.command === "grpo" || c.command === "sweep";
      if (needsReference && c.reference === undefined) {
        ctx.addIssue({ code: "custom", path: ["reference"], message: `is required for ${c.command} (the KL anchor)` });
      }
      if ((c.command === "export" || c.command === "import-hf") && c.input === undefined) {
        ctx.addIssue({ code: "custom", path: ["input"], message: `is required: tether-train ${c.command} <${c.command === "export" ? "ckpt" : "dir"}>` });
      }
      if (c.betaController !== "fixed" && c.beta === 0 && c.command !== "sweep") {
        ctx.addIssue({ code: "custom", path: ["beta"], message: `must be > 0 with --beta-controller ${c.betaController} (a multiplicative update keeps β = 0 at 0)` });
      }
      if (c.klIn === "reward" && c.command === "sft") {
        ctx.addIssue({ code: "custom", path: ["klIn"], message: 'must be "loss" for sft (there is no reward to subtract it from)' });
      }
      if (c.klVariants !== undefined && (c.command !== "sweep" || c.sweepCommand !== "grpo")) {
        ctx.addIssue({ code: "custom", path: ["klVariants"], message: "is a sweep axis for --sweep-command grpo (a single run takes --kl-estimator and --kl-in)" });
      }
      if (c.warmupSteps !== undefined && c.warmupSteps > c.steps) {
        ctx.addIssue({ code: "custom", path: ["warmupSteps"], message: `must be ≤ steps (${c.warmupSteps} > ${c.steps})` });
      }
    })
    .transform((c) => ({
      ...c,
      warmupSteps: c.warmupSteps ?? Math.min(100, Math.floor(c.steps / 10)),
      replayBatch: c.replayBatch ?? c.batch,
    })),
);
export type TrainerConfig = z.infer<typeof trainerConfig>;
export type TrainerConfigInput = z.input<typeof base>;

/** "groupSize" → "--group-size"; "input" → "<input>" (the positional argument). */
export function flagName(path: readonly PropertyKey[]): string {
  const [head, ...rest] = path;
  if (head === undefined) return "";
  if (head === "input" || head === "command") return `<${head}>`;
  const name = `--${String(head).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const sweepAlias = head === "sweepBetas" ? "--beta" : head === "sweepKlOn" ? "--kl-on" : name;
  const tail = formatPath(rest);
  return tail === "" || tail.startsWith("[") ? `${sweepAlias}${tail}` : `${sweepAlias}.${tail}`;
}

/**
 * Parses argv-derived flags; throws a ConfigError with one line per problem, each naming its flag.
 * @example parseTrainerConfig({ command: "sft", beta: "-1" }) // throws "--beta: must be a number in [0, 1000] (got -1)…"
 */
export function parseTrainerConfig(raw: unknown): TrainerConfig {
  const result = trainerConfig.safeParse(raw);
  if (!result.success) throw new ConfigError("trainer flags", issueLines(result.error, flagName));
  return result.data;
}
