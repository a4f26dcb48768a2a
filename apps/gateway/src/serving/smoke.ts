// A smoke generation: one prefill and one decode step on a freshly loaded engine, so a graph that loads but
// cannot run (wrong inputs, NaN weights) is refused before it takes traffic, and its first real request does
// not pay ONNX Runtime's first-run cost (the hot swap warms the new engine with it).
import type { InferenceEngine } from "../engine/engine";

/** Throws when the logits are not finite or have the wrong size. */
export async function smokeGenerate(engine: InferenceEngine): Promise<void> {
  const { vocabSize, eosTokenIds } = engine.info;
  const encoded = engine.tokenizer.encode("Hello");
  const prompt = encoded.length > 0 ? encoded : [eosTokenIds[0] ?? 0];
  const session = await engine.startDecode(prompt, 1);
  try {
    for (const out of [await session.prefill(), await session.step(Int32Array.of(prompt[0]!))]) {
      if (out.logits.length !== vocabSize) throw new Error(`smoke generation: logits have ${out.logits.length} values, expected ${vocabSize}`);
      if (!out.logits.every(Number.isFinite)) throw new Error("smoke generation: non-finite logits (the weights or the graph are broken)");
    }
  } finally {
    session.close();
  }
}
