// The InferenceEngine over an exported ONNX decoder with KV cache, independent of which ONNX Runtime build
// runs it: ort-node.ts adapts onnxruntime-node's session to OrtRunner (ort-runtime.ts) in a few lines.
//
// Decode: ort-session.ts (prompt once at batch 1, cache tiled to B rows, one batched run per token).
// Score (the reference's half of the drift guard): shared-prefix by default (ort-prefix-score.ts), else "batched":
// prompt + completion_c[0 .. L_c − 1) for every c in ONE run,
// right-padded to the longest (attention_mask 0 on pads, position_ids 0 … T − 1; both graph variants accept
// right padding), fetching only `logits`. Completion c's rows are positions P − 1 … P + L_c − 2 of its batch
// row: row t is the distribution of completion token t given prompt + completion[0 .. t).
import { abortError, type DecodeSession, type EngineCallOptions, type InferenceEngine, type ModelInfo, type ScoreOutput } from "./engine";
import { modelInfo, type ServingCheckpoint } from "./checkpoint";
import { HfTokenizer } from "./hf-tokenizer";
import { emptyPast, PAST, presentNames, type KvShape, type OrtRunner, type OrtTensor, type OrtTensorFactory } from "./ort-runtime";
import { scoreSharedPrefix } from "./ort-prefix-score";
import { OrtDecodeSession } from "./ort-session";

/** How a decode session runs its prompt: once and tiled to B rows (default), or at batch B. */
export type PrefillMode = "tile" | "batched";

/**
 * How score() runs: "shared-prefix" (ort-prefix-score.ts: the prompt once, the completions as one chunk over its
 * cache) or "batched" (prompt + completion per row in one right-padded run). Default: shared-prefix on the
 * standard graph, batched on the fused one (its GroupQueryAttention takes a chunk over a past only at batch 1).
 */
export type ScoreMode = "shared-prefix" | "batched";

export interface OrtEngineOptions {
  /** "tile" (default) runs the prompt once; "batched" B times in one run (same numbers, B× the work; for benches). */
  prefill?: PrefillMode;
  /**
   * Largest logits block one run may produce, in floats (default 2^26 = 256 MiB): score() splits its batch
   * and prefill its prompt into several runs beyond it (the graph computes logits at every fed position).
   */
  maxLogitsPerRun?: number;
  /** See ScoreMode; both give the same rows (to float32 rounding). */
  score?: ScoreMode;
}

/**
 * @example
 * const engine = new OrtEngine(loadServingCheckpoint(dir), runner, factory); // OrtNodeEngine.load does this
 * const { logits } = await engine.score([5, 6], [[7, 8], [9]]); // [[2, V], [1, V]]
 */
export class OrtEngine implements InferenceEngine {
  readonly info: ModelInfo;
  readonly tokenizer: HfTokenizer;
  readonly kv: KvShape;
  readonly prefillMode: PrefillMode;
  /** Outputs a decode run fetches: logits, present.*, and sketch.{l} for each ModelInfo.sketchLayers entry. */
  readonly decodeFetches: readonly string[];
  /** Decode sessions not yet closed (tests check that every one is). */
  openSessions = 0;
  readonly maxLogitsPerRun: number;
  readonly scoreMode: ScoreMode;
  private disposed = false;

  constructor(
    readonly checkpoint: ServingCheckpoint,
    readonly runner: OrtRunner,
    readonly tensors: OrtTensorFactory,
    options: OrtEngineOptions = {},
  ) {
    const { config, onnx } = checkpoint;
    this.kv = { layers: config.num_hidden_layers, kvHeads: config.num_key_value_heads, headDim: checkpoint.headDim };
    const missing = graphProblems(runner, this.kv);
    if (missing.length) throw new Error(`${onnx.path}: not a decoder with KV cache for this config.json (missing ${missing.join(", ")})`);
    // The sketch layers are sketch.json's: without its reference statistics the vectors could not be scored.
    const sketchLayers = checkpoint.sketch?.spec.layers ?? [];
    const absent = sketchLayers.filter((l) => !runner.outputNames.includes(`sketch.${l}`));
    if (absent.length) throw new Error(`${onnx.path}: no output ${absent.map((l) => `sketch.${l}`).join(", ")} for the layers sketch.json monitors; re-run \`npm run train -- export ${checkpoint.dir}\``);
    this.info = modelInfo(checkpoint, sketchLayers);
    this.tokenizer = new HfTokenizer(checkpoint.tokenizerJson, checkpoint.tokenizerConfig);
    this.prefillMode = options.prefill ?? "tile";
    this.maxLogitsPerRun = options.maxLogitsPerRun ?? 2 ** 26;
    this.scoreMode = options.score ?? (onnx.variant === "standard" ? "shared-prefix" : "batched");
    // ORT 1.30: "GroupQueryAttention: batch_size must be 1 when sequence_length > 1 and past context is given"
    if (this.scoreMode === "shared-prefix" && onnx.variant === "fused") throw new RangeError(`score "shared-prefix" needs the standard graph; ${onnx.path} is the fused one (use "batched")`);
    this.decodeFetches = ["logits", ...presentNames(this.kv), ...sketchLayers.map((l) => `sketch.${l}`)];
  }

  async startDecode(prompt: readonly number[], batchSize: number, options: EngineCallOptions = {}): Promise<DecodeSession> {
    this.checkOpen();
    this.checkIds(prompt, "prompt");
    if (prompt.length === 0 || prompt.length > this.info.contextWindow) throw new RangeError(`prompt length must be in [1, ${this.info.contextWindow}] (got ${prompt.length})`);
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`batchSize must be an integer ≥ 1 (got ${batchSize})`);
    if (options.signal?.aborted) throw abortError(options.signal);
    this.openSessions++;
    return new OrtDecodeSession(this, prompt, batchSize, options.signal);
  }

  async score(prompt: readonly number[], completions: readonly (readonly number[])[], options: EngineCallOptions = {}): Promise<ScoreOutput> {
    this.checkOpen();
    if (options.signal?.aborted) throw abortError(options.signal);
    this.checkIds(prompt, "prompt");
    if (prompt.length === 0) throw new RangeError("prompt must not be empty");
    const P = prompt.length;
    completions.forEach((c, i) => {
      this.checkIds(c, `completions[${i}]`);
      if (P + c.length - 1 > this.info.contextWindow) throw new RangeError(`prompt + completions[${i}] must fit the context window of ${this.info.contextWindow} tokens (got ${P} + ${c.length})`);
    });
    if (this.scoreMode === "shared-prefix") return { logits: await scoreSharedPrefix(this, prompt, completions, options.signal) };
    const V = this.info.vocabSize;
    const logits: Float32Array[] = completions.map(() => new Float32Array(0));
    // 1) rows that need a run (an empty completion has no logits); 2) as few runs as the logits budget allows
    const rows = completions.flatMap((c, i) => (c.length > 0 ? [i] : []));
    const fedLength = (part: readonly number[]) => P - 1 + Math.max(...part.map((i) => completions[i]!.length));
    for (let start = 0; start < rows.length; ) {
      let end = start + 1;
      while (end < rows.length && (end + 1 - start) * fedLength(rows.slice(start, end + 1)) * V <= this.maxLogitsPerRun) end++;
      const part = rows.slice(start, end);
      const T = fedLength(part);
      const out = await this.run(this.scoreFeeds(prompt, part.map((i) => completions[i]!), T), ["logits"], options.signal);
      const data = out.logits!.data as Float32Array; // [C', T, V]
      // 3) completion i's rows P − 1 … P + L − 2 (views into the run's output, no copy)
      part.forEach((i, r) => (logits[i] = data.subarray((r * T + P - 1) * V, (r * T + P - 1 + completions[i]!.length) * V)));
      start = end;
    }
    return { logits };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.runner.release();
  }

  /** One graph call with the signal checked before and after it (a result that arrives aborted is dropped). */
  async run(feeds: Record<string, OrtTensor>, fetches: readonly string[], signal: AbortSignal | undefined): Promise<Record<string, OrtTensor>> {
    this.checkOpen();
    if (signal?.aborted) throw abortError(signal);
    const out = await this.runner.run(feeds, fetches);
    if (signal?.aborted) {
      for (const t of Object.values(out)) t.dispose();
      throw abortError(signal);
    }
    return out;
  }

  /** Feeds for `ids` [B, T] on top of `pastLength` cached tokens: mask all ones, positions pastLength + t. */
  feeds(ids: BigInt64Array, B: number, pastLength: number, past: Record<string, OrtTensor>): Record<string, OrtTensor> {
    const T = ids.length / B;
    const positions = new BigInt64Array(B * T);
    for (let i = 0; i < B * T; i++) positions[i] = BigInt(pastLength + (i % T));
    return {
      input_ids: this.tensors.int64(ids, [B, T]),
      attention_mask: this.tensors.int64(new BigInt64Array(B * (pastLength + T)).fill(1n), [B, pastLength + T]),
      position_ids: this.tensors.int64(positions, [B, T]),
      ...past,
    };
  }

  checkIds(ids: ArrayLike<number>, name: string): void {
    const V = this.info.vocabSize;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new RangeError(`${name} token ids must be integers in [0, ${V - 1}] (got ${id} at index ${i})`);
    }
  }

  private checkOpen(): void {
    if (this.disposed) throw new Error(`engine ${this.info.id} is disposed`);
  }

  // Right-padded [C, T] batch of prompt + completion[0 .. L − 1): token 0 and mask 0 on pads, positions 0 … T − 1.
  private scoreFeeds(prompt: readonly number[], completions: readonly (readonly number[])[], T: number): Record<string, OrtTensor> {
    const C = completions.length;
    const ids = new BigInt64Array(C * T);
    const mask = new BigInt64Array(C * T);
    const positions = new BigInt64Array(C * T);
    completions.forEach((c, r) => {
      const fed = [...prompt, ...c.slice(0, c.length - 1)];
      for (let t = 0; t < T; t++) {
        ids[r * T + t] = BigInt(fed[t] ?? 0);
        mask[r * T + t] = t < fed.length ? 1n : 0n;
        positions[r * T + t] = BigInt(t);
      }
    });
    return {
      input_ids: this.tensors.int64(ids, [C, T]),
      attention_mask: this.tensors.int64(mask, [C, T]),
      position_ids: this.tensors.int64(positions, [C, T]),
      ...emptyPast(this.kv, C, this.tensors),
    };
  }
}

function graphProblems(runner: OrtRunner, kv: KvShape): string[] {
  const inputs = ["input_ids", "attention_mask", "position_ids"];
  for (let i = 0; i < kv.layers; i++) inputs.push(PAST(i, "key"), PAST(i, "value"));
  return [
    ...inputs.filter((n) => !runner.inputNames.includes(n)).map((n) => `input ${n}`),
    ...["logits", ...presentNames(kv)].filter((n) => !runner.outputNames.includes(n)).map((n) => `output ${n}`),
  ];
}
