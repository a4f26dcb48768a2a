// Held-out evaluation: next-token loss on encoded rows and exact-match accuracy of greedy answers.
import * as tf from "@tensorflow/tfjs";
import { accuracy, type AccuracyReport } from "../data/reward";
import { collate, type EncodedExample } from "../data/batches";
import type { TaskExample } from "../data/bundled";
import type { ModelConfig } from "../model/config";
import { generate } from "../model/generate";
import type { Params } from "../model/params";
import { forward } from "../model/qwen2";
import type { Tokenizer } from "../tokenizer/tokenizer";
import { tokenLogprobs } from "./losses";

/**
 * Mean next-token cross-entropy (nats/token) over the rows' loss masks.
 * @example heldOutLoss(params, cfg, rows, tok.padId)
 */
export function heldOutLoss(params: Params, c: ModelConfig, rows: readonly EncodedExample[], padId: number, batchSize = 64): number {
  let nll = 0;
  let tokens = 0;
  for (let i = 0; i < rows.length; i += batchSize) {
    const batch = collate(rows.slice(i, i + batchSize), padId);
    nll += tf.tidy(() => {
      const { logits } = forward(params, c, tf.tensor2d(batch.inputIds, batch.shape, "int32"), {
        attentionMask: tf.tensor2d(batch.attentionMask, batch.shape),
      });
      const logp = tokenLogprobs(logits, tf.tensor2d(batch.targetIds, batch.shape, "int32"));
      return -tf.sum(tf.mul(logp, tf.tensor2d(batch.lossMask, batch.shape))).dataSync()[0]!;
    });
    tokens += batch.tokens;
  }
  return nll / Math.max(tokens, 1);
}

/**
 * Greedy exact-match accuracy on examples with answers (answers end at eos or newline).
 * @example await answerAccuracy(params, cfg, tok, bundledDataset("arithmetic", "heldout", 1, 200))
 */
export async function answerAccuracy(
  params: Params,
  c: ModelConfig,
  tok: Tokenizer,
  examples: readonly TaskExample[],
  maxNewTokens = 8,
): Promise<AccuracyReport> {
  const newline = tok.encode("\n");
  const stopIds = [tok.eosId, ...newline];
  return accuracy(examples, (prompts) => {
    const { completions } = generate(params, c, prompts.map((p) => tok.encode(p)), {
      temperature: 0,
      maxNewTokens,
      seed: 0,
      stopIds,
      padId: tok.padId,
      vocabLimit: tok.vocabSize,
    });
    return completions.map((ids) => tok.decode(ids));
  });
}
