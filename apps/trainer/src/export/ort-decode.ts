// Running an exported decoder with onnxruntime-node: contract feeds (empty or carried KV cache), greedy
// decoding with the cache, and decode-step timing — for the exporter's variant choice, tests and bench/.
import * as ort from "onnxruntime-node";
import { PAST, PRESENT } from "./decoder-io";

/** The dimensions the KV-cache inputs need (a ModelConfig has them). */
export interface KvShape {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
}

/**
 * A CPU session with a pinned thread count (1 by default: reproducible timings on a shared machine).
 * @example const session = await createSession("ckpt/onnx/model.onnx"); … await session.release();
 */
export function createSession(model: string | Uint8Array, threads = 1): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential" };
  return typeof model === "string" ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}

/** int64 tensor [rows, cols] from equal-length rows. */
export function int64Tensor(rows: readonly (readonly number[])[]): ort.Tensor {
  const cols = rows[0]?.length ?? 0;
  return new ort.Tensor("int64", BigInt64Array.from(rows.flat(), (v) => BigInt(v)), [rows.length, cols]);
}

/** Empty past (past_sequence_length 0) for every layer. */
export function emptyPast(c: KvShape, batch: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (let i = 0; i < c.numLayers; i++) {
    for (const kind of ["key", "value"] as const) feeds[PAST(i, kind)] = new ort.Tensor("float32", new Float32Array(0), [batch, c.numKvHeads, 0, c.headDim]);
  }
  return feeds;
}

/** The present.{i}.* outputs of a step as the next step's past_key_values.{i}.* feeds. */
export function carryPast(c: KvShape, outputs: ort.InferenceSession.OnnxValueMapType): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (let i = 0; i < c.numLayers; i++) {
    for (const kind of ["key", "value"] as const) feeds[PAST(i, kind)] = outputs[PRESENT(i, kind)] as ort.Tensor;
  }
  return feeds;
}

export interface StepInput {
  /** [B, S] new tokens. */
  ids: number[][];
  /** [B, P + S] 1 = real token (past and new), 0 = padding. */
  mask: number[][];
  /** [B, S] RoPE positions of the new tokens. */
  positions: number[][];
}

/** Run one step: contract feeds from `step` and the past (empty when omitted). */
export async function runStep(session: ort.InferenceSession, c: KvShape, step: StepInput, past?: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
  return session.run({
    input_ids: int64Tensor(step.ids),
    attention_mask: int64Tensor(step.mask),
    position_ids: int64Tensor(step.positions),
    ...(past ?? emptyPast(c, step.ids.length)),
  });
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/**
 * Greedy completion of one prompt with the KV cache: the prompt in one pass, then one token per step;
 * stops after `maxNewTokens` or at a stop id (which is included, as transformers.js's generate does).
 * @example await greedyDecode(session, cfg, [5, 6, 7], 8, [0]) // [12, 9, …]
 */
export async function greedyDecode(session: ort.InferenceSession, c: KvShape & { vocabSize: number }, prompt: number[], maxNewTokens: number, stopIds: readonly number[] = []): Promise<number[]> {
  const out: number[] = [];
  let past: Record<string, ort.Tensor> | undefined;
  let ids = prompt;
  let length = 0;
  for (let t = 0; t < maxNewTokens; t++) {
    const positions = ids.map((_, i) => length + i);
    length += ids.length;
    const r = await runStep(session, c, { ids: [ids], mask: [new Array<number>(length).fill(1)], positions: [positions] }, past);
    const logits = r.logits!.data as Float32Array; // [1, S, V]: the last row predicts the next token
    const next = argmax(logits.subarray((ids.length - 1) * c.vocabSize, ids.length * c.vocabSize));
    out.push(next);
    if (stopIds.includes(next)) break;
    past = carryPast(c, r);
    ids = [next];
  }
  return out;
}

export interface DecodeTiming {
  /** Median wall time of one single-token step over the whole batch, ms. */
  stepMs: number;
  /** batch / step time. */
  tokensPerSecond: number;
}

/**
 * Median single-token decode step after a `promptLength`-token prefill, `batch` rows, `steps` timed steps
 * (plus 2 untimed warm-up steps). Token ids are arbitrary but fixed; the cache grows as in real decoding.
 * @example const { tokensPerSecond } = await timeDecode(session, cfg, { batch: 8 });
 */
export async function timeDecode(session: ort.InferenceSession, c: KvShape & { vocabSize: number }, o: { batch?: number; promptLength?: number; steps?: number } = {}): Promise<DecodeTiming> {
  const B = o.batch ?? 1;
  const P = o.promptLength ?? 16;
  const steps = o.steps ?? 16;
  const token = (b: number, t: number) => (b * 31 + t * 7 + 1) % c.vocabSize;
  const prompt = Array.from({ length: B }, (_, b) => Array.from({ length: P }, (_, t) => token(b, t)));
  let r = await runStep(session, c, { ids: prompt, mask: prompt.map((row) => row.map(() => 1)), positions: prompt.map((row) => row.map((_, t) => t)) });
  const times: number[] = [];
  for (let s = 0; s < steps + 2; s++) {
    const T = P + s + 1;
    const step: StepInput = {
      ids: prompt.map((_, b) => [token(b, T)]),
      mask: prompt.map(() => new Array<number>(T).fill(1)),
      positions: prompt.map(() => [T - 1]),
    };
    const t0 = performance.now();
    r = await runStep(session, c, step, carryPast(c, r));
    if (s >= 2) times.push(performance.now() - t0);
  }
  const stepMs = median(times);
  return { stepMs, tokensPerSecond: B / (stepMs / 1000) };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
