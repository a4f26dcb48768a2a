// A parsed request → a generation plan: tokenised prompts, token budgets, sampling, seed and the resolved
// drift guard, with every request-dependent limit checked (4xx naming the parameter) before any decoding.
//
// Token budget per prompt of P tokens in a window of C positions: room = C − P.
//   prompt: 1 ≤ P ≤ C (P = C leaves room only for max_tokens 0)
//   max_tokens: absent → min(room, limits.max_tokens) (chat) or min(16, room) (completions, OpenAI's 16);
//               explicit → must be ≤ room and ≤ limits.max_tokens, else 400 naming max_tokens.
import { ParameterError } from "@tether/shared/errors";
import type { SamplingParams } from "@tether/shared/sampling/sample";
import { resolveDriftGuard, type ResolvedDriftGuard } from "@tether/shared/schemas/drift-guard";
import { messageText, promptList, type ChatCompletionRequest, type CompletionRequest } from "@tether/shared/schemas/openai";
import type { GatewayContext } from "../context";
import { unknownChars } from "../engine/unknown-chars";
import { HttpError } from "../http/errors";

export type Endpoint = "completions" | "chat.completions";

export interface PlannedPrompt {
  ids: number[];
  text: string; // what echo shows
  maxTokens: number;
  unknownChars: number; // characters of the client's text the tokenizer could only give <|unk|>
}

export interface GenerationPlan {
  endpoint: Endpoint;
  prompts: PlannedPrompt[];
  n: number; // choices per prompt
  sampling: SamplingParams;
  stop: string[];
  seed: bigint;
  topLogprobs: number | null; // null: no logprobs
  echo: boolean;
  stream: boolean;
  includeUsage: boolean;
  guard: ResolvedDriftGuard;
  user: string | null;
}

/** Fields both endpoints share, after the endpoint-specific ones are mapped. */
interface Common {
  model?: string;
  n: number;
  temperature: number;
  top_p: number;
  top_k: number;
  min_p: number;
  stop: string[];
  seed: number | null;
  stream: boolean;
  stream_options: { include_usage: boolean };
  user?: string | null;
  drift_guard?: CompletionRequest["drift_guard"];
}

function checkCommon(ctx: GatewayContext, r: Common): { guard: ResolvedDriftGuard } {
  // The served name, or the id of a served checkpoint (which pins the request to it).
  if (r.model !== undefined && r.model !== ctx.modelName && r.model !== ctx.policy.info.id) {
    throw HttpError.of(404, `model ${JSON.stringify(r.model)} does not exist; this gateway serves ${JSON.stringify(ctx.modelName)}`, "model", "model_not_found");
  }
  const limits = ctx.config.limits;
  if (r.n > limits.max_n) throw new ParameterError("n", `must be ≤ limits.max_n = ${limits.max_n}`, r.n);
  const guard = resolveDriftGuard(ctx.guardDefaults, r.drift_guard, limits);
  return { guard };
}

function basePlan(ctx: GatewayContext, r: Common, endpoint: Endpoint): Omit<GenerationPlan, "topLogprobs" | "echo" | "prompts"> {
  const { guard } = checkCommon(ctx, r);
  return {
    endpoint,
    n: r.n,
    sampling: { temperature: r.temperature, topP: r.top_p, topK: r.top_k, minP: r.min_p },
    stop: r.stop,
    seed: r.seed === null ? ctx.randomSeed() : BigInt(r.seed),
    stream: r.stream,
    includeUsage: r.stream && r.stream_options.include_usage,
    guard,
    user: r.user ?? null,
  };
}

/** Token ids of one prompt, checked against the vocabulary and the context window. */
function tokenise(ctx: GatewayContext, prompt: string | number[], param: string): { ids: number[]; text: string; unknownChars: number } {
  const tokenizer = ctx.policy.tokenizer;
  const ids = typeof prompt === "string" ? tokenizer.encode(prompt) : prompt;
  const unknown = typeof prompt === "string" ? unknownChars(tokenizer, prompt, ids) : 0;
  return { ...checkIds(ctx, ids, param), text: typeof prompt === "string" ? prompt : tokenizer.decode(ids), unknownChars: unknown };
}

function checkIds(ctx: GatewayContext, ids: number[], param: string): { ids: number[] } {
  const { vocabSize, contextWindow } = ctx.policy.info;
  const bad = ids.find((id) => id >= vocabSize);
  if (bad !== undefined) throw new ParameterError(param, `token ids must be in [0, ${vocabSize - 1}]`, bad);
  if (ids.length === 0) throw HttpError.of(400, `${param} must not be empty (it encodes to no tokens)`, param, "invalid_value");
  if (ids.length > contextWindow) {
    throw HttpError.of(400, `${param} is ${ids.length} tokens; the model's context window is ${contextWindow} tokens`, param, "context_length_exceeded");
  }
  return { ids };
}

/** max_tokens within the window (see the header); `requested` null = not sent. */
function budget(ctx: GatewayContext, promptTokens: number, requested: number | null, fallback: number | null): number {
  const room = ctx.policy.info.contextWindow - promptTokens;
  const cap = ctx.config.limits.max_tokens;
  if (requested === null) return Math.min(fallback ?? room, room, cap ?? Infinity);
  if (cap !== undefined && requested > cap) throw new ParameterError("max_tokens", `must be ≤ limits.max_tokens = ${cap}`, requested);
  if (requested > room) {
    throw HttpError.of(
      400,
      `max_tokens is ${requested}, but the prompt is ${promptTokens} tokens and the context window ${ctx.policy.info.contextWindow}: at most ${room} completion tokens fit`,
      "max_tokens",
      "context_length_exceeded",
    );
  }
  return requested;
}

/** POST /v1/completions. `raw` is the unparsed body (to tell an omitted max_tokens from 16). */
export function planCompletion(ctx: GatewayContext, r: CompletionRequest, raw: Record<string, unknown>): GenerationPlan {
  const base = basePlan(ctx, r, "completions"); // model, n and drift_guard first
  const list = promptList(r.prompt);
  const maxPrompts = ctx.config.limits.max_prompts;
  if (list.length > maxPrompts) throw new ParameterError("prompt", `must hold at most limits.max_prompts = ${maxPrompts} prompts`, list.length);
  const requested = raw.max_tokens == null ? null : r.max_tokens;
  const prompts = list.map((p, i) => {
    const t = tokenise(ctx, p, list.length > 1 ? `prompt[${i}]` : "prompt");
    return { ...t, maxTokens: budget(ctx, t.ids.length, requested, 16) };
  });
  return { ...base, prompts, topLogprobs: r.logprobs, echo: r.echo };
}

/** POST /v1/chat/completions: messages rendered with the checkpoint's chat template, then tokenised. */
export function planChat(ctx: GatewayContext, r: ChatCompletionRequest): GenerationPlan {
  const base = basePlan(ctx, r, "chat.completions");
  if (!ctx.chatTemplate) {
    throw HttpError.of(400, "this model has no chat template (tokenizer_config.json chat_template); use /v1/completions", "messages", "chat_template_missing");
  }
  const rendered = ctx.chatTemplate.encode(r.messages, ctx.policy.tokenizer); // content never becomes a special token
  const unknown = unknownChars(ctx.policy.tokenizer, r.messages.map(messageText).join(""), rendered.ids);
  const t = { ...checkIds(ctx, rendered.ids, "messages"), text: rendered.text, unknownChars: unknown };
  const prompts = [{ ...t, maxTokens: budget(ctx, t.ids.length, r.max_tokens, null) }];
  return { ...base, prompts, topLogprobs: r.logprobs ? r.top_logprobs : null, echo: false };
}
