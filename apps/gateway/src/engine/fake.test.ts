// The fake engine keeps the InferenceEngine contract: batched decode rows, score rows that match decode
// rows position by position, determinism, abort, and session bookkeeping.
import { describe, expect, it } from "vitest";
import { FakeEngine } from "../../../../test/support/fake-engine";
import { FAKE_IDS, FakeTokenizer } from "../../../../test/support/fake-tokenizer";

describe("FakeTokenizer", () => {
  const tok = new FakeTokenizer();
  it("uses the demo checkpoints' character ids and keeps special tokens whole", () => {
    expect(tok.encode("1+1=")).toEqual([22, 16, 22, 34]);
    expect(tok.encode("<|im_start|>a<|im_end|>")).toEqual([FAKE_IDS.imStart, 70, FAKE_IDS.imEnd]);
    expect(tok.decode([70, FAKE_IDS.eos, 71], { skipSpecialTokens: true })).toBe("ab");
    expect(tok.decode([70, FAKE_IDS.eos])).toBe("a<|endoftext|>");
    expect(tok.tokenBytes(70)).toEqual([97]);
  });
});

describe("FakeEngine", () => {
  it("decodes B sequences as one batch and scores with the same rows", async () => {
    const engine = new FakeEngine({ seed: 3 });
    const V = engine.info.vocabSize;
    const session = await engine.startDecode([22, 16], 3);
    const first = await session.prefill();
    expect(first.logits.length).toBe(3 * V); // [B, V]
    expect(Array.from(first.logits.subarray(V, 2 * V))).toEqual(Array.from(engine.logitsAfter(16)));
    const next = await session.step(Int32Array.of(40, 41, 42));
    expect(Array.from(next.logits.subarray(2 * V, 3 * V))).toEqual(Array.from(engine.logitsAfter(42)));
    session.close();
    session.close(); // idempotent
    expect(engine.openSessions).toBe(0);
    expect(engine.calls).toEqual([{ op: "prefill", batch: 3 }, { op: "step", batch: 3 }]);

    const { logits } = await engine.score([22, 16], [[40, 50], []]);
    expect(logits[0]!.length).toBe(2 * V); // [L, V]
    expect(Array.from(logits[0]!.subarray(0, V))).toEqual(Array.from(engine.logitsAfter(16)));
    expect(Array.from(logits[0]!.subarray(V))).toEqual(Array.from(engine.logitsAfter(40)));
    expect(logits[1]!.length).toBe(0);
  });

  it("is a pure function of its seed; drift 0 equals the reference exactly", () => {
    const a = new FakeEngine({ seed: 5 });
    const b = new FakeEngine({ seed: 5, drift: 0 });
    const c = new FakeEngine({ seed: 5, drift: 0.5 });
    expect(Array.from(a.logitsAfter(30))).toEqual(Array.from(b.logitsAfter(30)));
    expect(Array.from(a.logitsAfter(30))).not.toEqual(Array.from(c.logitsAfter(30)));
  });

  it("rejects with the abort reason and refuses tokens outside the vocabulary", async () => {
    const engine = new FakeEngine();
    const controller = new AbortController();
    const session = await engine.startDecode([5], 1, { signal: controller.signal });
    controller.abort(new Error("gone"));
    await expect(session.prefill()).rejects.toThrow("gone");
    session.close();
    await expect(engine.score([5], [[1000]])).rejects.toThrow(/token ids/);
    await expect(engine.startDecode([], 1)).rejects.toThrow(/prompt length/);
  });
});
