// Shared-prefix scoring (the reference's half of the drift guard, ort-engine.ts score()): the k completions of a
// prompt share it, so its KV cache is computed once and the completions run as ONE chunk on top of it:
//   1) prompt at batch 1 (in chunks within the logits budget) → cache [1, H_kv, P, D] and its last logits row,
//      which is every completion's row 0 (the distribution of completion token 0 given the prompt)
//   2) cache tiled to C rows, completion c's tokens [0 .. L_c − 1) fed as a right-padded chunk [C, T]:
//      attention_mask [C, P + T] (1 on the prompt and on c's tokens, 0 on pads), position_ids P … P + T − 1;
//      chunk row t of c is the distribution of completion token t + 1 (causal attention: pads sit after every
//      real token and change nothing before them)
// So k completions cost one prompt pass plus one chunk of k rows, instead of k prompt passes (the standard graph;
// the fused GroupQueryAttention graph takes several new tokens over a past only at batch 1, see ort-session.ts).
import type { OrtEngine } from "./ort-engine";
import { carryPast, disposeAll, emptyPast, presentNames, selectRows, type OrtTensor } from "./ort-runtime";

/**
 * Per completion c, raw logits [L_c, V] (row t given prompt + c[0 .. t)), as OrtEngine.score() returns them.
 * @example const rows = await scoreSharedPrefix(engine, [5, 6], [[7, 8], [9]], signal); // [[2, V], [1, V]]
 */
export async function scoreSharedPrefix(
  engine: OrtEngine,
  prompt: readonly number[],
  completions: readonly (readonly number[])[],
  signal: AbortSignal | undefined,
): Promise<Float32Array[]> {
  const V = engine.info.vocabSize;
  const logits = completions.map((c) => new Float32Array(c.length * V));
  if (completions.every((c) => c.length === 0)) return logits;
  const { past, last } = await runPrompt(engine, prompt, signal);
  try {
    for (const out of logits) if (out.length) out.set(last); // row 0 of every completion
    // completions with a token after their first need the chunk, in parts within the logits budget
    const rows = completions.flatMap((c, i) => (c.length > 1 ? [i] : []));
    const chunkLength = (part: readonly number[]) => Math.max(...part.map((i) => completions[i]!.length)) - 1;
    for (let start = 0; start < rows.length; ) {
      let end = start + 1;
      while (end < rows.length && (end + 1 - start) * chunkLength(rows.slice(start, end + 1)) * V <= engine.maxLogitsPerRun) end++;
      const part = rows.slice(start, end);
      const T = chunkLength(part);
      // [1, H_kv, P, D] -> [C', H_kv, P, D]; the prompt's cache is kept for the next part
      const tiled = selectRows(past, part.map(() => 0), engine.tensors, false);
      const feeds = chunkFeeds(engine, prompt.length, part.map((i) => completions[i]!), T);
      const out = await engine.run({ ...feeds, ...tiled }, ["logits"], signal).finally(() => disposeAll(tiled));
      const data = out.logits!.data as Float32Array; // [C', T, V]
      part.forEach((i, r) => logits[i]!.set(data.subarray(r * T * V, (r * T + completions[i]!.length - 1) * V), V));
      disposeAll(out);
      start = end;
    }
    return logits;
  } finally {
    disposeAll(past);
  }
}

// The prompt at batch 1, chunked so that no [1, chunk, V] logits block passes the budget; returns its cache and a
// copy of its last logits row.
async function runPrompt(engine: OrtEngine, prompt: readonly number[], signal: AbortSignal | undefined): Promise<{ past: Record<string, OrtTensor>; last: Float32Array }> {
  const V = engine.info.vocabSize;
  const P = prompt.length;
  const chunk = Math.max(1, Math.floor(engine.maxLogitsPerRun / V));
  const fetches = ["logits", ...presentNames(engine.kv)];
  let past = emptyPast(engine.kv, 1, engine.tensors);
  let last = new Float32Array(0);
  for (let start = 0; start < P; start += chunk) {
    const ids = BigInt64Array.from(prompt.slice(start, start + chunk), BigInt);
    const out = await engine.run(engine.feeds(ids, 1, start, past), fetches, signal).catch((e: unknown) => {
      disposeAll(past);
      throw e;
    });
    disposeAll(past);
    past = carryPast(engine.kv, out);
    const data = out.logits!.data as Float32Array; // [1, chunk, V]
    last = data.slice(data.length - V);
    out.logits!.dispose();
  }
  return { past, last };
}

// input_ids [C, T] = c[0 .. L_c − 1) right-padded with 0; attention_mask [C, P + T]; position_ids P + t.
function chunkFeeds(engine: OrtEngine, P: number, completions: readonly (readonly number[])[], T: number): Record<string, OrtTensor> {
  const C = completions.length;
  const ids = new BigInt64Array(C * T);
  const mask = new BigInt64Array(C * (P + T));
  const positions = new BigInt64Array(C * T);
  completions.forEach((c, r) => {
    const fed = c.length - 1;
    for (let t = 0; t < T; t++) {
      ids[r * T + t] = BigInt(t < fed ? c[t]! : 0);
      positions[r * T + t] = BigInt(P + t);
    }
    mask.fill(1n, r * (P + T), r * (P + T) + P + fed);
  });
  return {
    input_ids: engine.tensors.int64(ids, [C, T]),
    attention_mask: engine.tensors.int64(mask, [C, P + T]),
    position_ids: engine.tensors.int64(positions, [C, T]),
  };
}
