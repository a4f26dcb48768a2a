import { describe, expect, it } from "vitest";
import { ParameterError } from "../errors";
import { argmax, batchRow, logSoftmax, logSumExp, softmax } from "./softmax";
import { gaussians, naiveSoftmax } from "../../../../test/support/math-inputs";

describe("softmax", () => {
  it("matches the float64 definition on moderate logits", () => {
    const x = Float32Array.from(gaussians(1000, 1, 3));
    const ref = naiveSoftmax(x);
    const p = softmax(x);
    const lp = logSoftmax(x);
    for (let i = 0; i < x.length; i++) {
      expect(p[i]).toBeCloseTo(ref[i]!, 15);
      expect(lp[i]! / Math.log(ref[i]!)).toBeCloseTo(1, 12);
    }
  });

  it("closed forms: uniform row, log 3 odds, natural-log base", () => {
    expect(logSumExp([0, 0])).toBeCloseTo(Math.LN2, 15);
    const p = softmax([0, Math.log(3)]);
    expect(p[0]).toBeCloseTo(0.25, 15);
    expect(p[1]).toBeCloseTo(0.75, 15);
    const lp = logSoftmax(new Float32Array(4));
    lp.forEach((v) => expect(v).toBeCloseTo(-Math.log(4), 15));
  });

  it("is stable at vocab 152k with logits in the thousands", () => {
    const vocab = 152_064;
    const x = new Float32Array(vocab).fill(-2000);
    x[17] = 1000; // naive exp(1000) overflows to Infinity
    // logsumexp = 1000 + log(1 + (V−1)·e^{−3000}) = 1000 exactly in float64
    expect(logSumExp(x)).toBe(1000);
    const p = softmax(x);
    expect(p[17]).toBe(1);
    expect(p[0]).toBe(0);
    // shift invariance: softmax(x + c) = softmax(x)
    const y = Float32Array.from(gaussians(vocab, 2, 4));
    const shifted = y.map((v) => v + 700);
    const a = logSoftmax(y);
    const b = logSoftmax(shifted);
    let worst = 0;
    for (let i = 0; i < vocab; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    expect(worst).toBeLessThan(1e-4); // float32 rounding of y + 700 (ulp(700) ≈ 6e-5)
    let total = 0;
    for (const v of softmax(y)) total += v;
    expect(total).toBeCloseTo(1, 12);
  });

  it("treats −Infinity as probability zero and rejects NaN, +Infinity and all-masked rows", () => {
    const p = softmax([0, -Infinity, 0]);
    expect([...p]).toEqual([0.5, 0, 0.5]);
    expect(() => softmax([0, Number.NaN])).toThrow(ParameterError);
    expect(() => softmax([0, Infinity])).toThrow(/logits must be finite/);
    expect(() => logSumExp([-Infinity, -Infinity])).toThrow(/at least one finite/);
    expect(() => softmax([])).toThrow(/non-empty/);
  });

  it("argmax breaks ties toward the lowest index; batchRow is a view", () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    const batch = Float32Array.from({ length: 6 }, (_, i) => i);
    const row = batchRow(batch, 3, 1);
    expect([...row]).toEqual([3, 4, 5]);
    row[0] = 42;
    expect(batch[3]).toBe(42);
    expect(() => batchRow(batch, 4, 0)).toThrow(/multiple of vocab/);
    expect(() => batchRow(batch, 3, 2)).toThrow(/row must be an integer in \[0, 1\]/);
  });
});
