// One sequence of a batched decode: its seeded sampler, the tokens drawn, the raw logit rows they were drawn
// from (for the guard's exact KL), their log-probabilities, the visible text with stop sequences applied,
// and its pooled activation sketch.
import { logSumExp } from "@tether/shared/math/softmax";
import type { Pcg32 } from "@tether/shared/sampling/prng";
import { sampleToken, type SamplingParams } from "@tether/shared/sampling/sample";
import type { StopSequences } from "@tether/shared/sampling/stop";
import { MeanPool } from "@tether/shared/sketch/score";
import type { Tokenizer } from "../engine/engine";
import { IncrementalDetokenizer } from "./detokenizer";

export type FinishReason = "stop" | "length";

/** Decoding settings shared by the sequences of one request. */
export interface DecodeSettings {
  sampling: SamplingParams;
  maxTokens: number; // sampled tokens per sequence, ≥ 0
  stop: StopSequences;
  eosIds: ReadonlySet<number>;
  topLogprobs: number | null; // alternatives per token; null = no logprobs at all
  keepLogits: boolean; // keep raw rows for the drift guard's KL
  sketchWidth: number; // m of the engine's sketch rows; 0 = none
}

/** A token's log-probability under the RAW distribution (before temperature/top-p), as vLLM reports. */
export interface TokenLogprob {
  id: number;
  logprob: number; // natural log
  top: { id: number; logprob: number }[]; // the `topLogprobs` most likely ids, descending
}

/**
 * What the response renderers read of a sequence: the SequenceState itself, or its mirror on the main thread
 * when the job ran in an engine worker (engine/pool-protocol.ts).
 */
export interface SequenceView {
  readonly tokens: number[];
  readonly logprobs: TokenLogprob[];
  readonly starts: number[];
  readonly text: string;
  readonly finished: boolean;
  readonly finishReason: FinishReason;
  releasable(): number;
  visibleTokens(): number;
}

/**
 * @example
 * const seq = new SequenceState(tokenizer, settings, new Pcg32(seed, stream), vocab);
 * seq.sampleAndPush(logitsRow); // until seq.finished
 */
export class SequenceState implements SequenceView {
  readonly tokens: number[] = [];
  /** Raw rows the tokens were sampled from (views into the engine's [B, V] outputs), when keepLogits. */
  rows: Float32Array[] = [];
  readonly logprobs: TokenLogprob[] = [];
  /** Character offset in `text` where each token's text starts. */
  readonly starts: number[] = [];
  /** Decoded text; after a stop match it is cut before the stop string. */
  text = "";
  finished = false;
  finishReason: FinishReason = "length";
  readonly pools: MeanPool[] = [];
  private readonly detok: IncrementalDetokenizer;

  constructor(
    tokenizer: Tokenizer,
    readonly settings: DecodeSettings,
    private readonly rng: Pcg32,
    readonly vocab: number,
    sketchLayers = 0,
  ) {
    this.detok = new IncrementalDetokenizer(tokenizer);
    if (settings.sketchWidth > 0) for (let l = 0; l < sketchLayers; l++) this.pools.push(new MeanPool(settings.sketchWidth));
    if (settings.maxTokens === 0) this.finish("length");
  }

  /** Draws the next token from a raw row with this sequence's own PRNG stream, then records it. */
  sampleAndPush(row: Float32Array): number {
    const id = sampleToken(row, this.settings.sampling, this.rng.nextFloat());
    this.push(id, row);
    return id;
  }

  /** Records a token (sampled here, or replayed) and its row; applies eos, stop strings and max_tokens. */
  push(id: number, row: Float32Array | null): void {
    if (this.finished) throw new Error("push on a finished sequence");
    this.tokens.push(id);
    if (row && this.settings.keepLogits) this.rows.push(row);
    if (row && this.settings.topLogprobs !== null) this.logprobs.push(tokenLogprob(row, id, this.settings.topLogprobs));
    if (this.settings.eosIds.has(id)) {
      this.finish("stop");
      this.starts.push(this.text.length); // after the flush: eos has no text
      return;
    }
    this.starts.push(this.text.length);
    const from = this.text.length;
    this.text += this.detok.push(id);
    if (this.cutAtStop(from)) return;
    if (this.tokens.length >= this.settings.maxTokens) this.finish("length");
  }

  /** Text that can be shown now: all of it once finished, else up to where a stop string may be forming. */
  releasable(): number {
    return this.finished ? this.text.length : this.settings.stop.safePrefix(this.text);
  }

  /**
   * Tokens whose text starts inside the final text: what logprobs report. Excludes the eos token and tokens
   * wholly inside a cut stop string; a token straddling the cut is kept (its text is clipped).
   */
  visibleTokens(): number {
    let count = 0;
    while (count < this.tokens.length && this.starts[count]! < this.text.length) count++;
    return count;
  }

  /** Raw rows packed as one [L, V] block (for sequenceKl), then released. */
  takeLogits(): Float32Array {
    const block = new Float32Array(this.rows.length * this.vocab);
    this.rows.forEach((row, t) => block.set(row, t * this.vocab));
    this.rows = [];
    return block;
  }

  // Releases text held for an incomplete character, then checks stop strings once more.
  private finish(reason: FinishReason): void {
    if (this.finished) return;
    const from = this.text.length;
    this.text += this.detok.flush();
    this.finished = true;
    this.finishReason = this.cutAtStop(from) ? "stop" : reason;
  }

  // Stop strings end the sequence; the text excludes them (OpenAI). Only matches ending after `from` are new.
  private cutAtStop(from: number): boolean {
    const match = this.settings.stop.find(this.text, from);
    if (!match) return false;
    this.text = this.text.slice(0, match.index);
    this.finished = true;
    this.finishReason = "stop";
    return true;
  }
}

/** log p(id) and the k most likely alternatives from one raw row: log p = x − logsumexp(x) (no [V] copy). */
export function tokenLogprob(row: Float32Array, id: number, k: number): TokenLogprob {
  const lse = logSumExp(row);
  const top: { id: number; logprob: number }[] = [];
  if (k > 0) {
    // insertion into a descending list of at most k (k ≤ 20); ties keep the lower id first
    for (let i = 0; i < row.length; i++) {
      const v = row[i]! - lse;
      if (top.length === k && v <= top[k - 1]!.logprob) continue;
      let j = top.length;
      while (j > 0 && top[j - 1]!.logprob < v) j--;
      top.splice(j, 0, { id: i, logprob: v });
      if (top.length > k) top.pop();
    }
  }
  return { id, logprob: row[id]! - lse, top };
}
