// Server-sent events in OpenAI's chunk shapes: one chunk per token (text plus, when asked, its logprobs),
// a closing chunk per choice with finish_reason and drift, an optional usage chunk, then `data: [DONE]`.
//
// Live (guard off): text is released as it is decoded, but never past StopSequences.safePrefix, so the
// start of a stop string that is still forming is never sent and never has to be taken back.
// Guarded: a candidate may still be rejected, so a choice's chunks are sent when the guard has accepted it
// (its time to first token is the guard's time; the chunks have the same shapes).
import type { Usage } from "@tether/shared/schemas/openai-response";
import type { SequenceView } from "../decode/sequence";
import type { Tokenizer } from "../engine/engine";
import type { ChoiceOutcome } from "../guard/job";
import type { GenerationPlan } from "../service/plan";
import type { EchoLogprobs } from "../service/run";
import { chatLogprobs, completionLogprobs, echoPieces, sequencePieces, type LogprobPiece } from "./logprobs";
import type { ResponseMeta } from "./responses";

/** The endpoint-specific payloads. */
export interface ChunkFormat {
  opening(index: number): unknown | null; // chat: the role; completions: the echoed prompt (or nothing)
  piece(index: number, text: string, pieces: LogprobPiece[]): unknown;
  closing(outcome: ChoiceOutcome): unknown;
  usage(usage: Usage): unknown;
  /** Echo data of prompt i arrives before its choices. */
  echo: (EchoLogprobs | null)[];
  echoLength(index: number): number;
}

/** Chunk formats of both endpoints. `usage: null` rides on every chunk when include_usage, as OpenAI. */
export function chunkFormat(meta: ResponseMeta, tokenizer: Tokenizer, plan: GenerationPlan): ChunkFormat {
  const usageNull = plan.includeUsage ? { usage: null } : {};
  const lp = plan.topLogprobs !== null;
  const echoText = (index: number) => (plan.echo ? plan.prompts[Math.floor(index / plan.n)]!.text : "");
  if (plan.endpoint === "chat.completions") {
    const chunk = (choice: unknown) => ({ ...meta, object: "chat.completion.chunk", choices: [choice], ...usageNull });
    return {
      echo: [],
      echoLength: () => 0,
      opening: (index) => chunk({ index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }),
      piece: (index, text, pieces) => chunk({ index, delta: { content: text }, logprobs: lp ? chatLogprobs(tokenizer, pieces) : null, finish_reason: null }),
      closing: (o) => chunk({ index: o.index, delta: {}, logprobs: null, finish_reason: o.sequence.finishReason, drift: o.drift }),
      usage: (usage) => ({ ...meta, object: "chat.completion.chunk", choices: [], usage }),
    };
  }
  const chunk = (choice: unknown) => ({ ...meta, object: "text_completion", choices: [choice], ...usageNull });
  const format: ChunkFormat = {
    echo: [],
    echoLength: (index) => echoText(index).length,
    opening: (index) => {
      if (!plan.echo) return null;
      const echo = format.echo[Math.floor(index / plan.n)];
      const logprobs = lp && echo ? completionLogprobs(tokenizer, echoPieces(tokenizer, echo)) : null;
      return chunk({ index, text: echoText(index), logprobs, finish_reason: null });
    },
    piece: (index, text, pieces) => chunk({ index, text, logprobs: lp ? completionLogprobs(tokenizer, pieces) : null, finish_reason: null }),
    closing: (o) => chunk({ index: o.index, text: "", logprobs: null, finish_reason: o.sequence.finishReason, drift: o.drift }),
    usage: (usage) => ({ ...meta, object: "text_completion", choices: [], usage }),
  };
  return format;
}

/**
 * Turns decode progress and final choices into chunks.
 * @example
 * const streamer = new ChoiceStreamer(format, (payload) => send(payload), plan.topLogprobs !== null);
 * streamer.progress(0, seq); … streamer.done(outcome);
 */
export class ChoiceStreamer {
  private readonly sent = new Map<number, { tokens: number; chars: number }>();

  constructor(
    private readonly format: ChunkFormat,
    private readonly write: (payload: unknown) => void,
    private readonly withLogprobs: boolean,
  ) {}

  /** Live progress of choice `index`: sends every token whose text is safely releasable. */
  progress(index: number, seq: SequenceView): void {
    if (seq.finished) return; // done() sends the tail with the final text
    this.emit(index, seq, seq.tokens.length, false);
  }

  /** The choice is final: sends what is left of its visible text, then its closing chunk. */
  done(outcome: ChoiceOutcome): void {
    this.emit(outcome.index, outcome.sequence, outcome.sequence.visibleTokens(), true);
    this.write(this.format.closing(outcome));
  }

  // Token i spans [starts[i], starts[i+1]) of the text (the last one: to the end of the text).
  private emit(index: number, seq: SequenceView, upTo: number, final: boolean): void {
    const sent = this.open(index);
    const limit = final ? seq.text.length : seq.releasable();
    const base = this.format.echoLength(index);
    for (let i = sent.tokens; i < upTo; i++) {
      const end = Math.min(i + 1 < seq.tokens.length ? seq.starts[i + 1]! : seq.text.length, seq.text.length);
      if (end > limit) break;
      const text = seq.text.slice(sent.chars, Math.max(sent.chars, end));
      if (text !== "" || this.withLogprobs) this.write(this.format.piece(index, text, sequencePieces(seq, i, i + 1, base)));
      sent.tokens = i + 1;
      sent.chars = Math.max(sent.chars, end);
    }
  }

  private open(index: number): { tokens: number; chars: number } {
    let sent = this.sent.get(index);
    if (!sent) {
      sent = { tokens: 0, chars: 0 };
      this.sent.set(index, sent);
      const opening = this.format.opening(index);
      if (opening !== null) this.write(opening);
    }
    return sent;
  }
}
