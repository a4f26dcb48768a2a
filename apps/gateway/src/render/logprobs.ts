// Log-probabilities in OpenAI's two wire shapes: the legacy completions arrays and chat's per-token
// objects. Values are natural logs of the RAW model distribution (before temperature/top-p), as vLLM.
import type { ChatLogprobs, CompletionLogprobs } from "@tether/shared/schemas/openai-response";
import type { SequenceView, TokenLogprob } from "../decode/sequence";
import type { Tokenizer } from "../engine/engine";
import type { EchoLogprobs } from "../service/run";

/** One reported token: its id, log-probability (null: first echoed prompt token) and text offset. */
export interface LogprobPiece {
  id: number;
  lp: TokenLogprob | null;
  offset: number; // character offset in the choice's text
}

/** Generated tokens [from, to) of a sequence, offsets shifted by `base` (the echoed prompt's length). */
export function sequencePieces(seq: SequenceView, from: number, to: number, base = 0): LogprobPiece[] {
  const out: LogprobPiece[] = [];
  for (let i = from; i < to; i++) out.push({ id: seq.tokens[i]!, lp: seq.logprobs[i] ?? null, offset: base + seq.starts[i]! });
  return out;
}

/** Echoed prompt tokens; offsets are cumulative lengths of each token's own text. */
export function echoPieces(tokenizer: Tokenizer, echo: EchoLogprobs): LogprobPiece[] {
  let offset = 0;
  return echo.ids.map((id, t) => {
    const piece = { id, lp: echo.logprobs[t] ?? null, offset };
    offset += tokenizer.decode([id]).length;
    return piece;
  });
}

/** Legacy completions shape; `top_logprobs` holds the top alternatives plus the sampled token (OpenAI). */
export function completionLogprobs(tokenizer: Tokenizer, pieces: readonly LogprobPiece[]): CompletionLogprobs {
  const text = (id: number) => tokenizer.decode([id]);
  return {
    tokens: pieces.map((p) => text(p.id)),
    token_logprobs: pieces.map((p) => p.lp?.logprob ?? null),
    top_logprobs: pieces.map((p) => {
      if (!p.lp) return null;
      const dict: Record<string, number> = {};
      for (const alt of p.lp.top) dict[text(alt.id)] ??= alt.logprob;
      dict[text(p.id)] ??= p.lp.logprob;
      return dict;
    }),
    text_offset: pieces.map((p) => p.offset),
  };
}

/** Chat shape: one entry per token with its UTF-8 bytes and alternatives. */
export function chatLogprobs(tokenizer: Tokenizer, pieces: readonly LogprobPiece[]): ChatLogprobs {
  const entry = (id: number, logprob: number) => ({ token: tokenizer.decode([id]), logprob, bytes: tokenizer.tokenBytes(id) });
  return {
    content: pieces.map((p) => ({
      ...entry(p.id, p.lp?.logprob ?? 0),
      top_logprobs: (p.lp?.top ?? []).map((alt) => entry(alt.id, alt.logprob)),
    })),
  };
}
