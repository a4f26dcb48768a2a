// --task-max-left / --task-left-digits / --task-examples: what sft and grpo train on without --data, and that the held-out
// evaluation set a run scores (FineTuneRun's taskHeldOut: the default 0–99 × one-digit split) never enters it.
import { describe, expect, it } from "vitest";
import { parseTrainerConfig } from "@tether/shared/schemas/trainer-config";
import { bundledDataset } from "../data/bundled";
import { multiplicationExamples } from "../data/new-task";
import { BUNDLED_EXAMPLES, bundledTaskTrain } from "./fine-tune-run";

const sft = { command: "sft", reference: "models/demo/reference", seed: "3" } as const;

describe("bundledTaskTrain", () => {
  it("without the flags is the bundled task's training set, as before", () => {
    expect(bundledTaskTrain(parseTrainerConfig(sft))).toEqual(bundledDataset("multiplication", "train", 3, BUNDLED_EXAMPLES));
  });

  it("with them draws wider products, none of them a held-out prompt of the evaluated task", () => {
    const train = bundledTaskTrain(parseTrainerConfig({ ...sft, taskMaxLeft: "999", taskLeftDigits: "balanced" }));
    expect(train).toEqual(multiplicationExamples("train", 3, BUNDLED_EXAMPLES, { maxLeft: 999, leftDigits: "balanced" }));
    expect(Math.max(...train.map((x) => Number(x.prompt.split("*")[0])))).toBeGreaterThan(99);
    // every held-out prompt of the default task (all 104 of them), checked by prompt text against the whole training set
    const heldOut = new Set(bundledDataset("multiplication", "heldout", 3, 104).map((x) => x.prompt));
    const inTrain = new Set(train.map((x) => x.prompt));
    expect([...heldOut].filter((p) => inTrain.has(p))).toEqual([]);
    for (const x of train) {
      const [a, b] = x.prompt.slice(0, -1).split("*").map(Number);
      expect(x.completion).toBe(String(a! * b!));
    }
  });

  it("--task-examples draws more of the same stream: the default set first, then new problems, still no held-out prompt", () => {
    const wide = { ...sft, taskMaxLeft: "999", taskLeftDigits: "balanced" } as const;
    const more = bundledTaskTrain(parseTrainerConfig({ ...wide, taskExamples: "30000" }));
    expect(more).toHaveLength(30_000);
    expect(more.slice(0, BUNDLED_EXAMPLES)).toEqual(bundledTaskTrain(parseTrainerConfig(wide)));
    expect(new Set(more.map((x) => x.prompt)).size).toBeGreaterThan(new Set(more.slice(0, BUNDLED_EXAMPLES).map((x) => x.prompt)).size);
    const heldOut = new Set(bundledDataset("multiplication", "heldout", 3, 104).map((x) => x.prompt));
    expect(more.filter((x) => heldOut.has(x.prompt))).toEqual([]);
  });
});
