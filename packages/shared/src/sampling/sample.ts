// Token sampling from one logit row, with the randomness passed in (llama2.c's sample_mult(probs, n, coin)).
//
// Order of the filters (as Hugging Face's LogitsProcessor list and vLLM's sampler):
//   1) temperature: x_i / T; T = 0 means greedy (argmax, ties → lowest index)
//   2) top-k: keep the k most probable tokens (ties at the boundary → lowest indices)
//   3) top-p (nucleus, Holtzman et al. 2019): keep the smallest most-probable prefix with mass ≥ p
//   4) min-p (Nguyen et al. 2024): keep tokens with p_i ≥ min_p · max_j p_j
//   5) renormalise the kept mass and invert its CDF at u ∈ [0, 1), walking kept tokens in index order.
// Everything after the exponentials is integer or IEEE-exact arithmetic in a fixed order, so the same
// (logits, params, u) gives the same token on every V8 runtime (Node, workerd, Chromium).
import { ParameterError } from "../errors";
import { argmax, rowMax, type Row } from "../math/softmax";

export interface SamplingParams {
  /** ≥ 0; 0 = greedy. Divides the logits. */
  temperature: number;
  /** Integer ≥ −1; −1 or 0 = off (vLLM and Hugging Face conventions). */
  topK?: number;
  /** In (0, 1]; 1 = off. */
  topP?: number;
  /** In [0, 1]; 0 = off. */
  minP?: number;
}

/** The distribution actually sampled from: kept token ids (ascending) and their renormalised probabilities. */
export interface SamplingDistribution {
  tokens: Uint32Array;
  probs: Float64Array;
}

/**
 * Throws a ParameterError naming the first invalid parameter (OpenAI wire names) and its range.
 * @example validateSamplingParams({ temperature: -1 }) // throws "temperature must be ≥ 0 (got -1)"
 */
export function validateSamplingParams(params: SamplingParams): void {
  const { temperature, topK = 0, topP = 1, minP = 0 } = params;
  if (!(Number.isFinite(temperature) && temperature >= 0)) throw new ParameterError("temperature", "must be a finite number ≥ 0", temperature);
  if (!(Number.isInteger(topK) && topK >= -1)) throw new ParameterError("top_k", "must be an integer ≥ −1 (−1 or 0 disables it)", topK);
  if (!(topP > 0 && topP <= 1)) throw new ParameterError("top_p", "must be in (0, 1]", topP);
  if (!(minP >= 0 && minP <= 1)) throw new ParameterError("min_p", "must be in [0, 1]", minP);
}

/**
 * The filtered, renormalised next-token distribution for the given parameters (temperature > 0).
 * @example samplingDistribution(logits, { temperature: 0.7, topP: 0.9 }).tokens
 */
export function samplingDistribution(logits: Row, params: SamplingParams): SamplingDistribution {
  validateSamplingParams(params);
  const { temperature, topK = 0, topP = 1, minP = 0 } = params;
  if (temperature === 0) return { tokens: Uint32Array.of(argmax(logits)), probs: Float64Array.of(1) };
  const vocab = logits.length;
  // 1) unnormalised weights w_i = exp((x_i − max) / T) ∈ [0, 1]
  const max = rowMax(logits);
  const weights = new Float64Array(vocab);
  for (let i = 0; i < vocab; i++) weights[i] = Math.exp((logits[i]! - max) / temperature);
  let kept = allTokens(vocab);
  // 2) top-k
  if (topK > 0 && topK < kept.length) kept = topKTokens(weights, kept, topK);
  // 3) top-p
  if (topP < 1) kept = nucleusTokens(weights, kept, topP);
  // 4) min-p, relative to the most probable token (always kept by the filters above)
  if (minP > 0) {
    let wMax = 0;
    for (const i of kept) if (weights[i]! > wMax) wMax = weights[i]!;
    kept = kept.filter((i) => weights[i]! >= minP * wMax);
  }
  // 5) renormalise
  kept.sort();
  let mass = 0;
  for (const i of kept) mass += weights[i]!;
  const probs = new Float64Array(kept.length);
  for (let j = 0; j < kept.length; j++) probs[j] = weights[kept[j]!]! / mass;
  return { tokens: kept, probs };
}

/**
 * Draw one token id; `u` is a uniform number in [0, 1) from a seeded generator (see Pcg32).
 * @example sampleToken(logits, { temperature: 1 }, rng.nextFloat())
 */
export function sampleToken(logits: Row, params: SamplingParams, u: number): number {
  if (!(u >= 0 && u < 1)) throw new ParameterError("u", "must be in [0, 1)", u);
  if (params.temperature === 0) {
    validateSamplingParams(params);
    return argmax(logits);
  }
  const { topK = 0, topP = 1, minP = 0 } = params;
  if ((topK <= 0 || topK >= logits.length) && topP === 1 && minP === 0) return sampleTemperature(logits, params, u);
  const { tokens, probs } = samplingDistribution(logits, params);
  let cumulative = 0;
  for (let j = 0; j < tokens.length; j++) {
    cumulative += probs[j]!;
    if (u < cumulative) return tokens[j]!;
  }
  return tokens[tokens.length - 1]!; // u within rounding of 1
}

// Weights of the last plain-temperature draw: grown once, reused for every token (no per-token allocation).
let scratch = new Float64Array(0);

// Temperature only (no filter keeps fewer tokens): the same arithmetic, in the same order, as
// samplingDistribution + the CDF walk above — w_i = exp((x_i − max)/T), mass = Σ w_i in index order,
// cumulative += w_i / mass — so the token is identical, without the [V] weight and id arrays.
function sampleTemperature(logits: Row, params: SamplingParams, u: number): number {
  validateSamplingParams(params);
  const vocab = logits.length;
  const max = rowMax(logits);
  if (scratch.length < vocab) scratch = new Float64Array(vocab);
  const weights = scratch;
  let mass = 0;
  for (let i = 0; i < vocab; i++) {
    const w = Math.exp((logits[i]! - max) / params.temperature);
    weights[i] = w;
    mass += w;
  }
  let cumulative = 0;
  for (let i = 0; i < vocab; i++) {
    cumulative += weights[i]! / mass;
    if (u < cumulative) return i;
  }
  return vocab - 1; // u within rounding of 1
}

function allTokens(vocab: number): Uint32Array {
  const tokens = new Uint32Array(vocab);
  for (let i = 0; i < vocab; i++) tokens[i] = i;
  return tokens;
}

// Descending by weight, ascending by id on ties: a total order, so the result never depends on the sort.
function byWeightDesc(weights: Float64Array): (a: number, b: number) => number {
  return (a, b) => weights[b]! - weights[a]! || a - b;
}

// The k heaviest tokens. Selection by a threshold avoids sorting the whole vocabulary:
// quickselect the k-th largest weight, keep everything above it, then fill ties by id.
function topKTokens(weights: Float64Array, tokens: Uint32Array, k: number): Uint32Array {
  const values = Float64Array.from(tokens, (i) => weights[i]!);
  const kth = quickselectDesc(values, k - 1);
  const above = tokens.filter((i) => weights[i]! > kth);
  const ties = tokens.filter((i) => weights[i]! === kth).slice(0, k - above.length);
  const out = new Uint32Array(above.length + ties.length);
  out.set(above);
  out.set(ties, above.length);
  return out;
}

// Smallest prefix (by descending weight) whose mass reaches p of the kept mass. Tokens whose weight is
// below ε = (1 − p)·mass / (2n) hold less than (1 − p)/2 of the mass together, so the nucleus lies
// inside the heavier set and only that set needs sorting (exact, not an approximation).
function nucleusTokens(weights: Float64Array, tokens: Uint32Array, p: number): Uint32Array {
  let mass = 0;
  for (const i of tokens) mass += weights[i]!;
  const epsilon = ((1 - p) * mass) / (2 * tokens.length);
  const heavy = tokens.filter((i) => weights[i]! >= epsilon).sort(byWeightDesc(weights));
  let cumulative = 0;
  for (let j = 0; j < heavy.length; j++) {
    cumulative += weights[heavy[j]!]!;
    if (cumulative >= p * mass) return heavy.slice(0, j + 1);
  }
  return heavy;
}

// k-th largest value (0-based) by Hoare-style quickselect with median-of-three pivots; reorders `values`.
function quickselectDesc(values: Float64Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const pivot = median3(values[lo]!, values[mid]!, values[hi]!);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! > pivot) i++;
      while (values[j]! < pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k]!;
  }
  return values[k]!;
}

function median3(a: number, b: number, c: number): number {
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
}
