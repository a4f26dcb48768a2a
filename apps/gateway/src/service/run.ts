// Runs a generation plan: for each prompt (in order) the drift guard or the measured unguarded path over
// its n choices, plus the prompt's own logprobs when echo asks for them.
import { StopSequences } from "@tether/shared/sampling/stop";
import type { GatewayContext } from "../context";
import { tokenLogprob, type TokenLogprob } from "../decode/sequence";
import type { CandidateRecord, ChoiceOutcome, PromptJob, Timings } from "../guard/job";
import type { GenerationPlan } from "./plan";

/** What a run has gathered so far; owned by the caller so that a failed run still logs its candidates. */
export interface RunState {
  ledger: CandidateRecord[];
  timings: Timings;
}

/** Prompt tokens with their logprobs under the policy; the first has no context (null). */
export interface EchoLogprobs {
  ids: number[];
  logprobs: (TokenLogprob | null)[];
}

export interface RunHooks {
  onEcho?: (prompt: number, echo: EchoLogprobs | null) => void;
  onStep?: PromptJob["onStep"];
  onChoice?: PromptJob["onChoice"];
}

export interface RunResult {
  choices: ChoiceOutcome[]; // prompt-major: prompt i, sample j → i·n + j
  echo: (EchoLogprobs | null)[]; // per prompt; null unless echo with logprobs
}

export function newRunState(): RunState {
  return { ledger: [], timings: { queueMs: 0, generateMs: 0, guardMs: 0 } };
}

/**
 * @example const { choices } = await runPlan(ctx, plan, newRunState(), signal);
 */
export async function runPlan(ctx: GatewayContext, plan: GenerationPlan, state: RunState, signal: AbortSignal, hooks: RunHooks = {}): Promise<RunResult> {
  const result: RunResult = { choices: [], echo: [] };
  const stop = new StopSequences(plan.stop);
  const eosIds = new Set(ctx.policy.info.eosTokenIds);
  for (const [i, prompt] of plan.prompts.entries()) {
    const echo = plan.echo && plan.topLogprobs !== null ? await echoLogprobs(ctx, prompt.ids, plan.topLogprobs, signal) : null;
    result.echo.push(echo);
    hooks.onEcho?.(i, echo);
    const job: PromptJob = {
      policy: ctx.policy,
      reference: ctx.reference,
      prompt: prompt.ids,
      settings: {
        sampling: plan.sampling,
        maxTokens: prompt.maxTokens,
        stop,
        eosIds,
        topLogprobs: plan.topLogprobs,
        keepLogits: true, // drift is measured for every request, guarded or not
        sketchWidth: ctx.sketch?.spec.m ?? 0,
      },
      n: plan.n,
      firstChoice: i * plan.n,
      seed: plan.seed,
      signal,
      sketch: ctx.sketch,
      clock: ctx.clock,
      timings: state.timings,
      ledger: state.ledger,
      onStep: hooks.onStep,
      onChoice: hooks.onChoice,
    };
    result.choices.push(...(await ctx.runJob(job, plan.guard)));
  }
  return result;
}

// log π_θ(x_t | x_<t) for t ≥ 1 from one scoring pass: score(prompt = [x_0], completion = x_1…x_{T−1}).
async function echoLogprobs(ctx: GatewayContext, ids: number[], top: number, signal: AbortSignal): Promise<EchoLogprobs> {
  const logprobs: (TokenLogprob | null)[] = [null];
  if (ids.length > 1) {
    const { logits } = await ctx.policy.score(ids.slice(0, 1), [ids.slice(1)], { signal });
    const V = ctx.policy.info.vocabSize;
    for (let t = 1; t < ids.length; t++) logprobs.push(tokenLogprob(logits[0]!.subarray((t - 1) * V, t * V), ids[t]!, top));
  }
  return { ids, logprobs };
}
