// The verifiable reward and accuracy helper on hand-checked cases.
import { describe, expect, it } from "vitest";
import { accuracy, extractAnswer, isWellFormedInteger, reward, rewards } from "./reward";

describe("extractAnswer", () => {
  it("cuts at the first eos, <|im_end|> or newline and trims spaces", () => {
    expect(extractAnswer("19<|endoftext|>")).toBe("19");
    expect(extractAnswer("19<|endoftext|>20")).toBe("19");
    expect(extractAnswer("19\n12+7=19")).toBe("19");
    expect(extractAnswer("19<|im_end|>\n")).toBe("19");
    expect(extractAnswer("  -27 \t<|endoftext|>")).toBe("-27");
    expect(extractAnswer("1999999")).toBe("1999999"); // no terminator: the whole text
    expect(extractAnswer("<|endoftext|>")).toBe("");
  });
});

describe("reward", () => {
  it("is 1 only for an exact match of the answer", () => {
    expect(reward("19<|endoftext|>", "19")).toBe(1);
    expect(reward("19", "19")).toBe(1);
    expect(reward(" 19\n", "19")).toBe(1);
    expect(reward("190", "19")).toBe(0);
    expect(reward("1", "19")).toBe(0);
    expect(reward("019", "19")).toBe(0);
    expect(reward("19.0", "19")).toBe(0);
    expect(reward("", "19")).toBe(0);
    expect(reward("Paris\n", "Paris")).toBe(1);
  });

  it("gives format credit to a wrong but well-formed integer only", () => {
    const o = { formatCredit: 0.1 };
    expect(reward("18", "19", o)).toBeCloseTo(0.1, 12);
    expect(reward("-3<|endoftext|>", "19", o)).toBeCloseTo(0.1, 12);
    expect(reward("19", "19", o)).toBe(1);
    expect(reward("1 9", "19", o)).toBe(0);
    expect(reward("019", "19", o)).toBe(0);
    expect(reward("abc", "19", o)).toBe(0);
    expect(() => reward("18", "19", { formatCredit: 1 })).toThrow("formatCredit must be in [0, 1) (got 1)");
    expect(() => reward("18", "19", { formatCredit: -0.1 })).toThrow(/formatCredit/);
  });

  it("knows canonical integers", () => {
    for (const s of ["0", "7", "-7", "1234567890"]) expect(isWellFormedInteger(s)).toBe(true);
    for (const s of ["", "-", "-0", "00", "07", "+7", "7.0", "1e3", " 7"]) expect(isWellFormedInteger(s)).toBe(false);
  });

  it("scores a group element-wise", () => {
    expect(Array.from(rewards(["19", "20", "x", "19<|endoftext|>"], ["19", "19", "19", "19"], { formatCredit: 0.5 }))).toEqual([1, 0.5, 0, 1]);
    expect(() => rewards(["1"], [])).toThrow(/^answers must have one entry per completion/);
  });
});

describe("accuracy", () => {
  const examples = [
    { prompt: "1+1=", answer: "2" },
    { prompt: "2+2=", answer: "4" },
    { prompt: "3+3=", answer: "6" },
    { prompt: "4+4=", answer: "8" },
    { prompt: "5+5=", answer: "10" },
  ];
  // A fake model: right on even sums below 10, a wrong number on 6, garbage on 10.
  const model: Record<string, string> = { "1+1=": "2<|endoftext|>", "2+2=": "4\n", "3+3=": "7", "4+4=": "8", "5+5=": "ten" };

  it("counts exact matches over batches and reports well-formedness", async () => {
    const seen: number[] = [];
    const report = await accuracy(examples, async (prompts) => {
      seen.push(prompts.length);
      return prompts.map((p) => model[p]);
    }, { batchSize: 2, formatCredit: 0.25 });
    expect(seen).toEqual([2, 2, 1]);
    expect(report).toEqual({ n: 5, correct: 3, accuracy: 0.6, wellFormed: 0.8, meanReward: (3 + 0.25) / 5 });
  });

  it("accepts a synchronous generator and an empty set, and rejects a short answer list", async () => {
    expect((await accuracy(examples, (ps) => ps.map((p) => model[p]))).accuracy).toBeCloseTo(0.6, 12);
    expect(await accuracy([], () => [])).toEqual({ n: 0, correct: 0, accuracy: 0, wellFormed: 0, meanReward: 0 });
    await expect(accuracy(examples, () => ["2"])).rejects.toThrow(/^generate must return one completion per prompt/);
  });
});
