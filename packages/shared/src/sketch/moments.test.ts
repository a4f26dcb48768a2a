// Tests for Welford/Chan running moments against a two-pass float64 computation.
import { describe, expect, it } from "vitest";
import { Pcg32 } from "../sampling/prng";
import { RunningMoments } from "./moments";

// Coordinate i: offset·(i − 2) + (i + 1)·Uniform(−½, ½). With offset 1e6 the naive Σx² − n·μ² formula would
// lose every digit; any float64 method keeps only ≈ 1e-10 relative (ulp(2e6)/0.3 per step, random-walked).
function rows(seed: number, n: number, dim: number, offset: number): Float64Array[] {
  const rng = new Pcg32(seed);
  return Array.from({ length: n }, () =>
    Float64Array.from({ length: dim }, (_, i) => offset * (i - 2) + (i + 1) * (rng.nextFloat() - 0.5)),
  );
}

// Two-pass reference: μ = Σx/n, then Σ(x − μ)².
function twoPass(xs: Float64Array[], dim: number): { mean: number[]; ss: number[] } {
  const mean = Array.from({ length: dim }, (_, i) => xs.reduce((acc, x) => acc + x[i], 0) / xs.length);
  const ss = Array.from({ length: dim }, (_, i) => xs.reduce((acc, x) => acc + (x[i] - mean[i]) ** 2, 0));
  return { mean, ss };
}

function expectRelClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(rel * Math.abs(expected[i]) + 1e-300);
  }
}

describe("RunningMoments", () => {
  const dim = 5;
  const xs = rows(3, 2001, dim, 1e6);
  const ref = twoPass(xs, dim);
  const modest = rows(4, 2001, dim, 10); // offsets ≈ 30× the spread: rounding stays near 1e-15 relative

  it("matches a two-pass float64 mean and population/sample variance", () => {
    const mom = new RunningMoments(dim);
    for (const x of xs) mom.push(x);
    expect(mom.count).toBe(xs.length);
    expectRelClose(mom.mean(), ref.mean, 1e-12);
    expectRelClose(mom.variance(), ref.ss.map((s) => s / xs.length), 1e-9);
    expectRelClose(mom.variance("sample"), ref.ss.map((s) => s / (xs.length - 1)), 1e-9);
    // Uniform(−½, ½)·(i+1) has variance (i+1)²/12; a 2001-sample estimate is within 10%.
    mom.variance().forEach((v, i) => expect(Math.abs(v / ((i + 1) ** 2 / 12) - 1)).toBeLessThan(0.1));
  });

  it("merging two halves equals pushing everything (1e-12 relative)", () => {
    const all = new RunningMoments(dim);
    const a = new RunningMoments(dim);
    const b = new RunningMoments(dim);
    modest.forEach((x, k) => {
      all.push(x);
      (k < 700 ? a : b).push(x);
    });
    a.merge(b);
    expect(a.count).toBe(all.count);
    expectRelClose(a.mean(), all.mean(), 1e-12);
    expectRelClose(a.variance(), all.variance(), 1e-12);
    // Merging into an empty accumulator copies; merging an empty one is a no-op.
    const empty = new RunningMoments(dim).merge(b);
    expectRelClose(empty.variance("sample"), b.variance("sample"), 1e-15);
    expectRelClose(b.merge(new RunningMoments(dim)).mean(), empty.mean(), 0);
  });

  it("round-trips through JSON exactly", () => {
    const mom = new RunningMoments(dim);
    for (const x of xs.slice(0, 50)) mom.push(x);
    const copy = RunningMoments.fromJSON(JSON.parse(JSON.stringify(mom)));
    expect(copy.toJSON()).toEqual(mom.toJSON());
    copy.push(xs[50]);
    mom.push(xs[50]);
    expect(Array.from(copy.variance())).toEqual(Array.from(mom.variance()));
  });

  it("validates dimensions and counts", () => {
    expect(() => new RunningMoments(0)).toThrow(/^dim must be an integer ≥ 1/);
    const mom = new RunningMoments(2);
    expect(() => mom.push([1, 2, 3])).toThrow(/^x.length must equal dim = 2/);
    expect(() => mom.variance()).toThrow(/^count must be ≥ 1/);
    mom.push([1, 2]);
    expect(Array.from(mom.variance())).toEqual([0, 0]);
    expect(() => mom.variance("sample")).toThrow(/^count must be ≥ 2/);
    expect(() => mom.merge(new RunningMoments(3))).toThrow(/^other.dim/);
    expect(() => RunningMoments.fromJSON({ dim: 2, count: 1, mean: [0], m2: [0, 0] })).toThrow(/^mean.length/);
  });
});
