// OpenAI-compatible response bodies and SSE chunks, each choice carrying Tether's `drift` object.
// The gateway builds these; tests and clients parse them. Log-probabilities are natural logs of the
// raw model distribution (before temperature/top-p), as vLLM reports them.

import { z } from "zod";
import { bool, int, real } from "./common";

/**
 * Per-choice drift against the reference, over the choice's completion tokens (SPEC "drift guard" 3):
 * KL(π_θ‖π_ref) per token computed exactly from the full raw next-token distributions.
 */
export const drift = z
  .strictObject({
    kl_mean: real(0), // nats/token: kl_sum ÷ completion tokens (0 for an empty completion)
    kl_max: real(0), // nats: the largest single-token KL
    kl_sum: real(0), // nats: Σ_t KL_t over the completion
    log_ratio: real(), // nats: Σ_t log π_θ(y_t) − log π_ref(y_t) over the sampled tokens (any sign)
    accepted: bool(), // a candidate passed the guard (also true when the guard was off)
    rounds: int(0), // rounds of candidates drawn (0 when the guard was off)
    fallback: z.enum(["reference", "least_kl"]).nullable(), // what answered when nothing was accepted
  })
  .superRefine((d, ctx) => {
    if (d.accepted === (d.fallback !== null)) {
      ctx.addIssue({ code: "custom", path: ["fallback"], message: "must be null exactly when accepted is true" });
    }
  });
export type Drift = z.infer<typeof drift>;

export const finishReason = z.enum(["stop", "length"]); // stop sequence / EOS, or max_tokens / context end
export type FinishReason = z.infer<typeof finishReason>;

export const usage = z.object({
  prompt_tokens: int(0),
  completion_tokens: int(0), // tokens returned in choices (rejected candidates are not billed here)
  total_tokens: int(0),
});
export type Usage = z.infer<typeof usage>;

/** Legacy completions logprobs: parallel arrays, one entry per token. */
export const completionLogprobs = z
  .object({
    tokens: z.array(z.string()),
    token_logprobs: z.array(z.number().nullable()), // null for the first echoed prompt token (no context)
    top_logprobs: z.array(z.record(z.string(), z.number()).nullable()).nullable(), // token text → logprob
    text_offset: z.array(int(0)), // character offset of each token in the choice's text
  })
  .superRefine((l, ctx) => {
    const n = l.tokens.length;
    for (const key of ["token_logprobs", "text_offset", "top_logprobs"] as const) {
      const len = l[key]?.length ?? n;
      if (len !== n) ctx.addIssue({ code: "custom", path: [key], message: `must have one entry per token (${len} ≠ ${n})` });
    }
  });
export type CompletionLogprobs = z.infer<typeof completionLogprobs>;

const header = {
  id: z.string(), // "cmpl-…" / "chatcmpl-…"; the x-tether-request-id header carries the same request's id
  created: int(0), // Unix seconds
  model: z.string(),
  system_fingerprint: z.string().nullish(),
};

export const completionChoice = z.object({
  index: int(0), // prompt-major: prompt i, sample j → i·n + j
  text: z.string(),
  logprobs: completionLogprobs.nullable(),
  finish_reason: finishReason,
  drift,
});
export type CompletionChoice = z.infer<typeof completionChoice>;

/** POST /v1/completions response. */
export const completionResponse = z.object({
  ...header,
  object: z.literal("text_completion"),
  choices: z.array(completionChoice),
  usage,
});
export type CompletionResponse = z.infer<typeof completionResponse>;

/** One SSE `data:` payload of a streamed completion; the choice's last chunk carries finish_reason and drift. */
export const completionChunk = z.object({
  ...header,
  object: z.literal("text_completion"),
  choices: z.array(completionChoice.extend({ finish_reason: finishReason.nullable(), drift: drift.optional() })),
  usage: usage.nullish(), // only on the final chunk with stream_options.include_usage (choices: [])
});
export type CompletionChunk = z.infer<typeof completionChunk>;

const topLogprob = z.object({
  token: z.string(),
  logprob: z.number(), // natural log
  bytes: z.array(int(0, 255)).nullable(), // UTF-8 bytes of the token (tokens may split characters)
});

/** Chat logprobs: one entry per generated token with its alternatives. */
export const chatLogprobs = z.object({
  content: z.array(topLogprob.extend({ top_logprobs: z.array(topLogprob) })).nullable(),
});
export type ChatLogprobs = z.infer<typeof chatLogprobs>;

export const chatChoice = z.object({
  index: int(0),
  message: z.object({ role: z.literal("assistant"), content: z.string().nullable(), refusal: z.null().optional() }),
  logprobs: chatLogprobs.nullable(),
  finish_reason: finishReason,
  drift,
});
export type ChatChoice = z.infer<typeof chatChoice>;

/** POST /v1/chat/completions response. */
export const chatCompletionResponse = z.object({
  ...header,
  object: z.literal("chat.completion"),
  choices: z.array(chatChoice),
  usage,
});
export type ChatCompletionResponse = z.infer<typeof chatCompletionResponse>;

/** One SSE chunk of a streamed chat completion: the first delta has the role, later ones content. */
export const chatCompletionChunk = z.object({
  ...header,
  object: z.literal("chat.completion.chunk"),
  choices: z.array(
    z.object({
      index: int(0),
      delta: z.object({ role: z.literal("assistant").optional(), content: z.string().nullish() }),
      logprobs: chatLogprobs.nullish(),
      finish_reason: finishReason.nullable(),
      drift: drift.optional(), // on the choice's last chunk
    }),
  ),
  usage: usage.nullish(),
});
export type ChatCompletionChunk = z.infer<typeof chatCompletionChunk>;

/** GET /v1/models. */
export const modelList = z.object({
  object: z.literal("list"),
  data: z.array(z.object({ id: z.string(), object: z.literal("model"), created: int(0), owned_by: z.string() })),
});
export type ModelList = z.infer<typeof modelList>;
