// Reference statistics for sketch.json: run the exported decoder (with its `sketch.{l}` outputs, see
// sketch-outputs.ts) over a calibration set, pool each request's per-token sketches, and summarise them with the
// shared ReferenceStatsBuilder.
//
// Each batch is one full-sequence pass with an empty KV cache (past_sequence_length 0), right-padded:
//   input_ids [B, T] (pad id 0), attention_mask a [B, T] (1 = real token, 0 = pad), position_ids t = 0..T−1
//   ȳ_l = Σ_t a_t · sketch.l[b, t, :] / Σ_t a_t                                  (MeanPool, float64)
// With right padding a causal decoder computes the real tokens exactly as without padding (they never attend to
// later positions), and the mask drops the pads from the mean, so batching does not change a request's vector
// beyond float32 rounding. Requests reach the builder in input order: same inputs → identical JSON.
import * as ort from "onnxruntime-node";
import { ParameterError } from "@tether/shared/errors";
import {
  MeanPool,
  ReferenceStatsBuilder,
  parseSketchJson,
  type SketchJson,
  type SketchSpec,
} from "@tether/shared/sketch/index";
import { sketchOutputName } from "./sketch-outputs";

/** The decoder shape the empty KV-cache inputs need. */
export interface DecoderShape {
  /** Decoder layers: one past_key_values.{i}.key|value pair each. */
  numLayers: number;
  numKvHeads: number;
  headDim: number;
}

export interface CalibrateOptions {
  /** Requests per forward pass (right-padded to the longest one). Default 8. */
  batchSize?: number;
}

/**
 * Pooled sketches of every calibration request → validated sketch.json object.
 * @example
 * const sketch = await calibrateSketch(`${ckpt}/onnx/model.onnx`, { numLayers: 24, numKvHeads: 2, headDim: 64 },
 *   makeSketchSpec({ d: 896, layers: [6, 12, 18, 24] }), calibrationTokenIds);
 * await writeFile(`${ckpt}/sketch.json`, JSON.stringify(sketch));
 */
export async function calibrateSketch(
  modelPath: string,
  config: DecoderShape,
  spec: SketchSpec,
  sequences: number[][],
  options: CalibrateOptions = {},
): Promise<SketchJson> {
  const builder = new ReferenceStatsBuilder(spec); // validates spec
  if (sequences.length < 3) throw new ParameterError("sequences.length", "must be ≥ 3 calibration requests", sequences.length);
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: 1, // deterministic reductions and a fair share of a busy machine
    interOpNumThreads: 1,
    executionMode: "sequential",
  });
  try {
    const pooled = await pooledSketches(session, config, builder.spec, sequences, options.batchSize ?? 8);
    for (const request of pooled) builder.addRequest(request);
  } finally {
    await session.release();
  }
  return parseSketchJson(builder.build());
}

/**
 * Per request, per monitored layer, the masked mean of the per-token sketches: result[n][k] is the pooled
 * sketch (length m) of sequences[n] at layer spec.layers[k]. Exported for tests and for callers holding a session.
 * @example
 * const [[y6, y12]] = await pooledSketches(session, shape, spec, [[1, 5, 7]], 8);
 */
export async function pooledSketches(
  session: ort.InferenceSession,
  config: DecoderShape,
  spec: SketchSpec,
  sequences: number[][],
  batchSize: number,
): Promise<Float64Array[][]> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ParameterError("batchSize", "must be an integer ≥ 1", batchSize);
  sequences.forEach(checkSequence);
  const fetches = spec.layers.map(sketchOutputName);
  const missing = fetches.filter((name) => !session.outputNames.includes(name));
  if (missing.length > 0) {
    throw new ParameterError("model", `must have the sketch outputs ${missing.join(", ")} (run addSketchOutputs with the same spec)`);
  }
  const result: Float64Array[][] = [];
  for (let start = 0; start < sequences.length; start += batchSize) {
    const batch = sequences.slice(start, start + batchSize);
    const { feeds, mask, T } = batchFeeds(session.inputNames, config, batch);
    const outputs = await session.run(feeds, fetches);
    batch.forEach((_, b) => {
      result.push(fetches.map((name) => poolRow(outputs[name], b, T, spec.m, mask.subarray(b * T, (b + 1) * T))));
    });
  }
  return result;
}

// One batch row of sketch.l [B, T, m] → its masked mean [m].
function poolRow(output: ort.Tensor, b: number, T: number, m: number, mask: Uint8Array): Float64Array {
  const [, Tout, mOut] = output.dims;
  if (output.type !== "float32" || Tout !== T || mOut !== m) {
    throw new ParameterError("sketch output", `must be float32 [B, ${T}, ${m}]`, `${output.type} [${output.dims.join(", ")}]`);
  }
  const pool = new MeanPool(m);
  pool.addTokens((output.data as Float32Array).subarray(b * T * m, (b + 1) * T * m), mask); // [T, m] -> [m]
  return pool.mean();
}

// Right-padded int64 inputs and empty KV caches [B, Hkv, 0, D] for the inputs the model declares.
function batchFeeds(
  inputNames: readonly string[],
  config: DecoderShape,
  batch: number[][],
): { feeds: Record<string, ort.Tensor>; mask: Uint8Array; T: number } {
  const B = batch.length;
  const T = Math.max(...batch.map((s) => s.length));
  const ids = new BigInt64Array(B * T); // [B, T], pad id 0
  const attention = new BigInt64Array(B * T);
  const positions = new BigInt64Array(B * T);
  const mask = new Uint8Array(B * T);
  batch.forEach((seq, b) => {
    for (let t = 0; t < T; t++) {
      positions[b * T + t] = BigInt(t);
      if (t >= seq.length) continue;
      ids[b * T + t] = BigInt(seq[t]);
      attention[b * T + t] = 1n;
      mask[b * T + t] = 1;
    }
  });
  const available: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor("int64", ids, [B, T]),
    attention_mask: new ort.Tensor("int64", attention, [B, T]),
    position_ids: new ort.Tensor("int64", positions, [B, T]),
  };
  const empty = new ort.Tensor("float32", new Float32Array(0), [B, config.numKvHeads, 0, config.headDim]);
  for (let i = 0; i < config.numLayers; i++) {
    available[`past_key_values.${i}.key`] = empty;
    available[`past_key_values.${i}.value`] = empty;
  }
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of inputNames) {
    const tensor = available[name];
    if (!tensor) throw new ParameterError("model input", `must be one of the decoder inputs (config.numLayers = ${config.numLayers})`, name);
    feeds[name] = tensor;
  }
  if (!feeds.input_ids) throw new ParameterError("model inputs", "must include input_ids", inputNames.join(", "));
  return { feeds, mask, T };
}

function checkSequence(seq: number[], n: number): void {
  if (!Array.isArray(seq) || seq.length === 0) throw new ParameterError(`sequences[${n}]`, "must be a non-empty array of token ids");
  seq.forEach((id, t) => {
    if (!Number.isSafeInteger(id) || id < 0) throw new ParameterError(`sequences[${n}][${t}]`, "must be an integer token id ≥ 0", id);
  });
}
