// Base corpus and new task: answers checked with independent BigInt arithmetic, determinism by seed,
// and no held-out problem ever in train.
import { describe, expect, it } from "vitest";
import { ParameterError } from "@tether/shared/errors";
import { arithmeticExamples, arithmeticProblem } from "./arithmetic";
import { multiplicationExamples } from "./new-task";
import { splitOf } from "./problems";
import type { TaskExample } from "./problems";

// Independent check: parse "a<op>b=" with a regex and compute with BigInt.
function solve(prompt: string): string {
  const m = /^(\d+)([+\-*])(\d+)=$/.exec(prompt);
  if (m === null) throw new Error(`unexpected prompt ${JSON.stringify(prompt)}`);
  const a = BigInt(m[1]);
  const b = BigInt(m[3]);
  return String(m[2] === "+" ? a + b : m[2] === "-" ? a - b : a * b);
}

function operands(prompt: string): [number, number] {
  const m = /^(\d+)[+\-*](\d+)=$/.exec(prompt)!;
  return [Number(m[1]), Number(m[2])];
}

const prompts = (xs: TaskExample[]) => new Set(xs.map((x) => x.prompt));

describe("arithmetic (base corpus)", () => {
  it("has correct answers, completion = answer, operands in 0–99, no negative results", () => {
    const xs = arithmeticExamples("train", 1, 5000);
    for (const x of xs) {
      expect(x.completion).toBe(solve(x.prompt));
      expect(x.answer).toBe(x.completion);
      const [a, b] = operands(x.prompt);
      expect(a).toBeLessThanOrEqual(99);
      expect(b).toBeLessThanOrEqual(99);
      expect(x.answer.startsWith("-")).toBe(false);
    }
    const ops = new Set(xs.map((x) => /[+-]/.exec(x.prompt)![0]));
    expect(ops).toEqual(new Set(["+", "-"]));
  });

  it("is byte-identical for the same seed and differs for another", () => {
    const a = JSON.stringify(arithmeticExamples("train", 42, 2000));
    expect(JSON.stringify(arithmeticExamples("train", 42, 2000))).toBe(a);
    expect(JSON.stringify(arithmeticExamples("train", 43, 2000))).not.toBe(a);
    expect(JSON.stringify(arithmeticExamples("heldout", 42, 300))).toBe(JSON.stringify(arithmeticExamples("heldout", 42, 300)));
  });

  it("never puts a held-out problem in train, for any pair of seeds", () => {
    const heldout = prompts(arithmeticExamples("heldout", 3, 1500));
    expect(heldout.size).toBe(1500); // held-out examples are distinct
    for (const seed of [1, 2, 3]) {
      for (const p of prompts(arithmeticExamples("train", seed, 20000))) expect(heldout.has(p)).toBe(false);
    }
  });

  it("holds out about 10% of all 0–99 problems, by a hash that ignores the seed", () => {
    let all = 0;
    let held = 0;
    for (let a = 0; a <= 99; a++) {
      for (let b = 0; b <= 99; b++) {
        for (const op of ["+", "-"] as const) {
          if (op === "-" && a < b) continue;
          all++;
          if (splitOf(arithmeticProblem(a, op, b).prompt, 0.1, "arithmetic") === "heldout") held++;
        }
      }
    }
    expect(all).toBe(15050);
    expect(held / all).toBeGreaterThan(0.08);
    expect(held / all).toBeLessThan(0.12);
    // Every held-out problem has been counted: asking for more than exist fails instead of repeating.
    expect(arithmeticExamples("heldout", 9, held)).toHaveLength(held);
    expect(() => arithmeticExamples("heldout", 9, held + 1)).toThrow(/exceeds the distinct heldout problems/);
  });

  it("honours difficulty options", () => {
    const big = arithmeticExamples("train", 5, 2000, { minOperand: 100, maxOperand: 999, ops: ["-"], allowNegative: true });
    let negatives = 0;
    for (const x of big) {
      const [a, b] = operands(x.prompt);
      expect(a).toBeGreaterThanOrEqual(100);
      expect(b).toBeLessThanOrEqual(999);
      expect(x.answer).toBe(solve(x.prompt));
      if (x.answer.startsWith("-")) negatives++;
    }
    expect(negatives).toBeGreaterThan(500);
    const huge = arithmeticExamples("train", 5, 200, { maxOperand: 1e12, ops: ["+"] });
    for (const x of huge) expect(x.answer).toBe(solve(x.prompt));
  });

  it("rejects bad parameters with the parameter named", () => {
    expect(() => arithmeticExamples("train", 1, 10, { maxOperand: -1 })).toThrow(ParameterError);
    expect(() => arithmeticExamples("train", 1, 10, { ops: [] })).toThrow(/^ops must be/);
    expect(() => arithmeticExamples("train", 1, 10, { heldOutFraction: 1 })).toThrow("heldOutFraction must be in (0, 1) (got 1)");
    expect(() => arithmeticExamples("validation" as "train", 1, 10)).toThrow(/^split must be one of train, heldout/);
    expect(() => arithmeticExamples("train", 1.5, 10)).toThrow(/^seed must be an integer/);
  });
});

describe("multiplication (new task)", () => {
  it("has correct products of 0–99 by one digit, over the base task's characters plus '*'", () => {
    const xs = multiplicationExamples("train", 1, 3000);
    for (const x of xs) {
      expect(x.prompt).toMatch(/^\d{1,2}\*\d=$/);
      expect(x.completion).toBe(solve(x.prompt));
      expect(x.answer).toBe(x.completion);
    }
    expect(Math.max(...xs.map((x) => Number(x.answer)))).toBeLessThanOrEqual(891);
  });

  it("is deterministic by seed and independent of the base corpus stream", () => {
    const a = JSON.stringify(multiplicationExamples("train", 42, 1000));
    expect(JSON.stringify(multiplicationExamples("train", 42, 1000))).toBe(a);
    expect(JSON.stringify(multiplicationExamples("train", 43, 1000))).not.toBe(a);
  });

  it("keeps held-out problems out of train", () => {
    const heldout = prompts(multiplicationExamples("heldout", 1, 60));
    expect(heldout.size).toBe(60);
    for (const seed of [1, 2]) {
      for (const p of prompts(multiplicationExamples("train", seed, 5000))) expect(heldout.has(p)).toBe(false);
    }
  });

  it("honours its operand ranges", () => {
    const xs = multiplicationExamples("train", 3, 500, { maxLeft: 9999, maxRight: 99 });
    for (const x of xs) {
      const [a, b] = operands(x.prompt);
      expect(a).toBeLessThanOrEqual(9999);
      expect(b).toBeLessThanOrEqual(99);
      expect(x.answer).toBe(solve(x.prompt));
    }
    expect(() => multiplicationExamples("train", 1, 1, { maxRight: -2 })).toThrow("maxRight must be an integer in [0, 10000000] (got -2)");
  });

  it("leftDigits balanced: a third each of 1-, 2- and 3-digit left operands up to maxLeft, correct products", () => {
    const xs = multiplicationExamples("train", 1, 6000, { maxLeft: 999, leftDigits: "balanced" });
    const counts = [0, 0, 0];
    for (const x of xs) {
      expect(x.prompt).toMatch(/^(0|[1-9]\d{0,2})\*\d=$/); // no leading zeros, one-digit multiplier
      expect(x.completion).toBe(solve(x.prompt));
      counts[String(operands(x.prompt)[0]).length - 1]!++;
    }
    // each length ~2,000 (binomial sd ~37; the 1-digit and 2-digit lengths lose a few more to the held-out share)
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
    // a maxLeft that is not all nines caps the longest length: 0–150 → 100–150 for three digits
    for (const x of multiplicationExamples("train", 2, 500, { maxLeft: 150, leftDigits: "balanced" })) expect(operands(x.prompt)[0]).toBeLessThanOrEqual(150);
    // the default draws are unchanged by the option's existence
    expect(multiplicationExamples("train", 1, 200, { leftDigits: "uniform" })).toEqual(multiplicationExamples("train", 1, 200));
    expect(() => multiplicationExamples("train", 1, 1, { leftDigits: "log" as "uniform" })).toThrow(ParameterError);
  });

  it("a broader training corpus (0–999, balanced) never contains a held-out prompt of the default 0–99 task", () => {
    // recompute the split independently of sampleSplit: every 0–99 × 0–9 prompt, held out by the salted hash
    const heldOutAll = new Set<string>();
    for (let a = 0; a <= 99; a++) for (let b = 0; b <= 9; b++) if (splitOf(`${a}*${b}=`, 0.1, "multiplication") === "heldout") heldOutAll.add(`${a}*${b}=`);
    expect(heldOutAll.size).toBe(104); // the evaluation set of eval.json draws from these
    expect(prompts(multiplicationExamples("heldout", 1, 104))).toEqual(heldOutAll);
    for (const seed of [1, 2]) {
      const train = multiplicationExamples("train", seed, 20_000, { maxLeft: 999, leftDigits: "balanced" });
      for (const x of train) expect(heldOutAll.has(x.prompt), x.prompt).toBe(false);
      // and it does cover the default task's training problems, which it must to be a superset corpus
      expect([...prompts(train)].filter((p) => operands(p)[0] < 100).length).toBeGreaterThan(850);
    }
  });
});
