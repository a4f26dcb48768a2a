// Shared by the export tests: model configs, large random weights (so every term of the forward pass moves
// the logits), the tfjs forward pass as the independent computation, and ORT helpers.
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { saveCheckpoint } from "../../apps/trainer/src/checkpoint/save-load";
import { PRESETS, validateModelConfig, type ModelConfig } from "../../apps/trainer/src/model/config";
import { initParams, parameterSpecs, type Params } from "../../apps/trainer/src/model/params";
import { forward } from "../../apps/trainer/src/model/qwen2";
import { buildCharBpe } from "../../apps/trainer/src/tokenizer/char-bpe";
import { loadTokenizer, type Tokenizer } from "../../apps/trainer/src/tokenizer/tokenizer";
import type { DecoderWeights } from "../../apps/trainer/src/export/decoder-io";
import { DataType, valueInfo, type onnx } from "../../apps/trainer/src/export/onnx-builder";

/** The tiny preset on the bundled character tokenizer: tied head, 4 query heads over 2 kv heads. */
export function tinyConfig(vocabSize = 100): ModelConfig {
  return validateModelConfig({ ...PRESETS.tiny, vocabSize, bosTokenId: 0, eosTokenId: 0 });
}

/** Untied head, 3 blocks, 4 query heads sharing 1 kv head, a short context. */
export const UNTIED_GQA: ModelConfig = validateModelConfig({
  vocabSize: 37, hiddenSize: 64, intermediateSize: 96, numLayers: 3, numHeads: 4, numKvHeads: 1, headDim: 16,
  maxPositions: 48, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: false, bosTokenId: 0, eosTokenId: 1,
});

/**
 * Seeded params, uniform: Linear weights ±√(3/fan_in) (unit gain, so the residual stream stays of order 1–10
 * as in trained models), embeddings and head ±1, biases ±0.5, norm gains 1 ± 0.5. Logits come out of order
 * 1–10, so a wrong mask, rotation or head mapping shows. Returns the tfjs params and the same values as arrays.
 */
export function randomModel(c: ModelConfig, seed: number): { params: Params; weights: DecoderWeights } {
  const params = initParams(c, seed);
  const rng = new Pcg32(seed, 7);
  const weights: DecoderWeights = new Map();
  for (const spec of parameterSpecs(c)) {
    const v = params.get(spec.name)!;
    const half = spec.kind === "norm" || spec.kind === "bias" ? 0.5 : spec.kind === "embedding" || spec.name === "lm_head.weight" ? 1 : Math.sqrt(3 / spec.shape[1]!);
    const data = Float32Array.from({ length: v.size }, () => (spec.kind === "norm" ? 1 : 0) + (2 * rng.nextFloat() - 1) * half);
    v.assign(tf.tensor(data, v.shape));
    weights.set(spec.name, data);
  }
  return { params, weights };
}

/** Hugging Face position ids for a left-padded mask: cumsum(mask) − 1, clipped at 0. */
export function positionsFromMask(mask: number[][]): number[][] {
  return mask.map((row) => {
    let n = 0;
    return row.map((m) => Math.max((n += m) - 1, 0));
  });
}

/** tfjs forward: logits [B·T·V] and, with collectHidden, hidden_states.{l} as [B·T·d] arrays. */
export function tfjsForward(params: Params, c: ModelConfig, ids: number[][], mask: number[][], positions: number[][], collectHidden = false): { logits: Float32Array; hidden: Float32Array[] } {
  return tf.tidy(() => {
    const r = forward(params, c, tf.tensor2d(ids, undefined, "int32"), {
      attentionMask: tf.tensor2d(mask),
      positionIds: tf.tensor2d(positions, undefined, "int32"),
      collectHidden,
    });
    return { logits: r.logits.dataSync() as Float32Array, hidden: r.hidden.map((h) => h.dataSync() as Float32Array) };
  });
}

/** A copy of the model with hidden_states.{l} (l = 0 … L) as extra graph outputs. */
export function withHiddenOutputs(model: onnx.ModelProto, c: ModelConfig): onnx.IModelProto {
  const extra = Array.from({ length: c.numLayers + 1 }, (_, l) => valueInfo(`hidden_states.${l}`, DataType.FLOAT, ["batch_size", "sequence_length", c.hiddenSize]));
  return { ...model, graph: { ...model.graph, output: [...(model.graph?.output ?? []), ...extra] } };
}

/**
 * max |a[i] − b[i]| over the (row, position) pairs `keep` accepts, rows of `width` values laid out [B, T, width].
 * @example maxDiff(got, ref, 2, 6, V, (b, t) => mask[b][t] === 1)
 */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>, B: number, T: number, width: number, keep: (b: number, t: number) => boolean = () => true): number {
  if (a.length !== B * T * width || b.length !== B * T * width) throw new Error(`maxDiff: lengths ${a.length}, ${b.length} ≠ ${B}·${T}·${width}`);
  let m = 0;
  for (let r = 0; r < B; r++) {
    for (let t = 0; t < T; t++) {
      if (!keep(r, t)) continue;
      for (let j = 0; j < width; j++) m = Math.max(m, Math.abs(a[(r * T + t) * width + j]! - b[(r * T + t) * width + j]!));
    }
  }
  return m;
}

/** Float32 data of a named session output. */
export function outputData(outputs: ort.InferenceSession.OnnxValueMapType, name: string): Float32Array {
  const t = outputs[name] as ort.Tensor | undefined;
  if (!t) throw new Error(`no output ${name}`);
  return t.data as Float32Array;
}

/** A reference checkpoint of `params` with the bundled character tokenizer files. */
export function writeTinyCheckpoint(dir: string, c: ModelConfig, params: Params): { tok: Tokenizer } {
  const files = buildCharBpe();
  saveCheckpoint({
    dir,
    kind: "reference",
    config: c,
    params,
    files: {
      "tokenizer.json": `${JSON.stringify(files.tokenizerJson)}\n`,
      "tokenizer_config.json": `${JSON.stringify(files.tokenizerConfig)}\n`,
      "generation_config.json": `${JSON.stringify(files.generationConfig)}\n`,
    },
    training: { command: "pretrain", config: {}, seed: 1, backend: "test", steps: 0, metrics: {} },
  });
  return { tok: loadTokenizer(files.tokenizerJson, files.tokenizerConfig) };
}

/** A graph's lists with the protobuf optionals resolved (absent = empty). */
export function graphParts(model: onnx.IModelProto): { input: onnx.IValueInfoProto[]; output: onnx.IValueInfoProto[]; node: onnx.INodeProto[]; initializer: onnx.ITensorProto[] } {
  const g = model.graph ?? {};
  return { input: g.input ?? [], output: g.output ?? [], node: g.node ?? [], initializer: g.initializer ?? [] };
}
