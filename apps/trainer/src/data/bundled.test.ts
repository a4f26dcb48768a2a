// Bundled datasets: names, dispatch, and that both tasks tokenize with no unknown characters and
// share the base task's tokens (the premise of measurable forgetting).
import { describe, expect, it } from "vitest";
import { SPECIAL_IDS, buildCharBpe } from "../tokenizer/char-bpe";
import { loadTokenizer } from "../tokenizer/tokenizer";
import { arithmeticExamples } from "./arithmetic";
import { BASE_DATASET, BUNDLED_DATASETS, NEW_TASK_DATASET, bundledDataset, isBundledDatasetName } from "./bundled";
import { multiplicationExamples } from "./new-task";

const tok = loadTokenizer(buildCharBpe().tokenizerJson);

describe("bundledDataset", () => {
  it("names the base corpus and the new task", () => {
    expect(BUNDLED_DATASETS).toEqual(["arithmetic", "multiplication"]);
    expect(BASE_DATASET).toBe("arithmetic");
    expect(NEW_TASK_DATASET).toBe("multiplication");
    expect(isBundledDatasetName("multiplication")).toBe(true);
    expect(isBundledDatasetName("data.jsonl")).toBe(false);
  });

  it("dispatches to the generators with the same seed semantics", () => {
    expect(bundledDataset("arithmetic", "train", 4, 50)).toEqual(arithmeticExamples("train", 4, 50));
    expect(bundledDataset("multiplication", "heldout", 4, 50, { maxRight: 9 })).toEqual(multiplicationExamples("heldout", 4, 50));
    expect(() => bundledDataset("rev" as "arithmetic", "train", 1, 1)).toThrow('dataset must be one of arithmetic, multiplication (got "rev")');
  });

  it("tokenizes without unknown tokens, and the new task reuses the base task's tokens plus '*'", () => {
    const tokens = (name: "arithmetic" | "multiplication") => {
      const ids = new Set<number>();
      for (const x of bundledDataset(name, "train", 1, 3000)) for (const id of tok.encode(x.prompt + x.completion)) ids.add(id);
      return ids;
    };
    const base = tokens("arithmetic");
    const fresh = tokens("multiplication");
    expect(base.has(SPECIAL_IDS.unk)).toBe(false);
    expect(fresh.has(SPECIAL_IDS.unk)).toBe(false);
    const onlyNew = [...fresh].filter((id) => !base.has(id));
    expect(onlyNew).toEqual([tok.tokenToId("*")]);
  });
});
