// Examples → padded token batches for causal-LM training, and a seeded shuffling epoch iterator.
// Plain typed arrays + shape; the model code turns them into tensors.
//
// One row is the sequence s = prompt ++ completion ++ [eos] (L tokens). The model reads
// inputs s[0..L−2] and is scored on targets s[1..L−1]: target[t] = s[t+1]. The loss mask keeps target t
// when token t+1 is a completion token or the eos (SFT), or any token (pretraining: everything after
// the first token, which no position predicts since there is no bos). Right padding: inputs and
// targets are padId past the row's end, with mask 0.
import { Pcg32 } from "@tether/shared/sampling/prng";
import { ParameterError } from "@tether/shared/errors";
import type { Tokenizer } from "../tokenizer/tokenizer";

/** "sft": loss on completion + eos. "pretrain": loss on every token. */
export type LossMode = "sft" | "pretrain";

/** One tokenized row: the full sequence with eos, and the first scored token index. */
export interface EncodedExample {
  /** prompt ++ completion ++ [eos], L tokens. */
  ids: Int32Array;
  /** Tokens s[k] with k ≥ lossStart are targets the loss counts (always ≥ 1). */
  lossStart: number;
}

/** How examples become rows. */
export interface EncodeOptions {
  mode: LossMode;
  /** Longest input a row may have, in tokens (the model's maxPositions): L − 1 ≤ maxLength. */
  maxLength: number;
  /** Longer rows: "error" (default) throws naming the example; "drop" skips it and counts it. */
  truncate?: "error" | "drop";
}

/** A padded batch, row-major [B, T]. */
export interface Batch {
  /** [B, T] token ids the model reads. */
  inputIds: Int32Array;
  /** [B, T] next-token targets: targetIds[b, t] = inputIds[b, t + 1] inside the row. */
  targetIds: Int32Array;
  /** [B, T] 1 where the target counts in the loss, else 0. */
  lossMask: Float32Array;
  /** [B, T] 1 on real input positions, 0 on padding (Hugging Face attention_mask). */
  attentionMask: Int32Array;
  /** [B, T]. */
  shape: [number, number];
  /** Σ lossMask: tokens the loss averages over. */
  tokens: number;
}

/**
 * Tokenizes examples once (before epochs) into rows with their loss start.
 * @example
 * const { rows, dropped } = encodeExamples([{ prompt: "12+7=", completion: "19" }], tok,
 *   { mode: "sft", maxLength: 64 }); // rows[0].ids = ids("12+7=19") ++ [eos], lossStart 5
 */
export function encodeExamples(
  examples: readonly { prompt: string; completion: string }[],
  tokenizer: Tokenizer,
  options: EncodeOptions,
): { rows: EncodedExample[]; dropped: number } {
  const { mode, maxLength } = options;
  const truncate = options.truncate ?? "error";
  if (mode !== "sft" && mode !== "pretrain") throw new ParameterError("mode", 'must be "sft" or "pretrain"', mode);
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new ParameterError("maxLength", "must be an integer ≥ 1", maxLength);
  if (truncate !== "error" && truncate !== "drop") throw new ParameterError("truncate", 'must be "error" or "drop"', truncate);
  const rows: EncodedExample[] = [];
  let dropped = 0;
  examples.forEach((example, i) => {
    // Prompt and completion are tokenized apart so the boundary is exact (identical for char tokenizers).
    const prompt = tokenizer.encode(example.prompt);
    const completion = tokenizer.encode(example.completion);
    const length = prompt.length + completion.length + 1;
    if (length - 1 > maxLength) {
      if (truncate === "drop") {
        dropped++;
        return;
      }
      throw new ParameterError(
        `example #${i + 1}`,
        `must fit maxLength ${maxLength} (prompt + completion + eos − 1 = ${length - 1} tokens); shorten it or drop long examples`,
      );
    }
    const ids = new Int32Array(length);
    ids.set(prompt, 0);
    ids.set(completion, prompt.length);
    ids[length - 1] = tokenizer.eosId;
    rows.push({ ids, lossStart: Math.max(1, mode === "sft" ? prompt.length : 1) });
  });
  return { rows, dropped };
}

/**
 * Pads rows into one batch; T is the longest row's input length, or `padTo` when given (fixed shapes).
 * @example
 * const batch = collate(rows.slice(0, 16), tok.padId); // batch.shape = [16, T]
 */
export function collate(rows: readonly EncodedExample[], padId: number, padTo?: number): Batch {
  if (rows.length === 0) throw new ParameterError("rows", "must contain at least one row", 0);
  const longest = Math.max(...rows.map((r) => r.ids.length - 1));
  const T = padTo ?? longest;
  if (!Number.isInteger(T) || T < longest || T < 1) {
    throw new ParameterError("padTo", `must be an integer ≥ the longest row (${longest}) and ≥ 1`, padTo);
  }
  const B = rows.length;
  const inputIds = new Int32Array(B * T).fill(padId);
  const targetIds = new Int32Array(B * T).fill(padId);
  const lossMask = new Float32Array(B * T);
  const attentionMask = new Int32Array(B * T);
  let tokens = 0;
  rows.forEach((row, b) => {
    const s = row.ids;
    const n = s.length - 1; // input positions of this row
    const base = b * T;
    inputIds.set(s.subarray(0, n), base); // s[0..L−2]
    targetIds.set(s.subarray(1), base); // s[1..L−1]: shift by one
    for (let t = 0; t < n; t++) {
      attentionMask[base + t] = 1;
      if (t + 1 >= row.lossStart) {
        lossMask[base + t] = 1;
        tokens++;
      }
    }
  });
  return { inputIds, targetIds, lossMask, attentionMask, shape: [B, T], tokens };
}

/**
 * Encodes and collates in one call (small batches, evaluation).
 * @example
 * makeBatch([{ prompt: "1+1=", completion: "2" }], tok, { mode: "sft", maxLength: 64 }).shape; // [1, 5]
 */
export function makeBatch(
  examples: readonly { prompt: string; completion: string }[],
  tokenizer: Tokenizer,
  options: EncodeOptions & { padTo?: number },
): Batch {
  return collate(encodeExamples(examples, tokenizer, options).rows, tokenizer.padId, options.padTo);
}

/** Settings of the epoch iterator. */
export interface ShuffleOptions {
  batchSize: number;
  seed: number;
  /** Epochs to run; default Infinity (the trainer stops by step count). */
  epochs?: number;
  /** Drop each epoch's short last batch so every batch has batchSize rows. Default true. */
  dropLast?: boolean;
  /** Global batch index to start at (resuming): earlier batches are skipped without being built. */
  startStep?: number;
}

/** One batch of items from the iterator. */
export interface EpochBatch<T> {
  epoch: number;
  /** Global batch index (0-based) across epochs. */
  step: number;
  items: T[];
}

/**
 * Yields batches of items, each epoch a fresh Fisher–Yates permutation from Pcg32(seed, epoch): the
 * same seed gives the same batches, and epoch e is rebuilt directly when resuming.
 * @example
 * for (const { step, items } of shuffledBatches(rows, { batchSize: 16, seed: 1 })) {
 *   const batch = collate(items, tok.padId);
 *   if (step === 999) break;
 * }
 */
export function* shuffledBatches<T>(items: readonly T[], options: ShuffleOptions): Generator<EpochBatch<T>> {
  const { batchSize, seed } = options;
  const epochs = options.epochs ?? Infinity;
  const dropLast = options.dropLast ?? true;
  const startStep = options.startStep ?? 0;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ParameterError("batchSize", "must be an integer ≥ 1", batchSize);
  if (!(epochs >= 0)) throw new ParameterError("epochs", "must be ≥ 0", epochs);
  if (!Number.isInteger(startStep) || startStep < 0) throw new ParameterError("startStep", "must be an integer ≥ 0", startStep);
  const perEpoch = dropLast ? Math.floor(items.length / batchSize) : Math.ceil(items.length / batchSize);
  if (perEpoch === 0) {
    throw new ParameterError("batchSize", `must be ≤ the number of examples (${items.length})`, batchSize);
  }
  for (let epoch = Math.floor(startStep / perEpoch); epoch < epochs; epoch++) {
    const order = permutation(items.length, new Pcg32(seed, epoch));
    for (let k = 0; k < perEpoch; k++) {
      const step = epoch * perEpoch + k;
      if (step < startStep) continue;
      const idx = order.subarray(k * batchSize, Math.min((k + 1) * batchSize, items.length));
      yield { epoch, step, items: Array.from(idx, (i) => items[i]) };
    }
  }
}

/**
 * A uniform random permutation of 0..n−1 (Fisher–Yates, randomness from the given generator).
 * @example
 * permutation(5, new Pcg32(1)); // e.g. Uint32Array [3, 0, 4, 1, 2]
 */
export function permutation(n: number, rng: Pcg32): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  return order;
}
