// Shared machinery of the generated tasks: the example type, a seed-independent train/held-out split
// by hash of the problem text, and a seeded sampler that draws problems of one split.
//
// Why split by hash and not by shuffling with the run's seed: the reference is pretrained with one seed
// and evaluated (and fine-tuned) later with others. A hash split puts each problem in the same split
// for every seed and every run, so a held-out problem can never have been trained on.
import { Pcg32 } from "@tether/shared/sampling/prng";
import { ParameterError } from "@tether/shared/errors";

/** Which side of the split. */
export type Split = "train" | "heldout";

/** Names accepted for the splits. */
export const SPLITS: readonly Split[] = ["train", "heldout"];

/**
 * One generated problem: `prompt` + `completion` is the training text (eos is appended by batches.ts);
 * `answer` is what reward.ts compares against (equal to the completion for these tasks).
 */
export interface TaskExample {
  prompt: string;
  completion: string;
  answer: string;
}

// 32-bit FNV-1a over UTF-16 code units, then murmur3's fmix32 so nearby strings ("12+7=", "12+8=")
// land in unrelated buckets.
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The split a problem belongs to: held-out when hash(salt, key) / 2^32 < heldOutFraction.
 * @example
 * splitOf("12+7=", 0.1, "arithmetic"); // "train" or "heldout", the same on every run
 */
export function splitOf(key: string, heldOutFraction: number, salt: string): Split {
  return hash32(`${salt}\u0000${key}`) / 0x100000000 < heldOutFraction ? "heldout" : "train";
}

/**
 * Checks a held-out fraction: strictly between 0 and 1 so both splits can be non-empty.
 * @example
 * checkHeldOutFraction(0.1); // 0.1; checkHeldOutFraction(1) throws ParameterError
 */
export function checkHeldOutFraction(value: number): number {
  if (!(value > 0 && value < 1)) throw new ParameterError("heldOutFraction", "must be in (0, 1)", value);
  return value;
}

/**
 * Checks an integer range option.
 * @example
 * checkInt("maxOperand", 99, 0, 1e12); // 99
 */
export function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ParameterError(name, `must be an integer in [${min}, ${max}]`, value);
  }
  return value;
}

/** How to sample one split of a task. */
export interface SampleOptions {
  split: Split;
  seed: number;
  /** Examples to return. */
  n: number;
  /** Task name: salts the split hash and picks the PRNG stream, so tasks are independent. */
  task: string;
  heldOutFraction: number;
  /** Distinct problems only. Default: true for held-out (an evaluation set), false for train. */
  unique?: boolean;
}

/**
 * Draws `n` problems of one split from a generator (rejection sampling on the split hash).
 * Same seed, task and generator → identical examples in the same order.
 * @example
 * sampleSplit((rng) => ({ prompt: `${rng.nextInt(10)}=`, completion: "0", answer: "0" }),
 *   { split: "train", seed: 1, n: 4, task: "demo", heldOutFraction: 0.1 });
 */
export function sampleSplit(draw: (rng: Pcg32) => TaskExample, options: SampleOptions): TaskExample[] {
  const { split, seed, n, task, heldOutFraction } = options;
  if (!SPLITS.includes(split)) throw new ParameterError("split", `must be one of ${SPLITS.join(", ")}`, split);
  checkInt("n", n, 0, 100_000_000);
  checkInt("seed", seed, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  checkHeldOutFraction(heldOutFraction);
  const unique = options.unique ?? split === "heldout";
  // Train and held-out of one task draw from different streams, and tasks from different streams.
  const stream = (hash32(task) & 0x7ffffffe) + (split === "train" ? 0 : 1);
  const rng = new Pcg32(seed, stream);
  const out: TaskExample[] = [];
  const seen = new Set<string>();
  // Bounded: asking for more distinct problems than the split holds must fail, not spin.
  const maxDraws = 200 * n + 100_000;
  for (let draws = 0; out.length < n; draws++) {
    if (draws >= maxDraws) {
      throw new ParameterError("n", `exceeds the distinct ${split} problems of "${task}" (found ${out.length})`, n);
    }
    const example = draw(rng);
    if (splitOf(example.prompt, heldOutFraction, task) !== split) continue;
    if (unique) {
      if (seen.has(example.prompt)) continue;
      seen.add(example.prompt);
    }
    out.push(example);
  }
  return out;
}
