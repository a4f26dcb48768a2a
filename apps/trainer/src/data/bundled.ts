// The generated datasets the CLI can name instead of a JSONL file (`--data arithmetic`): the base
// corpus the reference is pretrained on and the new task fine-tuning teaches.
import { ParameterError } from "@tether/shared/errors";
import { ARITHMETIC_TASK, arithmeticExamples } from "./arithmetic";
import type { ArithmeticOptions } from "./arithmetic";
import { NEW_TASK, multiplicationExamples } from "./new-task";
import type { MultiplicationOptions } from "./new-task";
import type { Split, TaskExample } from "./problems";

export type { Split, TaskExample } from "./problems";

/** Names of the bundled datasets. */
export const BUNDLED_DATASETS = [ARITHMETIC_TASK, NEW_TASK] as const;

/** "arithmetic" (base corpus) | "multiplication" (new task). */
export type BundledDatasetName = (typeof BUNDLED_DATASETS)[number];

/** The base corpus: pretraining data, replay prompts, base-task retention. */
export const BASE_DATASET: BundledDatasetName = ARITHMETIC_TASK;

/** The new task: SFT/GRPO data, new-task accuracy. */
export const NEW_TASK_DATASET: BundledDatasetName = NEW_TASK;

/** One-line descriptions for `--help`. */
export const BUNDLED_DESCRIPTIONS: Record<BundledDatasetName, string> = {
  arithmetic: 'base corpus: "12+7=" → "19", "40-13=" → "27" (operands 0–99)',
  multiplication: 'new task: "47*6=" → "282" (0–99 times one digit)',
};

/** Difficulty options of either dataset. */
export type BundledOptions = ArithmeticOptions & MultiplicationOptions;

/**
 * Whether a `--data` value names a bundled dataset rather than a file.
 * @example
 * isBundledDatasetName("arithmetic"); // true
 * isBundledDatasetName("data.jsonl"); // false
 */
export function isBundledDatasetName(value: string): value is BundledDatasetName {
  return (BUNDLED_DATASETS as readonly string[]).includes(value);
}

/**
 * `n` examples of a bundled dataset's split, byte-identical for the same (name, split, seed, n, options).
 * Held-out examples are distinct and never appear in train, whatever the seeds.
 * @example
 * bundledDataset("arithmetic", "train", 1, 10_000); // pretraining corpus
 * bundledDataset("multiplication", "heldout", 1, 500); // new-task evaluation set
 */
export function bundledDataset(
  name: BundledDatasetName,
  split: Split,
  seed: number,
  n: number,
  options: BundledOptions = {},
): TaskExample[] {
  switch (name) {
    case "arithmetic":
      return arithmeticExamples(split, seed, n, options);
    case "multiplication":
      return multiplicationExamples(split, seed, n, options);
    default:
      throw new ParameterError("dataset", `must be one of ${BUNDLED_DATASETS.join(", ")}`, name);
  }
}
