// Batches on hand-built examples: exact ids, shift by one, masks and padding; the epoch iterator.
import { describe, expect, it } from "vitest";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { buildCharBpe } from "../tokenizer/char-bpe";
import { loadTokenizer } from "../tokenizer/tokenizer";
import { collate, encodeExamples, makeBatch, permutation, shuffledBatches } from "./batches";

const tok = loadTokenizer(buildCharBpe().tokenizerJson, buildCharBpe().tokenizerConfig);
// Char ids: "0".."9" → 21..30, "+" → 16, "-" → 18, "=" → 34, eos = pad = 0.
const d = (c: string) => c.charCodeAt(0) - 27;

describe("encodeExamples + collate", () => {
  const examples = [
    { prompt: "1+1=", completion: "2" }, // 4 + 1 + eos = 6 tokens → 5 inputs
    { prompt: "40-13=", completion: "27" }, // 6 + 2 + eos = 9 tokens → 8 inputs
  ];

  it("builds [B, T] inputs, targets shifted by one, right padding and an SFT mask on completion + eos", () => {
    const batch = makeBatch(examples, tok, { mode: "sft", maxLength: 16 });
    expect(batch.shape).toEqual([2, 8]);
    const row0 = [d("1"), d("+"), d("1"), d("="), d("2"), 0];
    const row1 = [d("4"), d("0"), d("-"), d("1"), d("3"), d("="), d("2"), d("7"), 0];
    expect(Array.from(batch.inputIds)).toEqual([...row0.slice(0, 5), 0, 0, 0, ...row1.slice(0, 8)]);
    expect(Array.from(batch.targetIds)).toEqual([...row0.slice(1), 0, 0, 0, ...row1.slice(1)]);
    // Row 0: targets "+","1","=","2",eos → loss on "2" and eos (positions 3, 4).
    // Row 1: targets "0","-","1","3","=","2","7",eos → loss on "2","7",eos (positions 5, 6, 7).
    expect(Array.from(batch.lossMask)).toEqual([0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
    expect(Array.from(batch.attentionMask)).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(batch.tokens).toBe(5);
    expect(batch.inputIds).toBeInstanceOf(Int32Array);
    expect(batch.lossMask).toBeInstanceOf(Float32Array);
  });

  it("masks every real target for pretraining", () => {
    const batch = makeBatch(examples, tok, { mode: "pretrain", maxLength: 16, padTo: 10 });
    expect(batch.shape).toEqual([2, 10]);
    expect(Array.from(batch.lossMask)).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    expect(batch.tokens).toBe(13);
    expect(Array.from(batch.targetIds.subarray(10))).toEqual([d("0"), d("-"), d("1"), d("3"), d("="), d("2"), d("7"), 0, 0, 0]);
  });

  it("pads with the given pad id and checks padTo", () => {
    const { rows } = encodeExamples(examples, tok, { mode: "sft", maxLength: 16 });
    expect(rows.map((r) => r.lossStart)).toEqual([4, 6]);
    const batch = collate(rows, 99);
    expect(Array.from(batch.inputIds.subarray(5, 8))).toEqual([99, 99, 99]);
    expect(Array.from(batch.targetIds.subarray(5, 8))).toEqual([99, 99, 99]);
    expect(() => collate(rows, 0, 7)).toThrow("padTo must be an integer ≥ the longest row (8) and ≥ 1 (got 7)");
    expect(() => collate([], 0)).toThrow(/^rows must contain/);
  });

  it("fails on a too-long example by default, or drops it when asked", () => {
    expect(() => encodeExamples(examples, tok, { mode: "sft", maxLength: 7 })).toThrow(
      "example #2 must fit maxLength 7 (prompt + completion + eos − 1 = 8 tokens); shorten it or drop long examples",
    );
    const { rows, dropped } = encodeExamples(examples, tok, { mode: "sft", maxLength: 7, truncate: "drop" });
    expect(rows).toHaveLength(1);
    expect(dropped).toBe(1);
    expect(encodeExamples(examples, tok, { mode: "sft", maxLength: 8 }).rows).toHaveLength(2); // exactly fits
  });

  it("scores from the first token on when the prompt is empty (no bos to predict it from)", () => {
    const batch = makeBatch([{ prompt: "", completion: "12" }], tok, { mode: "sft", maxLength: 8 });
    expect(Array.from(batch.inputIds)).toEqual([d("1"), d("2")]);
    expect(Array.from(batch.targetIds)).toEqual([d("2"), 0]);
    expect(Array.from(batch.lossMask)).toEqual([1, 1]);
  });
});

describe("shuffledBatches", () => {
  const items = Array.from({ length: 10 }, (_, i) => i);

  it("visits every item once per epoch, in a seed-determined order", () => {
    const batches = [...shuffledBatches(items, { batchSize: 3, seed: 5, epochs: 2, dropLast: false })];
    expect(batches.map((b) => b.items.length)).toEqual([3, 3, 3, 1, 3, 3, 3, 1]);
    expect(batches.map((b) => b.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const epoch of [0, 1]) {
      const seen = batches.filter((b) => b.epoch === epoch).flatMap((b) => b.items);
      expect([...seen].sort((a, b) => a - b)).toEqual(items);
    }
    const first = batches.filter((b) => b.epoch === 0).flatMap((b) => b.items);
    const second = batches.filter((b) => b.epoch === 1).flatMap((b) => b.items);
    expect(second).not.toEqual(first);
    const again = [...shuffledBatches(items, { batchSize: 3, seed: 5, epochs: 2, dropLast: false })];
    expect(again).toEqual(batches);
    const other = [...shuffledBatches(items, { batchSize: 3, seed: 6, epochs: 1, dropLast: false })].flatMap((b) => b.items);
    expect(other).not.toEqual(first);
  });

  it("drops the short last batch by default and resumes at any step", () => {
    const full = [...shuffledBatches(items, { batchSize: 4, seed: 1, epochs: 3 })];
    expect(full.map((b) => b.items.length)).toEqual([4, 4, 4, 4, 4, 4]);
    const resumed = [...shuffledBatches(items, { batchSize: 4, seed: 1, epochs: 3, startStep: 3 })];
    expect(resumed).toEqual(full.slice(3));
  });

  it("runs forever by default and rejects impossible sizes", () => {
    const it = shuffledBatches(items, { batchSize: 10, seed: 1 });
    for (let k = 0; k < 50; k++) expect(it.next().value?.step).toBe(k);
    expect(() => shuffledBatches(items, { batchSize: 11, seed: 1 }).next()).toThrow("batchSize must be ≤ the number of examples (10) (got 11)");
    expect(() => shuffledBatches(items, { batchSize: 0, seed: 1 }).next()).toThrow(/^batchSize must be an integer ≥ 1/);
  });

  it("shuffles uniformly (each item lands in each slot about equally often)", () => {
    const counts = Array.from({ length: 5 }, () => new Array(5).fill(0));
    const rng = new Pcg32(3);
    for (let trial = 0; trial < 5000; trial++) {
      permutation(5, rng).forEach((item, slot) => counts[item][slot]++);
    }
    for (const row of counts) for (const c of row) expect(Math.abs(c - 1000)).toBeLessThan(150);
  });
});
