// Batched autoregressive sampling from the tfjs model (GRPO rollouts, evaluation). No KV cache: every step
// re-reads the whole left-padded sequence, which is cheap at the trainer's sequence lengths (≤ 128).
//
// 1) left-pad the prompts to a common length P (attention mask 0 on padding, positions from the mask)
// 2) for t = 0 … maxNewTokens − 1: logits of the last position → shared sampleToken with row b's own
//    Pcg32(seed, b) stream (same seed, same completions) → append
// 3) a row stops at its first stop id; the stop id is not part of the completion
import * as tf from "@tensorflow/tfjs";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { sampleToken, type SamplingParams } from "@tether/shared/sampling/sample";
import type { ModelConfig } from "./config";
import type { Params } from "./params";
import { forward } from "./qwen2";

export interface GenerateOptions extends SamplingParams {
  maxNewTokens: number;
  seed: number;
  /** Token ids that end a completion (eos, "\n", …). */
  stopIds: readonly number[];
  padId: number;
  /**
   * Only ids below this are sampled (default: all vocabSize rows). Pass the tokenizer's size: Hugging Face
   * checkpoints pad vocab_size past the tokenizer (Qwen2.5: 151,936 rows, 151,665 tokens), and a padded id
   * has no text to decode.
   */
  vocabLimit?: number;
}

export interface Generation {
  /** Completion ids per prompt, without the stop token. */
  completions: number[][];
  /** Whether each row ended on a stop id (else it ran out of maxNewTokens). */
  stopped: boolean[];
}

/**
 * Sample completions for a batch of tokenized prompts.
 * @example generate(params, cfg, [[1, 2, 3]], { temperature: 0, maxNewTokens: 8, seed: 0, stopIds: [0], padId: 0 })
 */
export function generate(params: Params, c: ModelConfig, prompts: readonly number[][], o: GenerateOptions): Generation {
  const B = prompts.length;
  const P = Math.max(...prompts.map((p) => p.length));
  if (P + o.maxNewTokens > c.maxPositions) {
    throw new Error(`prompt (${P}) + maxNewTokens (${o.maxNewTokens}) exceeds the context window of ${c.maxPositions}`);
  }
  const rows = prompts.map((p) => [...new Array<number>(P - p.length).fill(o.padId), ...p]);
  const masks = prompts.map((p) => [...new Array<number>(P - p.length).fill(0), ...p.map(() => 1)]);
  const rngs = prompts.map((_, b) => new Pcg32(o.seed, b));
  const completions: number[][] = prompts.map(() => []);
  const stopped = prompts.map(() => false);
  const limit = Math.min(o.vocabLimit ?? c.vocabSize, c.vocabSize);
  for (let t = 0; t < o.maxNewTokens && stopped.some((s) => !s); t++) {
    const T = P + t;
    const last = tf.tidy(() => {
      const { logits } = forward(params, c, tf.tensor2d(rows, [B, T], "int32"), { attentionMask: tf.tensor2d(masks, [B, T]) });
      return tf.reshape(tf.slice(logits, [0, T - 1, 0], [B, 1, c.vocabSize]), [B, c.vocabSize]).dataSync() as Float32Array; // [B, T, V] -> [B, V]
    });
    for (let b = 0; b < B; b++) {
      const logits = last.subarray(b * c.vocabSize, b * c.vocabSize + limit);
      const token = stopped[b] ? o.padId : sampleToken(logits, o, rngs[b]!.nextFloat());
      if (!stopped[b]) {
        if (o.stopIds.includes(token)) stopped[b] = true;
        else completions[b]!.push(token);
      }
      rows[b]!.push(token);
      masks[b]!.push(1);
    }
  }
  return { completions, stopped };
}
