// A deterministic pure-JS engine for app.request() tests and the gateway-overhead bench: a seeded bigram
// logit table over the 100-token character vocabulary. Not a model: the real engines are engine/ort-*.ts.
//
//   logits(next | prev) = B[prev, next] + drift · D[prev, next] + bias[next]
//   B, D ~ N(0, 1)·scale and N(0, 1) from PCG32 (seed, stream 1) and (driftSeed, stream 2)
// Two instances with the same seed and different `drift` are a policy and its reference whose
// KL(π_θ‖π_ref) grows with drift² (0 exactly at drift 0), so tests can steer the drift guard.
import { Pcg32 } from "@tether/shared/sampling/prng";
import { abortError, type DecodeSession, type EngineCallOptions, type InferenceEngine, type ModelInfo, type ScoreOutput, type StepOutput } from "../../apps/gateway/src/engine/engine";
import { CHATML_TEMPLATE, FAKE_IDS, FakeTokenizer } from "./fake-tokenizer";

export interface FakeEngineOptions {
  id?: string; // manifest-like id; default "fake-policy"
  seed?: number; // base table seed, shared by a policy and its reference
  drift?: number; // scale of the perturbation D (0 = identical to any same-seed engine)
  driftSeed?: number; // seed of D; default seed + 1
  scale?: number; // std of B in nats; default 2 (peaked enough to look like text statistics)
  eosBias?: number; // added to <|endoftext|> and <|im_end|>; default −1; −Infinity = never ends early
  specialBias?: number; // added to <|im_start|> and <|unk|>; default −8 (rare); −Infinity = never
  contextWindow?: number; // default 128, as the demo presets
  sketch?: { layers: number[]; m: number }; // emit per-token sketch vectors for these layers
  delayMs?: number; // sleep per graph call (cancellation / timeout tests, bench); default 0 (one macrotask)
}

/** What the fake was asked to do, for tests that check batching. */
export interface FakeCall {
  op: "prefill" | "step" | "score";
  batch: number;
}

function gaussianTable(size: number, rng: Pcg32, scale: number): Float64Array {
  const out = new Float64Array(size);
  for (let i = 0; i < size; i += 2) {
    // Box–Muller: two N(0, 1) draws from two uniforms
    const r = Math.sqrt(-2 * Math.log(1 - rng.nextFloat()));
    const phi = 2 * Math.PI * rng.nextFloat();
    out[i] = scale * r * Math.cos(phi);
    if (i + 1 < size) out[i + 1] = scale * r * Math.sin(phi);
  }
  return out;
}

const macrotask: () => Promise<void> =
  typeof setImmediate === "function" ? () => new Promise((r) => setImmediate(r)) : () => new Promise((r) => setTimeout(r, 0));

/**
 * @example
 * const reference = new FakeEngine({ seed: 7, id: "fake-ref" });
 * const policy = new FakeEngine({ seed: 7, drift: 0.5 }); // same vocabulary, KL > 0
 */
export class FakeEngine implements InferenceEngine {
  readonly tokenizer = new FakeTokenizer();
  readonly info: ModelInfo;
  readonly calls: FakeCall[] = [];
  /** Open sessions (tests check that every session is closed). */
  openSessions = 0;
  private readonly table: Float32Array; // [V, V]: row prev → logits of next
  private readonly options: FakeEngineOptions;

  constructor(options: FakeEngineOptions = {}) {
    this.options = options;
    const V = this.tokenizer.vocabSize;
    const seed = options.seed ?? 1;
    const base = gaussianTable(V * V, new Pcg32(seed, 1), options.scale ?? 2);
    const drift = options.drift ?? 0;
    const d = drift === 0 ? null : gaussianTable(V * V, new Pcg32(options.driftSeed ?? seed + 1, 2), 1);
    this.table = new Float32Array(V * V);
    const eosBias = options.eosBias ?? -1;
    const specialBias = options.specialBias ?? -8;
    for (let prev = 0; prev < V; prev++) {
      for (let next = 0; next < V; next++) {
        const i = prev * V + next;
        let bias = 0;
        if (next === FAKE_IDS.eos || next === FAKE_IDS.imEnd) bias = eosBias;
        if (next === FAKE_IDS.imStart || next === FAKE_IDS.unk) bias = specialBias; // markers a model rarely emits
        this.table[i] = base[i]! + (d ? drift * d[i]! : 0) + bias;
      }
    }
    this.info = {
      id: options.id ?? "fake-policy",
      contextWindow: options.contextWindow ?? 128,
      vocabSize: V,
      eosTokenIds: [FAKE_IDS.eos, FAKE_IDS.imEnd],
      chatTemplate: CHATML_TEMPLATE,
      bosToken: null,
      eosToken: "<|endoftext|>",
      sketchLayers: options.sketch?.layers ?? [],
    };
  }

  /** The raw logits row after token `prev` (a copy): what every call returns for that context. */
  logitsAfter(prev: number): Float32Array {
    const V = this.info.vocabSize;
    return this.table.slice(prev * V, (prev + 1) * V);
  }

  /** Sketch vector of token `id` at layer `layer`: a fixed pseudo-random m-vector (deterministic). */
  sketchOf(id: number, layer: number): Float32Array {
    const m = this.options.sketch?.m ?? 0;
    const V = this.info.vocabSize;
    const out = new Float32Array(m);
    for (let i = 0; i < m; i++) out[i] = this.table[(id * V + ((i * 7 + layer * 13) % V)) % this.table.length]!;
    return out;
  }

  async startDecode(prompt: readonly number[], batchSize: number, options: EngineCallOptions = {}): Promise<DecodeSession> {
    this.checkTokens(prompt, "prompt");
    if (prompt.length === 0 || prompt.length > this.info.contextWindow) throw new RangeError(`prompt length must be in [1, ${this.info.contextWindow}]`);
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`batchSize must be an integer ≥ 1 (got ${batchSize})`);
    this.openSessions++;
    return new FakeSession(this, prompt, batchSize, options.signal);
  }

  async score(prompt: readonly number[], completions: readonly (readonly number[])[], options: EngineCallOptions = {}): Promise<ScoreOutput> {
    this.checkTokens(prompt, "prompt");
    await this.tick(options.signal);
    this.calls.push({ op: "score", batch: completions.length });
    const V = this.info.vocabSize;
    const logits = completions.map((c) => {
      this.checkTokens(c, "completion");
      if (prompt.length + c.length > this.info.contextWindow) throw new RangeError("prompt + completion exceeds the context window");
      const out = new Float32Array(c.length * V); // [L, V]
      for (let t = 0; t < c.length; t++) out.set(this.logitsAfter(t === 0 ? prompt[prompt.length - 1]! : c[t - 1]!), t * V);
      return out;
    });
    return { logits };
  }

  async dispose(): Promise<void> {}

  /** One simulated graph call: a macrotask (so I/O and aborts interleave) or the configured delay. */
  async tick(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortError(signal);
    const ms = this.options.delayMs ?? 0;
    await (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : macrotask());
    if (signal?.aborted) throw abortError(signal);
  }

  /** [B, V] logits for last tokens `prev`, plus sketch rows of `fed` tokens. */
  output(prev: ArrayLike<number>, fed: ArrayLike<number>): StepOutput {
    const V = this.info.vocabSize;
    const logits = new Float32Array(prev.length * V);
    for (let b = 0; b < prev.length; b++) logits.set(this.logitsAfter(prev[b]!), b * V);
    const sketchSpec = this.options.sketch;
    if (!sketchSpec) return { logits };
    const sketch = sketchSpec.layers.map((layer) => {
      const rows = new Float32Array(fed.length * sketchSpec.m); // [T or B, m]
      for (let t = 0; t < fed.length; t++) rows.set(this.sketchOf(fed[t]!, layer), t * sketchSpec.m);
      return rows;
    });
    return { logits, sketch };
  }

  private checkTokens(ids: readonly number[], name: string): void {
    for (const id of ids) {
      if (!(Number.isInteger(id) && id >= 0 && id < this.info.vocabSize)) throw new RangeError(`${name} token ids must be in [0, ${this.info.vocabSize - 1}] (got ${id})`);
    }
  }
}

class FakeSession implements DecodeSession {
  private length: number;
  private closed = false;

  constructor(
    private readonly engine: FakeEngine,
    private readonly prompt: readonly number[],
    readonly batchSize: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.length = prompt.length;
  }

  async prefill(): Promise<StepOutput> {
    await this.engine.tick(this.signal);
    this.engine.calls.push({ op: "prefill", batch: this.batchSize });
    const last = new Array<number>(this.batchSize).fill(this.prompt[this.prompt.length - 1]!);
    return this.engine.output(last, this.prompt);
  }

  async step(tokens: Int32Array, _live?: Uint8Array): Promise<StepOutput> {
    if (this.closed) throw new Error("session is closed");
    if (tokens.length !== this.batchSize) throw new RangeError(`tokens must have length ${this.batchSize}`);
    if (++this.length > this.engine.info.contextWindow) throw new RangeError("decode ran past the context window");
    await this.engine.tick(this.signal);
    this.engine.calls.push({ op: "step", batch: this.batchSize });
    return this.engine.output(tokens, tokens);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.engine.openSessions--;
  }
}
