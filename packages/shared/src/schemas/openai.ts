// OpenAI-compatible request bodies for POST /v1/completions and /v1/chat/completions (snake_case wire
// fields), plus Tether's `drift_guard` extension. Parsing applies OpenAI's defaults, so handlers read
// plain values (temperature: number, stop: string[]).
//
// `model` is required (as at OpenAI). Unknown fields are accepted and dropped (z.object strips them),
// because official clients and SDK wrappers send fields we have no use for — except the sampling
// extensions of other servers (vLLM, TGI, llama.cpp: repetition_penalty, ignore_eos, use_beam_search, …),
// which are refused by name unless sent at their neutral value (VENDOR_FIELDS below): dropping them would
// silently answer from another distribution than the one asked for. Known fields fall in three groups:
//   used      — validated by type and range (below, each with its unit and default);
//   ignored   — accepted with any value, no effect: user, metadata, store, service_tier, tools,
//               tool_choice "auto"/"none", parallel_tool_calls, functions, stream_options when not
//               streaming, reasoning_effort, modalities, prediction, web_search_options;
//   refused   — accepted only at their neutral value, else 400 naming the field, because honouring them
//               silently would return samples from a distribution other than the one asked for:
//               presence_penalty / frequency_penalty ≠ 0, non-empty logit_bias, best_of ≠ n, non-empty
//               suffix, response_format other than "text", tool_choice "required" or a named tool.

import { z } from "zod";
import { bool, formatReceived, int, real, text } from "./common";
import { driftGuardRequest } from "./drift-guard";

/** Same value, or `fallback` when the client sent null or nothing (OpenAI treats both as "default"). */
function orDefault<T extends z.ZodType, D extends z.output<T>>(schema: T, fallback: D) {
  return schema.nullish().transform((v): z.output<T> => (v ?? fallback) as z.output<T>);
}

const tokenId = int(0, 1 << 24);

/** Stop sequences: a string or up to 4; normalised to an array. */
const stop = z
  .union([text(), z.array(text()).max(4, { error: "must have at most 4 stop sequences" })], {
    error: "must be a string or an array of up to 4 non-empty strings",
  })
  .nullish()
  .transform((v) => (v == null ? [] : typeof v === "string" ? [v] : v));

/** Fields both endpoints share. */
const common = {
  model: text(), // served model id (GET /v1/models); required, as at OpenAI
  temperature: orDefault(real(0, 2), 1), // 0 = greedy; range as OpenAI
  top_p: orDefault(real({ value: 0, exclusive: true }, 1), 1), // nucleus mass; 1 = off
  top_k: orDefault(int(-1), 0), // keep the k most likely tokens; 0 or −1 = off (vLLM)
  min_p: orDefault(real(0, 1), 0), // drop tokens below min_p · p_max; 0 = off
  n: orDefault(int(1), 1), // choices; upper bound from config limits.max_n
  stop,
  seed: int().nullish().transform((v) => v ?? null), // same seed + input → same tokens; may be negative (OpenAI)
  stream: orDefault(bool(), false), // SSE with OpenAI's chunk shapes, ends with data: [DONE]
  stream_options: z
    .object({ include_usage: orDefault(bool(), false) }) // one extra chunk with usage before [DONE]
    .nullish()
    .transform((v) => v ?? { include_usage: false }),
  user: z.string().nullish(), // ignored (end-user id for abuse tracking at OpenAI)
  presence_penalty: real(-2, 2).nullish(), // refused unless 0
  frequency_penalty: real(-2, 2).nullish(), // refused unless 0
  logit_bias: z.record(z.string(), real(-100, 100)).nullish(), // refused unless empty
  drift_guard: driftGuardRequest.optional(), // Tether: partial guard settings, or false
};

type Ctx = z.RefinementCtx;
type Refusable = { presence_penalty?: number | null; frequency_penalty?: number | null; logit_bias?: Record<string, number> | null };

function refuse(ctx: Ctx, field: string, why: string) {
  ctx.addIssue({ code: "custom", path: [field], message: why });
}

function refuseCommon(r: Refusable, ctx: Ctx) {
  for (const field of ["presence_penalty", "frequency_penalty"] as const) {
    if (r[field]) refuse(ctx, field, `must be 0 (penalties are not supported; got ${r[field]})`);
  }
  if (r.logit_bias && Object.keys(r.logit_bias).length > 0) refuse(ctx, "logit_bias", "must be empty (logit_bias is not supported)");
}

/**
 * Other servers' sampling extensions, each with its neutral value (sent at it, it is harmless and
 * dropped; any other value is refused by name). `undefined` neutral = only null is neutral.
 */
const VENDOR_FIELDS: Record<string, unknown> = {
  repetition_penalty: 1, // vLLM, TGI
  repeat_penalty: 1, // llama.cpp, Ollama
  length_penalty: 1, // vLLM beam search
  ignore_eos: false, // vLLM
  use_beam_search: false, // vLLM < 0.6
  num_beams: 1, // TGI, transformers
  early_stopping: false, // vLLM beam search
  min_tokens: 0, // vLLM
  min_new_tokens: 0, // transformers
  max_new_tokens: undefined, // TGI / transformers: use max_tokens
  stop_token_ids: [], // vLLM
  include_stop_str_in_output: false, // vLLM
  skip_special_tokens: true, // vLLM
  spaces_between_special_tokens: true, // vLLM
  bad_words: [], // vLLM
  allowed_token_ids: undefined, // vLLM
  typical_p: 1, // TGI, transformers
  top_a: 0, // text-generation-webui
  tfs: 1, // llama.cpp
  tfs_z: 1, // llama.cpp
  mirostat: 0, // llama.cpp
  no_repeat_ngram_size: 0, // transformers
  do_sample: undefined, // TGI / transformers (use temperature 0 for greedy)
  guided_json: undefined, // vLLM structured output
  guided_regex: undefined,
  guided_choice: undefined,
  guided_grammar: undefined,
  structured_outputs: undefined, // vLLM ≥ 0.10
  grammar: undefined, // llama.cpp, TGI
  json_schema: undefined, // llama.cpp
  truncate_prompt_tokens: undefined, // vLLM
  prompt_logprobs: undefined, // vLLM
  logits_processors: undefined, // vLLM
};

function isNeutral(value: unknown, neutral: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (Array.isArray(neutral)) return Array.isArray(value) && value.length === 0;
  return neutral !== undefined && value === neutral;
}

/**
 * `schema`, after refusing other servers' sampling extensions by name (the first one found is the error).
 * Chat additionally refuses `best_of` and `echo`, which vLLM accepts there and OpenAI's chat does not have.
 */
function refusingVendorFields<T extends z.ZodType>(schema: T, extra: Record<string, unknown> = {}) {
  const fields = { ...VENDOR_FIELDS, ...extra };
  return z
    .unknown()
    .superRefine((raw, ctx) => {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return;
      for (const [field, neutral] of Object.entries(fields)) {
        const value = (raw as Record<string, unknown>)[field];
        if (!Object.hasOwn(raw, field) || isNeutral(value, neutral)) continue;
        const allowed = neutral === undefined ? "" : ` (only ${JSON.stringify(neutral)}, its neutral value, is accepted)`;
        refuse(ctx, field, `is not supported by this gateway${allowed}; it is another server's sampling extension and ignoring it would change the answer`);
      }
    })
    .pipe(schema);
}

/** /v1/completions `prompt`: text, texts, token ids, or lists of token ids. */
export const completionPrompt = z.union(
  [
    z.string(),
    z.array(z.string()).min(1, { error: "must not be an empty array" }),
    z.array(tokenId).min(1, { error: "must not be an empty array" }),
    z.array(z.array(tokenId).min(1, { error: "must not be an empty token list" })).min(1, { error: "must not be an empty array" }),
  ],
  { error: (iss) => (iss.input === undefined ? "is required" : "must be a string, an array of strings, an array of token ids or an array of token-id arrays") },
);
export type CompletionPrompt = z.infer<typeof completionPrompt>;

/**
 * The prompts of a request, one entry per prompt (a string or a token-id list); the gateway produces
 * n choices for each, indexed prompt-major as OpenAI does.
 * @example promptList([[1, 2], [3]]) // [[1, 2], [3]]; promptList([1, 2]) // [[1, 2]]
 */
export function promptList(prompt: CompletionPrompt): Array<string | number[]> {
  if (typeof prompt === "string") return [prompt];
  if (prompt.every((p) => typeof p === "number")) return [prompt as number[]];
  return prompt as Array<string | number[]>;
}

/**
 * POST /v1/completions body.
 * @example completionRequest.parse({ model: "tether-demo", prompt: "1+1=", max_tokens: 4 })
 */
export const completionRequest = refusingVendorFields(
  z
    .object({
      ...common,
      prompt: completionPrompt,
      max_tokens: orDefault(int(0), 16), // completion tokens per choice; 16 as OpenAI; bounded by the context window
      echo: orDefault(bool(), false), // prepend the prompt (and its logprobs) to each choice
      logprobs: int(0, 20).nullish().transform((v) => v ?? null), // top alternatives per token; null = none
      best_of: int(1).nullish(), // refused unless = n
      suffix: z.string().nullish(), // refused unless empty
    })
    .superRefine((r, ctx) => {
      refuseCommon(r, ctx);
      if (r.best_of != null && r.best_of !== r.n) refuse(ctx, "best_of", `must equal n (${r.n}); best_of is not supported`);
      if (r.suffix) refuse(ctx, "suffix", "must be empty (insertion is not supported)");
    }),
);
export type CompletionRequest = z.infer<typeof completionRequest>;

/** A content part; only text exists for a text-only model. */
const textPart = z.object({
  type: z.literal("text", { error: (iss) => `must be "text" (only text content parts are supported; got ${formatReceived(iss.input)})` }),
  text: z.string({ error: "must be a string" }),
});
const content = z.union([z.string(), z.array(textPart).min(1, { error: "must not be an empty array" })], {
  error: "must be a string or an array of text parts",
});

const CHAT_ROLES = ["system", "developer", "user", "assistant", "tool"] as const;

/** One chat message. `developer` is OpenAI's newer name for `system` and is rendered as such. */
export const chatMessage = z.discriminatedUnion(
  "role",
  [
    z.object({ role: z.literal(["system", "developer"]), content, name: z.string().optional() }),
    z.object({ role: z.literal("user"), content, name: z.string().optional() }),
    z.object({
      role: z.literal("assistant"),
      content: content.nullish(), // null when the turn was only tool calls
      name: z.string().optional(),
      tool_calls: z.array(z.looseObject({})).optional(), // passed to the chat template verbatim
    }),
    z.object({ role: z.literal("tool"), content, tool_call_id: text() }),
  ],
  {
    error: (iss) => {
      // zod also routes "not an object" here, though its types only admit invalid_union
      if ((iss.code as string) === "invalid_type") return "must be an object with a role and content";
      const role = (iss.input as { role?: unknown } | undefined)?.role;
      return role === undefined ? "is required" : `must be one of ${CHAT_ROLES.map((r) => `"${r}"`).join(", ")} (got ${formatReceived(role)})`;
    },
  },
);
export type ChatMessage = z.infer<typeof chatMessage>;

/** A message's text: the string, or its text parts joined (OpenAI concatenates them). */
export function messageText(message: Pick<ChatMessage, "content">): string {
  const c = message.content;
  return c == null ? "" : typeof c === "string" ? c : c.map((p) => p.text).join("");
}

/**
 * POST /v1/chat/completions body. `max_completion_tokens` (OpenAI's current name) and `max_tokens`
 * (deprecated) are merged into `max_tokens`; null = up to the context window.
 * @example chatCompletionRequest.parse({ model: "tether-demo", messages: [{ role: "user", content: "hi" }] })
 */
export const chatCompletionRequest = refusingVendorFields(
  z
    .object({
      ...common,
      messages: z.array(chatMessage, { error: (iss) => (iss.input === undefined ? "is required" : "must be an array of messages") }).min(1, {
        error: "must contain at least one message",
      }),
      max_tokens: int(1).nullish(), // completion tokens per choice
      max_completion_tokens: int(1).nullish(), // same; wins when both are sent and agree
      logprobs: orDefault(bool(), false), // return the chosen tokens' log-probabilities
      top_logprobs: int(0, 20).nullish(), // alternatives per token; needs logprobs: true
      response_format: z.looseObject({ type: z.string() }).nullish(), // refused unless { type: "text" }
      tool_choice: z.union([z.string(), z.looseObject({})]).nullish(), // ignored if "auto"/"none", else refused
    })
    .superRefine((r, ctx) => {
      refuseCommon(r, ctx);
      if (r.max_tokens != null && r.max_completion_tokens != null && r.max_tokens !== r.max_completion_tokens) {
        refuse(ctx, "max_completion_tokens", `must equal max_tokens when both are sent (${r.max_completion_tokens} ≠ ${r.max_tokens})`);
      }
      if (r.top_logprobs != null && !r.logprobs) refuse(ctx, "top_logprobs", "needs logprobs: true");
      if (r.response_format && r.response_format.type !== "text") {
        refuse(ctx, "response_format", `must be { "type": "text" } (structured output is not supported; got type ${JSON.stringify(r.response_format.type)})`);
      }
      if (r.tool_choice != null && r.tool_choice !== "auto" && r.tool_choice !== "none") {
        refuse(ctx, "tool_choice", 'must be "auto" or "none" (tool calling is not supported)');
      }
    })
    .transform(({ max_completion_tokens, top_logprobs, ...r }) => ({
      ...r,
      max_tokens: max_completion_tokens ?? r.max_tokens ?? null,
      top_logprobs: top_logprobs ?? 0,
    })),
  { best_of: 1, echo: false },
);
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequest>;
