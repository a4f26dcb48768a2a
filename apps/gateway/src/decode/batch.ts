// The decode loop over one engine session: B sequences sharing a prompt advance together, one batched
// graph call per token, each row sampled with its sequence's own PCG32 stream.
//
// 1) prefill the prompt once → logits [B, V]; pool the prompt's sketch rows into every sequence
// 2) per live sequence b: sample row b, record it (eos / stop / max_tokens may finish it)
// 3) stop when every sequence has finished; else feed the B tokens (finished rows get a placeholder)
//    and pool the fed tokens' sketch rows; check the abort signal between graph calls
import type { EngineCallOptions, InferenceEngine, StepOutput } from "../engine/engine";
import type { SequenceState } from "./sequence";

export interface DecodeBatchOptions extends EngineCallOptions {
  /** Called after every sampling step (live streaming reads the sequences' text here). */
  onStep?: () => void;
}

/**
 * Decodes `sequences` (fresh SequenceStates) to completion in one batched session.
 * @example await decodeBatch(policy, promptIds, seqs, { signal }); // seqs[b].tokens, .text, .rows
 */
export async function decodeBatch(
  engine: InferenceEngine,
  prompt: readonly number[],
  sequences: readonly SequenceState[],
  options: DecodeBatchOptions = {},
): Promise<void> {
  if (sequences.length === 0 || sequences.every((s) => s.finished)) return;
  const { signal, onStep } = options;
  const B = sequences.length;
  const V = engine.info.vocabSize;
  const session = await engine.startDecode(prompt, B, { signal });
  try {
    let out = await session.prefill();
    poolPrompt(sequences, out);
    const tokens = new Int32Array(B);
    const live = new Uint8Array(B);
    for (;;) {
      // 2) one token per live sequence; row b of [B, V] is a zero-copy view
      for (let b = 0; b < B; b++) {
        const seq = sequences[b]!;
        if (!seq.finished) tokens[b] = seq.sampleAndPush(out.logits.subarray(b * V, (b + 1) * V));
        live[b] = seq.finished ? 0 : 1; // a sequence that just finished is not fed again
      }
      onStep?.();
      if (sequences.every((s) => s.finished)) return;
      signal?.throwIfAborted();
      out = await session.step(tokens, live);
      poolStep(sequences, out, live);
    }
  } finally {
    session.close();
  }
}

// Prompt sketch rows [T, m] are shared: every sequence pools the same prompt tokens.
function poolPrompt(sequences: readonly SequenceState[], out: StepOutput): void {
  if (!out.sketch) return;
  for (const seq of sequences) out.sketch.forEach((rows, l) => seq.pools[l]?.addTokens(rows));
}

// Step sketch rows [B, m]: row b is the token sequence b was just fed (finished rows are skipped).
function poolStep(sequences: readonly SequenceState[], out: StepOutput, live: Uint8Array): void {
  if (!out.sketch) return;
  out.sketch.forEach((rows, l) => {
    const m = rows.length / sequences.length;
    sequences.forEach((seq, b) => {
      if (live[b]) seq.pools[l]?.addTokens(rows.subarray(b * m, (b + 1) * m));
    });
  });
}
