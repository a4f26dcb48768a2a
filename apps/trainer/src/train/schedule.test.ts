import { describe, expect, it } from "vitest";
import { learningRate } from "./schedule";

describe("learning-rate schedule", () => {
  const s = { peak: 1e-3, floor: 1e-4, warmup: 10, total: 110 };
  it("warms up linearly, decays by a half cosine, then holds the floor", () => {
    expect(learningRate(s, 0)).toBeCloseTo(1e-4, 15);
    expect(learningRate(s, 9)).toBeCloseTo(1e-3, 15);
    expect(learningRate(s, 10)).toBeCloseTo(1e-3, 15);
    // midpoint of the cosine: floor + (peak − floor)/2
    expect(learningRate(s, 60)).toBeCloseTo(5.5e-4, 15);
    // a quarter of the way: floor + (1 + cos(π/4))/2 · (peak − floor)
    expect(learningRate(s, 35)).toBeCloseTo(1e-4 + ((1 + Math.SQRT1_2) / 2) * 9e-4, 15);
    expect(learningRate(s, 110)).toBeCloseTo(1e-4, 15);
    expect(learningRate(s, 500)).toBe(1e-4);
  });
  it("rejects a non-positive peak and a floor above it", () => {
    expect(() => learningRate({ ...s, peak: 0 }, 0)).toThrow(/lr must be > 0/);
    expect(() => learningRate({ ...s, floor: 1 }, 0)).toThrow(/min_lr must be in/);
  });
});
