// Held-out evaluation of a policy against its frozen reference — what eval.json records:
//   1) sample one completion per held-out new-task prompt from the policy (temperature 1, seeded)
//   2) score prompt + completion under both models in one batched pass each
//   3) per request: kl_mean = mean over completion tokens (and the eos that ended it) of the exact
//      KL(π_θ‖π_ref) of the full next-token distributions — the quantity the gateway reports
//   4) greedy exact-match accuracy on the new task and on the base task, for policy and reference
import * as tf from "@tensorflow/tfjs";
import type { TaskExample } from "../data/bundled";
import type { ModelConfig } from "../model/config";
import { generate } from "../model/generate";
import type { Params } from "../model/params";
import { forward } from "../model/qwen2";
import type { Tokenizer } from "../tokenizer/tokenizer";
import { answerAccuracy } from "./evaluate";
import { tokenKlTensor } from "./losses";
import { rolloutBatch } from "./rollout";

export interface PolicyEval {
  /** Σ token KL / Σ completion tokens (nats/token). */
  meanTokenKl: number;
  /** Each request's kl_mean (nats/token), held-out order. */
  perRequestKlMean: number[];
  perRequestKlMax: number[];
  completionTokens: number;
  taskAccuracy: number;
  baseAccuracy: number;
  referenceTaskAccuracy: number;
  referenceBaseAccuracy: number;
}

export interface PolicyEvalOptions {
  seed: number;
  maxNewTokens: number;
  batchSize?: number;
}

/**
 * @example await evaluatePolicy(policy, reference, cfg, tok, taskHeldOut, baseHeldOut, { seed: 1, maxNewTokens: 8 })
 */
export async function evaluatePolicy(
  policy: Params,
  reference: Params,
  c: ModelConfig,
  tok: Tokenizer,
  task: readonly TaskExample[],
  base: readonly TaskExample[],
  o: PolicyEvalOptions,
): Promise<PolicyEval> {
  const perRequestKlMean: number[] = [];
  const perRequestKlMax: number[] = [];
  let klSum = 0;
  let completionTokens = 0;
  const batchSize = o.batchSize ?? 64;
  for (let i = 0; i < task.length; i += batchSize) {
    const prompts = task.slice(i, i + batchSize).map((e) => tok.encode(e.prompt));
    const { completions, stopped } = generate(policy, c, prompts, {
      temperature: 1, maxNewTokens: o.maxNewTokens, seed: o.seed + i, stopIds: [tok.eosId], padId: tok.padId, vocabLimit: tok.vocabSize,
    });
    // scored tokens: the completion plus the eos that ended it
    const scored = completions.map((ids, b) => (stopped[b] ? [...ids, tok.eosId] : ids));
    const kls = requestKl(policy, reference, c, prompts, scored, tok.padId);
    kls.forEach(({ sum, max, count }) => {
      perRequestKlMean.push(count ? sum / count : 0);
      perRequestKlMax.push(max);
      klSum += sum;
      completionTokens += count;
    });
  }
  const [taskAcc, baseAcc, refTask, refBase] = [
    await answerAccuracy(policy, c, tok, task),
    await answerAccuracy(policy, c, tok, base),
    await answerAccuracy(reference, c, tok, task),
    await answerAccuracy(reference, c, tok, base),
  ];
  return {
    meanTokenKl: klSum / Math.max(completionTokens, 1),
    perRequestKlMean,
    perRequestKlMax,
    completionTokens,
    taskAccuracy: taskAcc.accuracy,
    baseAccuracy: baseAcc.accuracy,
    referenceTaskAccuracy: refTask.accuracy,
    referenceBaseAccuracy: refBase.accuracy,
  };
}

/**
 * Exact token KL(π_θ‖π_ref) summed / maxed over each row's completion tokens, prompts left-padded.
 * Layout: rollout.ts.
 */
export function requestKl(
  policy: Params,
  reference: Params,
  c: ModelConfig,
  prompts: readonly number[][],
  completions: readonly number[][],
  padId: number,
): { sum: number; max: number; count: number }[] {
  const { ids, attention, mask, shape } = rolloutBatch(prompts, completions, padId);
  const perToken = tf.tidy(() => {
    const input = tf.tensor2d(ids, shape, "int32");
    const attentionMask = tf.tensor2d(attention, shape);
    const pl = forward(policy, c, input, { attentionMask }).logits;
    const rl = forward(reference, c, input, { attentionMask }).logits;
    return tf.mul(tokenKlTensor(pl, rl, "reverse"), tf.tensor2d(mask, shape)).arraySync() as number[][];
  });
  return perToken.map((row, b) => ({
    sum: row.reduce((a, v) => a + v, 0),
    max: Math.max(0, ...row),
    count: completions[b]!.length,
  }));
}
