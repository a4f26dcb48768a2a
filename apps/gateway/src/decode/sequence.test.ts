// A sequence's bookkeeping: raw logprobs (checked against a float64 log-softmax), stop strings cut across
// token boundaries, eos, max_tokens, and incremental detokenization of split UTF-8 characters.
import { Pcg32 } from "@tether/shared/sampling/prng";
import { StopSequences } from "@tether/shared/sampling/stop";
import { describe, expect, it } from "vitest";
import type { Tokenizer } from "../engine/engine";
import { FakeTokenizer } from "../../../../test/support/fake-tokenizer";
import { logSoftmax64 } from "../../../../test/support/gateway-app";
import { IncrementalDetokenizer } from "./detokenizer";
import { SequenceState, tokenLogprob, type DecodeSettings } from "./sequence";

const tok = new FakeTokenizer();
const V = tok.vocabSize;

function settings(over: Partial<DecodeSettings> = {}): DecodeSettings {
  return { sampling: { temperature: 1 }, maxTokens: 50, stop: new StopSequences([]), eosIds: new Set([0]), topLogprobs: 2, keepLogits: true, sketchWidth: 0, ...over };
}

function row(seed: number): Float32Array {
  const rng = new Pcg32(seed);
  return Float32Array.from({ length: V }, () => 4 * rng.nextFloat());
}

describe("tokenLogprob", () => {
  it("reports the raw log-probability and the top alternatives, descending", () => {
    const r = row(1);
    const lp = tokenLogprob(r, 42, 3);
    const ref = logSoftmax64(r);
    expect(lp.logprob).toBeCloseTo(ref[42]!, 12);
    const best = ref.map((v, id) => ({ id, v })).sort((a, b) => b.v - a.v).slice(0, 3);
    expect(lp.top.map((t) => t.id)).toEqual(best.map((b) => b.id));
    lp.top.forEach((t, i) => expect(t.logprob).toBeCloseTo(best[i]!.v, 12));
  });
});

describe("SequenceState", () => {
  it("cuts a stop string that spans several tokens and reports only the tokens before it", () => {
    const seq = new SequenceState(tok, settings({ stop: new StopSequences(["c=d"]) }), new Pcg32(1), V);
    for (const ch of "ab c=d e") {
      if (seq.finished) break;
      seq.push(tok.encode(ch)[0]!, row(ch.charCodeAt(0)));
    }
    expect(seq.text).toBe("ab ");
    expect(seq.finishReason).toBe("stop");
    expect(seq.tokens.length).toBe(6); // generation ran until "c=d" was complete
    expect(seq.visibleTokens()).toBe(3);
  });

  it("holds back a possible stop prefix while streaming", () => {
    const seq = new SequenceState(tok, settings({ stop: new StopSequences(["xyz"]) }), new Pcg32(1), V);
    for (const ch of "abxy") seq.push(tok.encode(ch)[0]!, row(1));
    expect(seq.text).toBe("abxy");
    expect(seq.releasable()).toBe(2);
  });

  it("ends at eos (no text) and at max_tokens", () => {
    const a = new SequenceState(tok, settings(), new Pcg32(1), V);
    a.push(70, row(2));
    a.push(0, row(3));
    expect([a.text, a.finishReason, a.visibleTokens(), a.tokens.length]).toEqual(["a", "stop", 1, 2]);
    const b = new SequenceState(tok, settings({ maxTokens: 2 }), new Pcg32(1), V);
    b.push(70, row(2));
    b.push(71, row(3));
    expect([b.text, b.finished, b.finishReason]).toEqual(["ab", true, "length"]);
    expect(b.takeLogits().length).toBe(2 * V);
    expect(new SequenceState(tok, settings({ maxTokens: 0 }), new Pcg32(1), V).finished).toBe(true);
  });

  it("samples with its own stream: same seed, same tokens", () => {
    const draw = (seed: number) => {
      const seq = new SequenceState(tok, settings({ maxTokens: 20 }), new Pcg32(seed, 9), V);
      for (let i = 0; i < 20; i++) seq.sampleAndPush(row(i));
      return seq.tokens;
    };
    expect(draw(4)).toEqual(draw(4));
    expect(draw(4)).not.toEqual(draw(5));
  });
});

describe("IncrementalDetokenizer", () => {
  // A byte-level tokenizer: one token per UTF-8 byte, like Qwen2's alphabet before merges.
  const bytes: Tokenizer = {
    encode: (text) => Array.from(new TextEncoder().encode(text)),
    decode: (ids) => new TextDecoder().decode(Uint8Array.from(Array.from(ids))),
    tokenBytes: (id) => [id],
  };

  it("releases a multi-byte character only when its last byte arrives", () => {
    const d = new IncrementalDetokenizer(bytes);
    const ids = bytes.encode("aé€b");
    const out = ids.map((id) => d.push(id));
    expect(out).toEqual(["a", "", "é", "", "", "€", "b"]);
    expect(out.join("")).toBe("aé€b");
  });

  it("flushes an incomplete character at the end as U+FFFD", () => {
    const d = new IncrementalDetokenizer(bytes);
    expect(d.push(0xe2)).toBe("");
    expect(d.flush()).toBe("\uFFFD");
  });
});
