// Numerically stable softmax / log-softmax over one logit row (vocab up to 152k), float64 accumulation.
//
//   logsumexp(x) = m + log Σ_i exp(x_i − m),  m = max_i x_i        (no overflow: every exponent ≤ 0)
//   logSoftmax(x)_i = x_i − logsumexp(x),  softmax(x)_i = exp(logSoftmax(x)_i)
//
// Rows are plain typed-array views: for a batch [B, V] pass `logits.subarray(b * V, (b + 1) * V)`.
// −∞ entries are allowed (masked tokens, probability 0); NaN, +∞ or an all −∞ row throw.
import { ParameterError } from "../errors";

/** A read-only logit (or log-probability) row. */
export type Row = Float32Array | Float64Array | readonly number[];

/** Largest entry of a row; throws on NaN, +∞ or a row with no finite entry. */
export function rowMax(row: Row, name = "logits"): number {
  if (row.length === 0) throw new ParameterError(name, "must be a non-empty row");
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (!(v <= Infinity) || v === Infinity) throw new ParameterError(name, "must be finite or −Infinity", `${v} at index ${i}`);
    if (v > max) max = v;
  }
  if (max === -Infinity) throw new ParameterError(name, "must contain at least one finite value");
  return max;
}

/**
 * log Σ_i exp(x_i / temperature), computed stably in float64 in ONE pass over the row (online max):
 * s = Σ exp((x_i − m) / T) is rescaled by exp((m_old − m_new) / T) whenever a larger x_i arrives, so no
 * exponent is ever positive and the row is read once (it is the per-token cost of logprobs and of KL).
 * @example logSumExp([0, 0]) // Math.LN2
 */
export function logSumExp(row: Row, temperature = 1): number {
  if (row.length === 0) throw new ParameterError("logits", "must be a non-empty row");
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (v > max) {
      if (v === Infinity) throw new ParameterError("logits", "must be finite or −Infinity", `${v} at index ${i}`);
      sum = sum * Math.exp((max - v) / temperature) + 1; // 0 · exp(−∞) = 0 on the first finite entry
      max = v;
    } else if (v !== -Infinity) {
      if (v !== v) throw new ParameterError("logits", "must be finite or −Infinity", `${v} at index ${i}`);
      sum += Math.exp((v - max) / temperature);
    }
  }
  if (max === -Infinity) throw new ParameterError("logits", "must contain at least one finite value");
  return max / temperature + Math.log(sum);
}

/**
 * Log-probabilities of one logit row: x_i − logsumexp(x).
 * @example logSoftmax(new Float32Array([1, 1]))[0] // −Math.LN2
 */
export function logSoftmax(row: Row, out: Float64Array = new Float64Array(row.length)): Float64Array {
  const lse = logSumExp(row);
  for (let i = 0; i < row.length; i++) out[i] = row[i]! - lse;
  return out;
}

/**
 * Probabilities of one logit row, summing to 1 within float64 rounding.
 * @example softmax([0, Math.log(3)]) // Float64Array [0.25, 0.75]
 */
export function softmax(row: Row, out: Float64Array = new Float64Array(row.length)): Float64Array {
  const max = rowMax(row);
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    const e = Math.exp(row[i]! - max);
    out[i] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let i = 0; i < row.length; i++) out[i] = out[i]! * inv;
  return out;
}

/**
 * Index of the largest entry; ties go to the lowest index (greedy decoding must be reproducible).
 * @example argmax([1, 3, 3]) // 1
 */
export function argmax(row: Row): number {
  rowMax(row);
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/**
 * Row b of a flat [B, V] batch as a zero-copy view.
 * @example const logits = new Float32Array(2 * 5); batchRow(logits, 5, 1).length // 5
 */
export function batchRow<T extends Float32Array | Float64Array>(batch: T, vocab: number, b: number): T {
  if (!Number.isInteger(vocab) || vocab < 1) throw new ParameterError("vocab", "must be a positive integer", vocab);
  if (batch.length % vocab !== 0) throw new ParameterError("logits", `length must be a multiple of vocab ${vocab}`, batch.length);
  const rows = batch.length / vocab;
  if (!Number.isInteger(b) || b < 0 || b >= rows) throw new ParameterError("row", `must be an integer in [0, ${rows - 1}]`, b);
  return batch.subarray(b * vocab, (b + 1) * vocab) as T;
}
