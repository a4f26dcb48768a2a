// The inference seam: what the gateway needs from a model runtime (onnxruntime-node, onnxruntime-web, the
// fake test engine). Engines only run forward passes; sampling, seeding, stop sequences, logprobs and the
// drift guard live above this seam in shared JS, so every engine gives the same tokens for the same seed.
//
// Contract, per request:
//   1) startDecode(prompt, B) opens ONE batched session: B sequences continuing the same prompt
//      (the n·k candidates of the drift guard, or the n choices of an unguarded request).
//   2) prefill() runs the prompt once and returns next-token logits [B, V] (rows equal: same prompt).
//   3) step(tokens) appends one token per sequence and returns the next logits [B, V]; the caller samples
//      each row with its own seeded PCG32 stream and stops calling when every sequence has finished.
//   4) close() releases the session (KV cache); always called, also on abort or error.
// score(prompt, completions) is the reference's half of the guard: one batched forward over
// prompt + completion_c for every c, returning the raw next-token logits at each completion position.
//
// Logits are RAW (before temperature, top-k/p, min-p): exact KL and logprobs are computed from them with
// logSoftmax in packages/shared/src/math. Engines may return log-softmax rows instead (shift-invariant).

/** Text ↔ token ids of a checkpoint (tokenizer.json). Policy and reference must share it. */
export interface Tokenizer {
  /**
   * Ids of a text; adds nothing (no bos/eos); special-token text such as "<|im_end|>" maps to its id, unless
   * `specialTokens: false`, which encodes it as ordinary text (user content inside a chat template).
   */
  encode(text: string, options?: { specialTokens?: boolean }): number[];
  /** The id of text the vocabulary cannot represent (<|unk|>); null or absent when there is none. */
  readonly unknownTokenId?: number | null;
  /** Text of ids; `skipSpecialTokens` drops eos/ChatML markers (the gateway does, as vLLM by default). */
  decode(ids: ArrayLike<number>, options?: { skipSpecialTokens?: boolean }): string;
  /** Raw UTF-8 bytes of one token (a byte-level token may hold part of a character). */
  tokenBytes(id: number): number[];
}

/** What the gateway needs to know about a loaded checkpoint. */
export interface ModelInfo {
  /** manifest.json id. */
  id: string;
  /** Positions the model attends over: prompt + completion tokens must fit (config max_position_embeddings). */
  contextWindow: number;
  /** Rows of every logits block (V). */
  vocabSize: number;
  /** Token ids that end a sequence (generation_config eos_token_id, e.g. <|endoftext|> and <|im_end|>). */
  eosTokenIds: readonly number[];
  /** tokenizer_config.json chat_template (Jinja); null when the checkpoint has none. */
  chatTemplate: string | null;
  /** Token strings the chat template may reference as bos_token / eos_token. */
  bosToken: string | null;
  eosToken: string | null;
  /** Monitored residual-stream layers whose sketch the engine emits (sketch.json spec.layers); [] = none. */
  sketchLayers: readonly number[];
}

/** Per-call options. */
export interface EngineCallOptions {
  /** Aborted → the engine stops at the next graph call and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Output of one batched graph call. */
export interface StepOutput {
  /** Raw next-token logits, [B, V] row-major float32; row b belongs to sequence b. */
  logits: Float32Array;
  /**
   * Sketch vectors y_t = S·x̂_t of the tokens this call fed, one block per ModelInfo.sketchLayers entry:
   * prefill → [T, m] (the shared prompt's T tokens, once), step → [B, m] (one token per sequence).
   * The caller pools them per sequence (packages/shared/src/sketch MeanPool). Absent: no sketch.
   */
  sketch?: readonly Float32Array[];
}

/** One batched decode of B sequences sharing a prompt. */
export interface DecodeSession {
  readonly batchSize: number;
  /** Runs the prompt; next-token logits for every sequence. Called exactly once, first. */
  prefill(): Promise<StepOutput>;
  /**
   * Appends tokens[b] to sequence b and returns the following logits. `live[b] = 0` marks a finished
   * sequence: its token is a placeholder, its output row is unspecified, and the engine may skip it.
   */
  step(tokens: Int32Array, live?: Uint8Array): Promise<StepOutput>;
  /** Frees the session; idempotent. */
  close(): void;
}

/** Logits of completions scored under a model. */
export interface ScoreOutput {
  /**
   * Per completion c, raw logits [L_c, V]: row t is the distribution of completion token t given
   * prompt + completion[0..t). The last completion token is never fed (nothing follows it).
   */
  logits: Float32Array[];
}

/**
 * A loaded checkpoint that can decode and score. One implementation per file (test/support/fake-engine.ts,
 * engine/ort-node.ts, …); the app receives instances and never checks which runtime it runs on.
 * @example
 * const session = await engine.startDecode(promptIds, 4, { signal });
 * let out = await session.prefill(); // out.logits: [4, V]
 * out = await session.step(Int32Array.of(5, 9, 2, 5)); // [4, V]
 * session.close();
 * const { logits } = await reference.score(promptIds, [[5, 7], [9]]); // [[2, V], [1, V]]
 */
export interface InferenceEngine {
  readonly info: ModelInfo;
  readonly tokenizer: Tokenizer;
  /** Opens a batched decode session (batchSize ≥ 1; prompt non-empty and within the context window). */
  startDecode(prompt: readonly number[], batchSize: number, options?: EngineCallOptions): Promise<DecodeSession>;
  /** One batched forward over prompt + each completion (the reference's scoring pass of the drift guard). */
  score(prompt: readonly number[], completions: readonly (readonly number[])[], options?: EngineCallOptions): Promise<ScoreOutput>;
  /** Releases the model (ORT sessions); idempotent. */
  dispose(): Promise<void>;
}

/** The error engines reject with when a call's signal is aborted (the reason, or one of these). */
export function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted.", "AbortError");
}
