// LogHistogram against an exact sort: every nearest-rank quantile within the stated relative error α (or
// ≤ MIN_VALUE in absolute terms near zero), merge equal to observing everything in one summary.
import { Pcg32 } from "@tether/shared/sampling/prng";
import { describe, expect, test } from "vitest";
import { LogHistogram, MIN_VALUE, RELATIVE_ERROR } from "./log-histogram";

/** Nearest-rank quantile of a sorted array, from the definition. */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

function sample(seed: number, n: number): number[] {
  const rng = new Pcg32(BigInt(seed));
  return Array.from({ length: n }, (_, i) => {
    if (i % 17 === 0) return 0; // exact zeros (a policy equal to its reference)
    const u1 = Math.max(rng.nextFloat(), 1e-12);
    const u2 = rng.nextFloat();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    return Math.exp(-3 + 2.5 * z); // log-normal over ~6 decades, like per-request KL
  });
}

describe("LogHistogram", () => {
  test.each([1, 2, 3])("quantiles within α = %s relative of the exact sorted quantile (seed %i)", (seed) => {
    const xs = sample(seed, 5000);
    const h = new LogHistogram();
    xs.forEach((x) => h.add(x));
    const sorted = [...xs].sort((a, b) => a - b);
    for (const q of [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1]) {
      const exact = exactQuantile(sorted, q);
      const est = h.quantile(q)!;
      if (exact <= MIN_VALUE) expect(Math.abs(est - exact)).toBeLessThanOrEqual(MIN_VALUE);
      else expect(Math.abs(est - exact) / exact, `q=${q}`).toBeLessThanOrEqual(RELATIVE_ERROR * (1 + 1e-9));
    }
    expect(h.count).toBe(xs.length);
    expect(h.max).toBe(sorted[sorted.length - 1]);
    const sum = xs.reduce((a, b) => a + b, 0);
    expect(h.mean()!).toBeCloseTo(sum / xs.length, 12);
  });

  test("merging slot summaries equals one summary of all observations", () => {
    const xs = sample(9, 3000);
    const all = new LogHistogram();
    const parts = [new LogHistogram(), new LogHistogram(), new LogHistogram()];
    xs.forEach((x, i) => {
      all.add(x);
      parts[i % 3]!.add(x);
    });
    const merged = new LogHistogram();
    parts.forEach((p) => merged.merge(p));
    merged.merge(new LogHistogram()); // an empty slot changes nothing
    for (const q of [0.05, 0.5, 0.95, 0.99]) expect(merged.quantile(q)).toBe(all.quantile(q));
    expect(merged.count).toBe(all.count);
    expect(merged.max).toBe(all.max);
  });

  test("empty, single value, infinity and reset", () => {
    const h = new LogHistogram();
    expect(h.quantile(0.5)).toBeNull();
    expect(h.mean()).toBeNull();
    h.add(0.25);
    expect(Math.abs(h.quantile(0.5)! - 0.25) / 0.25).toBeLessThanOrEqual(RELATIVE_ERROR);
    expect(h.quantile(0.99)).toBeLessThanOrEqual(0.25); // never above the maximum seen
    h.add(Infinity);
    expect(h.quantile(1)).toBeGreaterThan(1e6);
    h.reset();
    expect(h.count).toBe(0);
    expect(h.quantile(0.5)).toBeNull();
  });
});
