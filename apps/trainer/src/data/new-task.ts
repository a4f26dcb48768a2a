// The NEW task fine-tuning teaches: multiplication by one digit, "47*6=" → "282". It is chosen so
// that learning it competes with the base task (arithmetic.ts) and forgetting is measurable:
//
// 1. Same tokens, same slots. Prompts have the base layout `<number><op><digit(s)>=` and the answer is
//    digits right after "=" then eos. Only the "*" token tells the tasks apart, so its gradients land on
//    the very embeddings, "after '=' write digits" circuitry and digit unembedding rows that addition
//    and subtraction use. (A task with its own prefix and tokens, like `rev:1234=4321`, can be learned
//    in mostly separate directions and forgets less for reasons unrelated to β.)
// 2. New to the reference, yet learnable. The reference never saw "*", so it starts near 0 accuracy;
//    the ×0 and ×1 problems (~20%) are where a guess can already score, giving GRPO's groups some
//    non-zero reward to start from (reward.ts can add format credit on top).
//    One-digit multipliers are column arithmetic with carries, like addition, which a small model can
//    learn in a few hundred steps; a task it cannot learn would show no trade-off at all.
// 3. Compatible, not contradictory. The base answers stay right for their prompts, so a model could keep
//    both: forgetting comes from drift under limited capacity, which is exactly what the KL anchor (and
//    replay KL) acts on. A contradictory task (redefining "+") would make forgetting inevitable and the
//    β-sweep uninformative.
// 4. Comparable answers: 0–891 (1–3 digits) against the base's 0–198, so exact-match accuracies of the
//    two tasks measure the same kind of output.
import { ParameterError } from "@tether/shared/errors";
import type { Pcg32 } from "@tether/shared/sampling/prng";
import { checkHeldOutFraction, checkInt, sampleSplit } from "./problems";
import type { Split, TaskExample } from "./problems";

/** Task name (also the bundled dataset name): split-hash salt and PRNG stream. */
export const NEW_TASK = "multiplication";

/** Difficulty of the new task. */
export interface MultiplicationOptions {
  /** Largest left operand, inclusive (from 0). Default 99. */
  maxLeft?: number;
  /** Largest right operand, inclusive (from 0). Default 9: one-digit multipliers. */
  maxRight?: number;
  /** Share of all problems that is held out (by hash of the prompt). Default 0.1. */
  heldOutFraction?: number;
  /**
   * How the left operand is drawn. "uniform" (default): uniform over 0..maxLeft. "balanced": first its digit
   * count, uniform over 1..digits(maxLeft), then uniform over the numbers of that length up to maxLeft (0–9 for one
   * digit), so that a 0–999 training corpus is a third two-digit problems rather than a tenth. The split is by
   * prompt either way: a problem is held out (or not) whatever the options that drew it.
   */
  leftDigits?: "uniform" | "balanced";
}

/**
 * A left operand drawn as `leftDigits` says (see MultiplicationOptions).
 * @example drawLeft(rng, 999, "balanced") // 1-, 2- and 3-digit numbers, a third each
 */
function drawLeft(rng: Pcg32, maxLeft: number, leftDigits: "uniform" | "balanced"): number {
  if (leftDigits === "uniform") return rng.nextInt(maxLeft + 1);
  const digits = 1 + rng.nextInt(String(maxLeft).length);
  const lo = digits === 1 ? 0 : 10 ** (digits - 1);
  const hi = Math.min(10 ** digits - 1, maxLeft);
  return lo + rng.nextInt(hi - lo + 1);
}

// Products of factors ≤ 1e7 stay exact in a double.
const MAX_FACTOR = 10_000_000;

/**
 * One problem as text.
 * @example
 * multiplicationProblem(47, 6); // { prompt: "47*6=", completion: "282", answer: "282" }
 */
export function multiplicationProblem(a: number, b: number): TaskExample {
  const answer = String(a * b);
  return { prompt: `${a}*${b}=`, completion: answer, answer };
}

/**
 * `n` new-task problems of one split, deterministic in `seed`; held-out problems are distinct and
 * never in train (for any seed).
 * @example
 * multiplicationExamples("heldout", 7, 100); // 100 distinct held-out problems
 */
export function multiplicationExamples(
  split: Split,
  seed: number,
  n: number,
  options: MultiplicationOptions = {},
): TaskExample[] {
  const maxLeft = checkInt("maxLeft", options.maxLeft ?? 99, 0, MAX_FACTOR);
  const maxRight = checkInt("maxRight", options.maxRight ?? 9, 0, MAX_FACTOR);
  const heldOutFraction = checkHeldOutFraction(options.heldOutFraction ?? 0.1);
  const leftDigits = options.leftDigits ?? "uniform";
  if (leftDigits !== "uniform" && leftDigits !== "balanced") throw new ParameterError("leftDigits", "must be uniform or balanced", leftDigits);
  const draw = (rng: Pcg32) => multiplicationProblem(drawLeft(rng, maxLeft, leftDigits), rng.nextInt(maxRight + 1));
  return sampleSplit(draw, { split, seed, n, task: NEW_TASK, heldOutFraction });
}
