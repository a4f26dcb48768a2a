// The BASE corpus the reference is pretrained on: math_dataset-style addition and subtraction,
// "12+7=" → "19", "40-13=" → "27", generated from a seed. Base-task retention after fine-tuning is
// accuracy on its held-out split.
import type { Pcg32 } from "@tether/shared/sampling/prng";
import { ParameterError } from "@tether/shared/errors";
import { checkHeldOutFraction, checkInt, sampleSplit } from "./problems";
import type { Split, TaskExample } from "./problems";

/** Task name: split-hash salt and PRNG stream. Changing it reshuffles every split. */
export const ARITHMETIC_TASK = "arithmetic";

/** Operators of the base corpus. */
export type ArithmeticOp = "+" | "-";

/** Difficulty of the base corpus. */
export interface ArithmeticOptions {
  /** Smallest operand, inclusive. Default 0. */
  minOperand?: number;
  /** Largest operand, inclusive. Default 99 (two-digit problems; answers 0–198). */
  maxOperand?: number;
  /** Operators drawn uniformly. Default ["+", "-"]. */
  ops?: ArithmeticOp[];
  /** Allow a − b < 0 ("13-40=-27"). Default false: operands are swapped so a ≥ b. */
  allowNegative?: boolean;
  /** Share of all problems that is held out (by hash of the prompt). Default 0.1. */
  heldOutFraction?: number;
}

// Sums and differences of operands ≤ 1e12 stay exact in a double.
const MAX_OPERAND = 1e12;

function resolve(options: ArithmeticOptions): Required<ArithmeticOptions> {
  const minOperand = checkInt("minOperand", options.minOperand ?? 0, 0, MAX_OPERAND);
  const maxOperand = checkInt("maxOperand", options.maxOperand ?? 99, minOperand, MAX_OPERAND);
  const ops = options.ops ?? ["+", "-"];
  if (ops.length === 0 || ops.some((op) => op !== "+" && op !== "-")) {
    throw new ParameterError("ops", 'must be a non-empty list of "+" and "-"', ops);
  }
  const heldOutFraction = checkHeldOutFraction(options.heldOutFraction ?? 0.1);
  return { minOperand, maxOperand, ops, allowNegative: options.allowNegative ?? false, heldOutFraction };
}

/**
 * One problem as text.
 * @example
 * arithmeticProblem(40, "-", 13); // { prompt: "40-13=", completion: "27", answer: "27" }
 */
export function arithmeticProblem(a: number, op: ArithmeticOp, b: number): TaskExample {
  const answer = String(op === "+" ? a + b : a - b);
  return { prompt: `${a}${op}${b}=`, completion: answer, answer };
}

function drawer(o: Required<ArithmeticOptions>): (rng: Pcg32) => TaskExample {
  const span = o.maxOperand - o.minOperand + 1;
  // Pcg32.nextInt takes n ≤ 2^32; wider ranges combine two draws (exact below 2^53).
  const uniform = (rng: Pcg32): number =>
    o.minOperand + (span <= 0x100000000 ? rng.nextInt(span) : Math.floor(rng.nextFloat() * span));
  return (rng) => {
    const op = o.ops[rng.nextInt(o.ops.length)];
    let a = uniform(rng);
    let b = uniform(rng);
    if (op === "-" && !o.allowNegative && a < b) [a, b] = [b, a];
    return arithmeticProblem(a, op, b);
  };
}

/**
 * `n` base-corpus problems of one split, deterministic in `seed`. Held-out problems are distinct and
 * never occur in train (for any seed).
 * @example
 * arithmeticExamples("train", 1, 3); // e.g. [{ prompt: "12+7=", completion: "19", answer: "19" }, …]
 */
export function arithmeticExamples(split: Split, seed: number, n: number, options: ArithmeticOptions = {}): TaskExample[] {
  const o = resolve(options);
  return sampleSplit(drawer(o), { split, seed, n, task: ARITHMETIC_TASK, heldOutFraction: o.heldOutFraction });
}
