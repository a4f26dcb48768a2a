// Tests for the findings' statistics against hand computations.
import { describe, expect, it } from "vitest";
import { edgeMeans, olsSlope, pearson, ranks, spearman, thirds } from "./stats";

describe("ranks and Spearman", () => {
  it("averages tied ranks", () => {
    expect(ranks([10, 20, 20, 5])).toEqual([2, 3.5, 3.5, 1]);
  });

  it("matches 1 − 6Σd²/(n(n²−1)) without ties", () => {
    // y ranks [2,1,3,5,4] vs x ranks [1..5]: d = [−1,1,0,−1,1], Σd² = 4 → ρ = 1 − 24/120 = 0.8
    expect(spearman([0, 0.1, 0.2, 0.5, 1], [0.6, 0.55, 0.7, 0.9, 0.85])).toBeCloseTo(0.8, 12);
    expect(spearman([0, 1, 2, 3], [9, 7, 5, 1])).toBeCloseTo(-1, 12);
  });

  it("with ties equals Pearson of averaged ranks (hand: 4.5/√22.5 = 3/√10)", () => {
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(3 / Math.sqrt(10), 12);
  });

  it("is NaN for a constant side or fewer than 2 points", () => {
    expect(spearman([1, 2, 3], [5, 5, 5])).toBeNaN();
    expect(pearson([1], [1])).toBeNaN();
    expect(() => pearson([1, 2], [1])).toThrow(/equal length/);
  });
});

describe("slopes and thirds", () => {
  it("recovers an exact line and NaN for one x", () => {
    expect(olsSlope([0, 1, 2, 3], [1, 3, 5, 7])).toBeCloseTo(2, 12);
    expect(olsSlope([2, 2], [1, 3])).toBeNaN();
  });

  it("splits by step range, not point count", () => {
    const t = thirds({ step: [0, 1, 2, 3, 9], value: [0, 1, 2, 3, 9] });
    expect(t.first.step).toEqual([0, 1, 2, 3]);
    expect(t.last.step).toEqual([9]);
    expect(t.span).toBe(3);
  });

  it("averages the edges", () => {
    expect(edgeMeans([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.2)).toEqual({ first: 1.5, last: 9.5 });
    expect(edgeMeans([4, 8], 0.1)).toEqual({ first: 4, last: 8 });
  });
});
