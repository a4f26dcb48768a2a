// The verifiable reward of GRPO and the accuracy the evaluator reports: a completion is correct when
// its first line (up to eos, <|im_end|> or a newline) is exactly the expected answer.
//
// Reward = 1 for an exact match, else `formatCredit` if the text is a well-formed integer, else 0.
// formatCredit defaults to 0, so mean reward = accuracy. A small value (e.g. 0.1, DeepSeek-R1's "format
// reward" idea) gives GRPO a non-zero group variance while every sample is still wrong: the advantage
// then pushes towards emitting a number and stopping. It must stay < 1 so a right answer always wins.
import { ParameterError } from "@tether/shared/errors";

/** Where a completion ends, in the order checked: eos, end of a ChatML turn, end of line. */
export const ANSWER_TERMINATORS = ["<|endoftext|>", "<|im_end|>", "\n"] as const;

/** Reward settings. */
export interface RewardOptions {
  /** Reward for a well-formed but wrong integer, in [0, 1). Default 0. */
  formatCredit?: number;
}

/**
 * The answer part of a completion: the text before the first terminator, trimmed of spaces and tabs.
 * @example
 * extractAnswer("19<|endoftext|>junk"); // "19"
 * extractAnswer(" 27\n40-13="); // "27"
 */
export function extractAnswer(completion: string): string {
  let end = completion.length;
  for (const t of ANSWER_TERMINATORS) {
    const at = completion.indexOf(t);
    if (at >= 0 && at < end) end = at;
  }
  return completion.slice(0, end).replace(/^[ \t]+|[ \t]+$/g, "");
}

/**
 * Whether the text is an integer in canonical decimal form (no leading zeros, no "+", no "-0").
 * @example
 * isWellFormedInteger("-27"); // true
 * isWellFormedInteger("027"); // false
 */
export function isWellFormedInteger(text: string): boolean {
  return /^(0|-?[1-9][0-9]*)$/.test(text);
}

function checkFormatCredit(options: RewardOptions): number {
  const credit = options.formatCredit ?? 0;
  if (!(credit >= 0 && credit < 1)) throw new ParameterError("formatCredit", "must be in [0, 1)", credit);
  return credit;
}

/**
 * Reward of one completion against the expected answer.
 * @example
 * reward("19<|endoftext|>", "19"); // 1
 * reward("18", "19"); // 0
 * reward("18", "19", { formatCredit: 0.1 }); // 0.1
 */
export function reward(completion: string, answer: string, options: RewardOptions = {}): number {
  const credit = checkFormatCredit(options);
  const got = extractAnswer(completion);
  if (got === answer) return 1;
  return isWellFormedInteger(got) ? credit : 0;
}

/**
 * Rewards of a batch (e.g. a GRPO group: G completions, each with its prompt's answer).
 * @example
 * rewards(["19", "20"], ["19", "19"]); // Float32Array [1, 0]
 */
export function rewards(completions: readonly string[], answers: readonly string[], options: RewardOptions = {}): Float32Array {
  if (completions.length !== answers.length) {
    throw new ParameterError("answers", `must have one entry per completion (${completions.length})`, answers.length);
  }
  const out = new Float32Array(completions.length);
  for (let i = 0; i < completions.length; i++) out[i] = reward(completions[i], answers[i], options);
  return out;
}

/** Prompts in, completions out (greedy decoding for evaluation), one per prompt, in order. */
export type GenerateFn = (prompts: string[]) => Promise<string[]> | string[];

/** Result of an accuracy run. */
export interface AccuracyReport {
  /** Examples scored. */
  n: number;
  /** Exact matches. */
  correct: number;
  /** correct / n (0 when n = 0). */
  accuracy: number;
  /** Share of completions whose answer is a well-formed integer, right or wrong. */
  wellFormed: number;
  /** Mean reward with the given formatCredit (= accuracy when it is 0). */
  meanReward: number;
}

/**
 * Exact-match accuracy of a generator on examples with known answers, in batches.
 * @example
 * const report = await accuracy(bundledDataset("arithmetic", "heldout", 1, 200), (ps) => model.greedy(ps));
 * report.accuracy; // e.g. 0.97
 */
export async function accuracy(
  examples: readonly { prompt: string; answer: string }[],
  generate: GenerateFn,
  options: RewardOptions & { batchSize?: number } = {},
): Promise<AccuracyReport> {
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ParameterError("batchSize", "must be an integer ≥ 1", batchSize);
  let correct = 0;
  let wellFormed = 0;
  let rewardSum = 0;
  for (let start = 0; start < examples.length; start += batchSize) {
    const batch = examples.slice(start, start + batchSize);
    const completions = await generate(batch.map((e) => e.prompt));
    if (completions.length !== batch.length) {
      throw new ParameterError("generate", `must return one completion per prompt (${batch.length})`, completions.length);
    }
    batch.forEach((e, i) => {
      const got = extractAnswer(completions[i]);
      if (got === e.answer) correct++;
      if (isWellFormedInteger(got)) wellFormed++;
      rewardSum += reward(completions[i], e.answer, options);
    });
  }
  const n = examples.length;
  const mean = (x: number) => (n === 0 ? 0 : x / n);
  return { n, correct, accuracy: mean(correct), wellFormed: mean(wellFormed), meanReward: mean(rewardSum) };
}
