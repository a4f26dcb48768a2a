// <ckpt>/eval.json: held-out evaluation of a checkpoint against its reference. The promotion gate reads
// the summary numbers; the drift guard reads the distribution of per-request kl_mean to set its default
// max_kl as a high percentile of what a healthy policy produces (SPEC "drift guard", point 6).
//
// KL here is always KL(π_θ‖π_ref) in nats per completion token, computed exactly from full raw
// distributions, i.e. the same quantity the gateway reports as drift.kl_mean.

import { z } from "zod";
import { checkpointId } from "./manifest";
import { int, isoTimestamp, real, text } from "./common";

const fraction = real(0, 1);

/**
 * The empirical distribution of a per-request statistic over the held-out set, as quantiles.
 * Between stored points `quantileAt` interpolates linearly; min and max are the q = 0 and q = 1 ends.
 */
export const empiricalDistribution = z
  .strictObject({
    count: int(1), // requests the distribution was computed from
    mean: real(), // arithmetic mean of the statistic
    min: real(), // q = 0
    max: real(), // q = 1
    // Increasing q in (0, 1); values non-decreasing. Writers should include at least 0.5, 0.9, 0.95, 0.99.
    quantiles: z.array(z.strictObject({ q: real({ value: 0, exclusive: true }, { value: 1, exclusive: true }), value: real() })),
  })
  .superRefine((d, ctx) => {
    let prevQ = 0;
    let prevV = d.min;
    d.quantiles.forEach(({ q, value }, i) => {
      if (q <= prevQ) ctx.addIssue({ code: "custom", path: ["quantiles", i, "q"], message: `must be greater than the previous q (${prevQ})` });
      if (value < prevV) ctx.addIssue({ code: "custom", path: ["quantiles", i, "value"], message: `must be ≥ the previous value (${prevV})` });
      prevQ = q;
      prevV = value;
    });
    if (d.max < prevV) ctx.addIssue({ code: "custom", path: ["max"], message: `must be ≥ every quantile and min (${prevV})` });
    if (d.mean < d.min || d.mean > d.max) ctx.addIssue({ code: "custom", path: ["mean"], message: "must lie in [min, max]" });
  });
export type EmpiricalDistribution = z.infer<typeof empiricalDistribution>;

/**
 * The q-quantile (q in [0, 1]) of a stored distribution, interpolating linearly between stored points.
 * @example quantileAt(evalJson.kl.per_request_kl_mean, 0.99) // default max_kl at the 99th percentile
 */
export function quantileAt(d: EmpiricalDistribution, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`q must be in [0, 1] (got ${q})`);
  const points = [{ q: 0, value: d.min }, ...d.quantiles, { q: 1, value: d.max }];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    if (q <= b.q) return b.q === a.q ? b.value : a.value + ((q - a.q) / (b.q - a.q)) * (b.value - a.value);
  }
  return d.max;
}

/** How the held-out completions were produced; the distribution depends on all of these. */
export const evalHeldOut = z.strictObject({
  source: text(), // data set name or file, e.g. "bundled:arith-heldout" or "data/heldout.jsonl"
  samples: int(1), // held-out prompts (= requests) evaluated
  completion_tokens: int(0), // tokens the KL mean is averaged over
  seed: int(), // sampling seed
  max_tokens: int(1), // completion budget per request
  temperature: real(0, 2), // sampling temperature (1 = the policy's own distribution, as the gateway default)
  top_p: real({ value: 0, exclusive: true }, 1).default(1),
});
export type EvalHeldOut = z.infer<typeof evalHeldOut>;

/** KL of the checkpoint to its reference on the held-out completions. */
export const evalKl = z.strictObject({
  // Σ over all completion tokens of KL(π_θ‖π_ref) ÷ completion_tokens (nats/token): the headline number.
  mean_token_kl: real(0),
  // Distribution over requests of each request's kl_mean (nats/token): the drift guard's calibration.
  per_request_kl_mean: empiricalDistribution,
  // Distribution over requests of each request's max token KL (nats); optional, for alert thresholds.
  per_request_kl_max: empiricalDistribution.optional(),
});
export type EvalKl = z.infer<typeof evalKl>;

/**
 * The policy's own sketch scores on the held-out requests: per monitored layer, the distribution over requests
 * of the percentile score (0–100, ranked in the reference's sketch.json exactly as the gateway logs it). The
 * monitor's default sketch rule is relative to it: sketch.json is calibrated on the reference's base corpus,
 * and traffic unlike that corpus (a new task) scores near 100 even on the reference itself, so a threshold on
 * the reference's own percentiles fires on healthy traffic.
 */
export const evalSketch = z.strictObject({
  per_request_percentile: z
    .array(z.strictObject({ layer: int(0), distribution: empiricalDistribution }))
    .min(1)
    .refine((ls) => new Set(ls.map((l) => l.layer)).size === ls.length, { error: "layers must be distinct" }),
});
export type EvalSketch = z.infer<typeof evalSketch>;

/** The new task the checkpoint was trained for. */
export const evalTask = z.strictObject({
  name: text(), // e.g. "reverse-words"
  samples: int(1), // held-out task prompts
  reward_mean: real(), // mean verifiable reward (task units; 0/1 rewards make it equal accuracy)
  accuracy: fraction.nullable(), // exact-match rate in [0, 1]; null when the task has no exact answer
  reference_reward_mean: real().optional(), // the reference's score, to see what training gained
  reference_accuracy: fraction.nullable().optional(),
});
export type EvalTask = z.infer<typeof evalTask>;

/** The base task the reference was pretrained on: how much of it survived fine-tuning. */
export const evalBase = z.strictObject({
  name: text(), // e.g. "arith"
  samples: int(1),
  accuracy: fraction, // this checkpoint's accuracy on base-task prompts
  reference_accuracy: fraction, // the reference's accuracy on the same prompts
  // accuracy ÷ reference_accuracy (1 = nothing forgotten; may exceed 1); 1 when reference_accuracy = 0.
  retention: real(0),
  loss: real(0).optional(), // mean next-token cross-entropy on base-corpus text (nats/token)
});
export type EvalBase = z.infer<typeof evalBase>;

/**
 * eval.json.
 * @example const ev = evalReport.parse(json); quantileAt(ev.kl.per_request_kl_mean, 0.99)
 */
export const evalReport = z
  .strictObject({
    schema_version: z.literal(1).default(1),
    checkpoint_id: checkpointId, // the manifest id this evaluates; the gate refuses a mismatch
    reference_id: checkpointId.nullable(), // the reference KL is measured against; null for a reference itself
    created_at: isoTimestamp,
    backend: text().optional(), // where it was computed ("onnxruntime-node", "tensorflow"…)
    held_out: evalHeldOut,
    kl: evalKl,
    task: evalTask.nullable(), // null for a reference (it was not trained on a new task)
    base: evalBase,
    sketch: evalSketch.optional(), // absent: no default sketch alert rule (monitor/default-rules.ts)
  })
  .superRefine((e, ctx) => {
    if (e.reference_id === e.checkpoint_id) ctx.addIssue({ code: "custom", path: ["reference_id"], message: "must differ from checkpoint_id" });
    if (e.kl.per_request_kl_mean.count !== e.held_out.samples) {
      ctx.addIssue({ code: "custom", path: ["kl", "per_request_kl_mean", "count"], message: `must equal held_out.samples (${e.held_out.samples})` });
    }
  });
export type EvalReport = z.infer<typeof evalReport>;

/**
 * Thresholds a policy must meet to be promoted; null = not checked. Lives in the gateway config under
 * `promotion` (SPEC: promotion.kl_budget, promotion.retention_floor).
 */
export const promotionGates = z.strictObject({
  require_eval: z.boolean().default(true), // refuse a checkpoint without a valid eval.json (force overrides)
  kl_budget: real({ value: 0, exclusive: true }).nullable().default(null), // max held-out kl.mean_token_kl, nats/token
  retention_floor: real(0).nullable().default(0.9), // min base.retention: keep ≥ 90% of the reference's base accuracy
  min_task_accuracy: fraction.nullable().default(null),
});
export type PromotionGates = z.infer<typeof promotionGates>;

/** One checked threshold: the eval.json number next to its configured limit. */
export interface GateCheck {
  gate: "kl_budget" | "retention_floor" | "min_task_accuracy" | "checkpoint_id" | "reference_id" | "eval";
  metric: string; // eval.json field
  value: number | string | null;
  limit: number | string | null;
  passed: boolean;
  message: string;
}

/**
 * Every configured gate on an eval.json, passed or not (the admin API shows both; audit rows keep them).
 * @example promotionGateChecks(ev, gates, ids).filter((c) => !c.passed)
 */
export function promotionGateChecks(
  ev: EvalReport | null,
  gates: PromotionGates,
  expect: { checkpointId: string; referenceId: string | null },
): GateCheck[] {
  if (!ev) {
    return gates.require_eval ? [{ gate: "eval", metric: "eval.json", value: null, limit: "present and valid", passed: false, message: "eval.json: missing or invalid" }] : [];
  }
  const checks: GateCheck[] = [];
  const same = (gate: "checkpoint_id" | "reference_id", value: string | null, limit: string | null) =>
    checks.push({ gate, metric: gate, value, limit, passed: value === limit, message: `eval.json: ${gate} ${value} ≠ ${limit}` });
  same("checkpoint_id", ev.checkpoint_id, expect.checkpointId);
  same("reference_id", ev.reference_id, expect.referenceId);
  const kl = ev.kl.mean_token_kl;
  if (gates.kl_budget !== null) {
    checks.push({ gate: "kl_budget", metric: "kl.mean_token_kl", value: kl, limit: gates.kl_budget, passed: kl <= gates.kl_budget, message: `kl.mean_token_kl ${kl} > kl_budget ${gates.kl_budget}` });
  }
  const retention = ev.base.retention;
  if (gates.retention_floor !== null) {
    const passed = retention >= gates.retention_floor;
    checks.push({ gate: "retention_floor", metric: "base.retention", value: retention, limit: gates.retention_floor, passed, message: `base.retention ${retention} < retention_floor ${gates.retention_floor}` });
  }
  if (gates.min_task_accuracy !== null) {
    const acc = ev.task?.accuracy ?? null;
    const passed = acc !== null && acc >= gates.min_task_accuracy;
    checks.push({ gate: "min_task_accuracy", metric: "task.accuracy", value: acc, limit: gates.min_task_accuracy, passed, message: `task.accuracy ${acc} < min_task_accuracy ${gates.min_task_accuracy}` });
  }
  return checks;
}

/**
 * The gate: one line per failed threshold; empty means the checkpoint may be promoted.
 * @example promotionGateFailures(ev, gates, { checkpointId: "p1", referenceId: "r1" })
 */
export function promotionGateFailures(
  ev: EvalReport | null,
  gates: PromotionGates,
  expect: { checkpointId: string; referenceId: string | null },
): string[] {
  return promotionGateChecks(ev, gates, expect)
    .filter((c) => !c.passed)
    .map((c) => c.message);
}
