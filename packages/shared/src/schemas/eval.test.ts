import { describe, expect, it } from "vitest";
import { z } from "zod";
import { formatPath, issueLines } from "./common";
import { empiricalDistribution, evalReport, promotionGateChecks, promotionGateFailures, promotionGates, quantileAt } from "./eval";
import { policyEval } from "../../../../test/support/schema-documents";

const problems = (value: unknown) =>
  issueLines(evalReport.safeParse(value).error ?? new z.ZodError([]));

describe("evalReport", () => {
  it("parses a policy's eval.json", () => {
    const ev = evalReport.parse(policyEval());
    expect(ev.kl.per_request_kl_mean.quantiles).toHaveLength(4);
    expect(ev.held_out.top_p).toBe(1);
    expect(ev.task?.accuracy).toBe(0.61);
  });

  it("parses a reference's eval.json (no task, KL 0)", () => {
    const ev = policyEval();
    const zero = { count: 200, mean: 0, min: 0, max: 0, quantiles: [{ q: 0.99, value: 0 }] };
    const base = { ...(ev.base as object), accuracy: 0.88, retention: 1 };
    expect(problems({ ...ev, checkpoint_id: "ref-small-s42-3f9a1c", reference_id: null, task: null, base, kl: { mean_token_kl: 0, per_request_kl_mean: zero } })).toEqual([]);
  });

  it("rejects a negative KL, accuracy above 1 and a sample-count mismatch", () => {
    const ev = policyEval();
    const kl = ev.kl as Record<string, unknown>;
    expect(problems({ ...ev, kl: { ...kl, mean_token_kl: -0.01 } })).toEqual(["kl.mean_token_kl: must be a number ≥ 0 (got -0.01)"]);
    expect(problems({ ...ev, base: { ...(ev.base as object), accuracy: 1.2 } })).toEqual(["base.accuracy: must be a number in [0, 1] (got 1.2)"]);
    expect(problems({ ...ev, held_out: { ...(ev.held_out as object), samples: 100 } })).toEqual([
      "kl.per_request_kl_mean.count: must equal held_out.samples (100)",
    ]);
  });
});

describe("empiricalDistribution", () => {
  const dist = { count: 10, mean: 0.5, min: 0, max: 1, quantiles: [{ q: 0.5, value: 0.4 }, { q: 0.9, value: 0.8 }] };

  it("rejects quantiles out of order, values decreasing, and a max below them", () => {
    const bad = (d: object) => empiricalDistribution.safeParse({ ...dist, ...d }).error?.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
    expect(bad({ quantiles: [{ q: 0.9, value: 0.4 }, { q: 0.5, value: 0.8 }] })).toEqual(["quantiles[1].q: must be greater than the previous q (0.9)"]);
    expect(bad({ quantiles: [{ q: 0.5, value: 0.8 }, { q: 0.9, value: 0.4 }] })).toEqual(["quantiles[1].value: must be ≥ the previous value (0.8)"]);
    expect(bad({ max: 0.7 })).toEqual(["max: must be ≥ every quantile and min (0.8)"]);
    expect(bad({ mean: 2 })).toEqual(["mean: must lie in [min, max]"]);
    expect(bad({ quantiles: [{ q: 1, value: 1 }] })?.[0]).toBe("quantiles[0].q: must be a number in (0, 1) (got 1)");
  });

  it("interpolates linearly between stored points, with min and max as the ends", () => {
    const d = empiricalDistribution.parse(dist);
    expect(quantileAt(d, 0)).toBe(0);
    expect(quantileAt(d, 1)).toBe(1);
    expect(quantileAt(d, 0.5)).toBeCloseTo(0.4, 15);
    // between (0.5, 0.4) and (0.9, 0.8): 0.4 + (0.7 − 0.5)/(0.4) · 0.4 = 0.6
    expect(quantileAt(d, 0.7)).toBeCloseTo(0.6, 12);
    // between (0.9, 0.8) and (1, 1): 0.8 + 0.5 · 0.2 = 0.9
    expect(quantileAt(d, 0.95)).toBeCloseTo(0.9, 12);
    // between (0, 0) and (0.5, 0.4)
    expect(quantileAt(d, 0.25)).toBeCloseTo(0.2, 12);
    expect(() => quantileAt(d, 1.5)).toThrow(/q must be in \[0, 1\]/);
  });
});

describe("promotionGateFailures", () => {
  const ev = evalReport.parse(policyEval());
  const expectIds = { checkpointId: "policy-sft-b0.1-77e0d2", referenceId: "ref-small-s42-3f9a1c" };

  it("passes a healthy policy under the default gates (retention ≥ 0.9)", () => {
    const gates = promotionGates.parse({});
    expect(gates).toEqual({ require_eval: true, kl_budget: null, retention_floor: 0.9, min_task_accuracy: null });
    expect(promotionGateFailures(ev, gates, expectIds)).toEqual([]);
  });

  it("lists every failed threshold and id mismatch", () => {
    const gates = promotionGates.parse({ kl_budget: 0.01, retention_floor: 0.95, min_task_accuracy: 0.7 });
    const failures = promotionGateFailures(ev, gates, { ...expectIds, referenceId: "ref-other" });
    expect(failures).toHaveLength(4);
    expect(failures[0]).toBe("eval.json: reference_id ref-small-s42-3f9a1c ≠ ref-other");
    expect(failures[1]).toBe("kl.mean_token_kl 0.042 > kl_budget 0.01");
    expect(failures[3]).toBe("task.accuracy 0.61 < min_task_accuracy 0.7");
  });

  it("reports each gate's eval.json number next to its limit", () => {
    const checks = promotionGateChecks(ev, promotionGates.parse({ kl_budget: 0.01, retention_floor: 0.5 }), expectIds);
    const byGate = Object.fromEntries(checks.map((c) => [c.gate, c]));
    expect(byGate.kl_budget).toMatchObject({ metric: "kl.mean_token_kl", value: 0.042, limit: 0.01, passed: false });
    expect(byGate.retention_floor).toMatchObject({ metric: "base.retention", limit: 0.5, passed: true });
    expect(byGate.checkpoint_id?.passed).toBe(true);
  });

  it("refuses a missing eval.json unless the gate does not require one", () => {
    expect(promotionGateFailures(null, promotionGates.parse({}), expectIds)).toEqual(["eval.json: missing or invalid"]);
    expect(promotionGateFailures(null, promotionGates.parse({ require_eval: false }), expectIds)).toEqual([]);
  });
});
