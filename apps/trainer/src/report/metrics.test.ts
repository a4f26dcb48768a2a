// Tests for metrics.jsonl parsing (torn last line, resumed steps, lenient fields) and the smoother.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MIN_EVAL_POINTS, movingAverage, parseMetrics, readMetrics, runCurves } from "./metrics";

const TEXT = [
  '{"step":1,"loss":2.5,"kl":0.01,"beta":0.1,"lr":0.001,"grad_norm":1.2,"tokens_per_s":900,"elapsed_s":0.4}',
  '{"step":2,"loss":2.4,"kl":0.02,"beta":0.1,"note":"unknown string field"}',
  "",
  '{"step":2,"heldout_kl":0.015,"task_accuracy":0.2,"task_reward":0.2,"base_accuracy":0.8,"base_retention":0.95}',
  '{"step":3,"loss":2.3,"beta":0.1}',
  '{"step":4,"loss":2.2,"kl":0.04,"be',
].join("\n");

describe("parseMetrics", () => {
  it("splits step and eval lines, skips missing fields, counts the torn last line", () => {
    const m = parseMetrics(TEXT);
    expect(m.malformed).toBe(1);
    expect(m.train.kl).toEqual({ step: [1, 2], value: [0.01, 0.02] });
    expect(m.train.loss!.step).toEqual([1, 2, 3]);
    expect(m.train.note).toBeUndefined();
    expect(m.eval.heldout_kl).toEqual({ step: [2], value: [0.015] });
    expect(m.eval.base_retention!.value).toEqual([0.95]);
    expect(m.train.heldout_kl).toBeUndefined();
  });

  it("counts non-object lines and lines without a numeric step as malformed", () => {
    const m = parseMetrics('[1,2]\n"text"\n{"loss":1}\n{"step":"3","loss":1}\nnull\n{"step":5,"loss":1}\n');
    expect(m.malformed).toBe(5);
    expect(m.train.loss).toEqual({ step: [5], value: [1] });
  });

  it("keeps the last value of a repeated step and sorts by step (resumed run)", () => {
    const m = parseMetrics('{"step":5,"loss":1,"kl":0.5}\n{"step":3,"loss":1,"kl":0.3}\n{"step":5,"loss":1,"kl":0.7}\n');
    expect(m.train.kl).toEqual({ step: [3, 5], value: [0.3, 0.7] });
  });

  it("reads a file, and a missing file as empty", () => {
    const dir = mkdtempSync(join(tmpdir(), "tether-metrics-"));
    try {
      writeFileSync(join(dir, "metrics.jsonl"), TEXT);
      expect(readMetrics(join(dir, "metrics.jsonl")).train.kl!.value).toEqual([0.01, 0.02]);
      expect(readMetrics(join(dir, "absent.jsonl"))).toEqual({ train: {}, eval: {}, malformed: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("movingAverage", () => {
  it("matches a hand computation of the trailing mean", () => {
    // w = 3: [4], [4,8], [4,8,6], [8,6,2], [6,2,10] → 4, 6, 6, 16/3, 6
    const y = movingAverage([4, 8, 6, 2, 10], 3);
    const expected = [4, 6, 6, 16 / 3, 6];
    y.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 12));
  });

  it("is the identity for window 1 and the running mean for a window longer than the series", () => {
    expect(movingAverage([3, 1, 2], 1)).toEqual([3, 1, 2]);
    expect(movingAverage([3, 1, 2], 10)).toEqual([3, 2, 2]);
  });

  it("rejects a non-integer or zero window", () => {
    expect(() => movingAverage([1], 0)).toThrow(/window must be an integer ≥ 1, got 0/);
    expect(() => movingAverage([1], 1.5)).toThrow(/window/);
  });
});

describe("runCurves", () => {
  it("prefers held-out KL with enough eval points, else batch KL; SFT reward is task accuracy", () => {
    const evalLines = Array.from({ length: MIN_EVAL_POINTS }, (_, i) =>
      JSON.stringify({ step: 10 * (i + 1), heldout_kl: i / 10, task_accuracy: i / 4 }),
    );
    const steps = Array.from({ length: 40 }, (_, i) => JSON.stringify({ step: i + 1, loss: 1, kl: i, reward: 0.5 }));
    const rich = runCurves(parseMetrics([...steps, ...evalLines].join("\n")), "sft");
    expect(rich.kl.source).toBe("heldout_kl");
    expect(rich.kl.points.step).toEqual([10, 20, 30, 40]);
    expect(rich.reward.source).toBe("task_accuracy");
    const sparse = runCurves(parseMetrics([...steps, evalLines[0]!].join("\n")), "grpo");
    expect(sparse.kl.source).toBe("kl");
    expect(sparse.reward.source).toBe("reward");
    expect(runCurves(parseMetrics(""), "sft")).toEqual({
      kl: { source: "none", points: { step: [], value: [] } },
      reward: { source: "none", points: { step: [], value: [] } },
    });
  });
});
