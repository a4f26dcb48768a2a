import { describe, expect, it } from "vitest";
import { bundledDataset } from "../data/bundled";
import { calibrationExamples, DEFAULT_CALIBRATION_DATA } from "./sketch-plan";

describe("calibrationExamples", () => {
  it("defaults to seeded held-out base-corpus examples", () => {
    expect(DEFAULT_CALIBRATION_DATA).toBe("bundled:arithmetic/heldout");
    expect(calibrationExamples(3, 10)).toEqual(bundledDataset("arithmetic", "heldout", 3, 10));
  });

  it("interleaves bundled parts, n split evenly", () => {
    const got = calibrationExamples(5, 7, "bundled:arithmetic/train,multiplication/train");
    const a = bundledDataset("arithmetic", "train", 5, 4);
    const m = bundledDataset("multiplication", "train", 5, 4);
    expect(got).toEqual([a[0], m[0], a[1], m[1], a[2], m[2], a[3]]);
    expect(got.filter((e) => e.prompt.includes("*"))).toHaveLength(3);
  });

  it("refuses a part that is not <task>/<split>", () => {
    expect(() => calibrationExamples(1, 4, "bundled:division/train")).toThrow(/division\/train/);
    expect(() => calibrationExamples(1, 4, "bundled:arithmetic/test")).toThrow(/arithmetic\/test/);
  });
});
