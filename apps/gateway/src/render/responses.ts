// Non-streamed response bodies of /v1/completions and /v1/chat/completions, in OpenAI's shapes with
// Tether's per-choice `drift`.
import type { ChatCompletionResponse, CompletionResponse, Usage } from "@tether/shared/schemas/openai-response";
import type { Tokenizer } from "../engine/engine";
import type { GenerationPlan } from "../service/plan";
import type { RunResult } from "../service/run";
import { chatLogprobs, completionLogprobs, echoPieces, sequencePieces } from "./logprobs";

/** id / created / model of one response (and of every chunk of a stream). */
export interface ResponseMeta {
  id: string; // "cmpl-…" or "chatcmpl-…"
  created: number; // Unix seconds
  model: string;
}

/** Prompt tokens counted once per prompt (not per choice), completion tokens of the returned choices. */
export function usageOf(plan: GenerationPlan, result: RunResult): Usage {
  const prompt_tokens = plan.prompts.reduce((a, p) => a + p.ids.length, 0);
  const completion_tokens = result.choices.reduce((a, c) => a + c.sequence.tokens.length, 0);
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}

export function completionBody(meta: ResponseMeta, tokenizer: Tokenizer, plan: GenerationPlan, result: RunResult): CompletionResponse {
  return {
    ...meta,
    object: "text_completion",
    choices: result.choices.map((c) => {
      const prompt = Math.floor(c.index / plan.n);
      const echoText = plan.echo ? plan.prompts[prompt]!.text : "";
      const echo = result.echo[prompt];
      const seq = c.sequence;
      const pieces = [...(plan.echo && echo ? echoPieces(tokenizer, echo) : []), ...sequencePieces(seq, 0, seq.visibleTokens(), echoText.length)];
      return {
        index: c.index,
        text: echoText + seq.text,
        logprobs: plan.topLogprobs === null ? null : completionLogprobs(tokenizer, pieces),
        finish_reason: seq.finishReason,
        drift: c.drift,
      };
    }),
    usage: usageOf(plan, result),
  };
}

export function chatBody(meta: ResponseMeta, tokenizer: Tokenizer, plan: GenerationPlan, result: RunResult): ChatCompletionResponse {
  return {
    ...meta,
    object: "chat.completion",
    choices: result.choices.map((c) => ({
      index: c.index,
      message: { role: "assistant" as const, content: c.sequence.text, refusal: null },
      logprobs: plan.topLogprobs === null ? null : chatLogprobs(tokenizer, sequencePieces(c.sequence, 0, c.sequence.visibleTokens())),
      finish_reason: c.sequence.finishReason,
      drift: c.drift,
    })),
    usage: usageOf(plan, result),
  };
}
