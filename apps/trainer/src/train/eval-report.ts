// eval.json from a policy evaluation (schema: packages/shared/src/schemas/eval.ts).
import { evalReport, type EmpiricalDistribution, type EvalReport } from "@tether/shared/schemas/eval";
import { issueLines } from "@tether/shared/schemas/common";
import type { PolicyEval } from "./policy-eval";

const QUANTILES = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99];

/**
 * Exact empirical quantiles (linear interpolation between order statistics, numpy's default "linear").
 * @example empirical([3, 1, 2]).quantiles.find((q) => q.q === 0.5)!.value // 2
 */
export function empirical(values: readonly number[]): EmpiricalDistribution {
  if (values.length === 0) throw new Error("empirical: no values");
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => {
    const h = (sorted.length - 1) * q;
    const lo = Math.floor(h);
    return sorted[lo]! + (h - lo) * (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!);
  };
  return {
    count: sorted.length,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    quantiles: QUANTILES.map((q) => ({ q, value: at(q) })),
  };
}

export interface EvalReportInput {
  checkpointId: string;
  referenceId: string;
  backend: string;
  source: string;
  seed: number;
  maxTokens: number;
  taskName: string;
  baseName: string;
  baseSamples: number;
  result: PolicyEval;
}

/** Build and validate eval.json. */
export function buildEvalReport(i: EvalReportInput): EvalReport {
  const r = i.result;
  const raw = {
    checkpoint_id: i.checkpointId,
    reference_id: i.referenceId,
    created_at: new Date().toISOString(),
    backend: i.backend,
    held_out: {
      source: i.source,
      samples: r.perRequestKlMean.length,
      completion_tokens: r.completionTokens,
      seed: i.seed,
      max_tokens: i.maxTokens,
      temperature: 1,
    },
    kl: {
      mean_token_kl: r.meanTokenKl,
      per_request_kl_mean: empirical(r.perRequestKlMean),
      per_request_kl_max: empirical(r.perRequestKlMax),
    },
    task: {
      name: i.taskName,
      samples: r.perRequestKlMean.length,
      reward_mean: r.taskAccuracy,
      accuracy: r.taskAccuracy,
      reference_reward_mean: r.referenceTaskAccuracy,
      reference_accuracy: r.referenceTaskAccuracy,
    },
    base: {
      name: i.baseName,
      samples: i.baseSamples,
      accuracy: r.baseAccuracy,
      reference_accuracy: r.referenceBaseAccuracy,
      retention: r.referenceBaseAccuracy > 0 ? r.baseAccuracy / r.referenceBaseAccuracy : 1,
    },
  };
  const parsed = evalReport.safeParse(raw);
  if (!parsed.success) throw new Error(`eval.json: ${issueLines(parsed.error).join("; ")}`);
  return parsed.data;
}
