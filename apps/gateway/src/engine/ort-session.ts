// One batched decode on an OrtEngine: B sequences continuing one prompt, the KV cache kept as ONNX Runtime
// tensors between runs (present.* of one run are the next run's past_key_values.*).
//
// 1) prefill: the prompt runs once at batch 1 (in chunks when [1, P, V] logits would exceed the engine's
//    per-run budget) and its cache [1, H_kv, P, D] is tiled to [B, H_kv, P, D] (a block copy; "batched" mode
//    runs the prompt at batch B instead: the same numbers for B× the work, about 2× (tiny) to 2.5–4× (small) slower at k = 4 in
//    `npm run bench -- decode-peer`); the last logits row goes to every sequence, the prompt's sketch rows
//    [P, m] are returned once.
// 2) step: all rows still live in one run: input_ids [B', 1], attention_mask ones [B', P + t + 1],
//    position_ids [[P + t]]; outputs are scattered back to the caller's rows ([B', V] -> [B, V]).
// 3) live mask: rows whose sequence finished are dropped from the cache (one copy of the live rows), so the
//    remaining steps run B' < B rows; a finished sequence's output row is left at 0 and it cannot resume.
import { abortError, type DecodeSession, type StepOutput } from "./engine";
import type { OrtEngine } from "./ort-engine";
import { carryPast, disposeAll, emptyPast, selectRows, type OrtTensor } from "./ort-runtime";

export class OrtDecodeSession implements DecodeSession {
  /** Cached tokens per row (prompt + fed tokens); 0 before prefill. */
  private length = 0;
  /** rows[r] = the caller's sequence index of cache row r. */
  private rows: number[];
  private past: Record<string, OrtTensor> = {};
  private closed = false;
  private busy = false;

  constructor(
    private readonly engine: OrtEngine,
    private readonly prompt: readonly number[],
    readonly batchSize: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.rows = Array.from({ length: batchSize }, (_, b) => b);
  }

  prefill(): Promise<StepOutput> {
    if (this.length > 0) return Promise.reject(new Error("prefill() may be called only once, first"));
    return this.exclusive(() => this.runPrefill());
  }

  step(tokens: Int32Array, live?: Uint8Array): Promise<StepOutput> {
    if (this.length === 0) return Promise.reject(new Error("step() before prefill()"));
    if (tokens.length !== this.batchSize) return Promise.reject(new RangeError(`tokens must have length ${this.batchSize} (got ${tokens.length})`));
    if (live && live.length !== this.batchSize) return Promise.reject(new RangeError(`live must have length ${this.batchSize} (got ${live.length})`));
    return this.exclusive(() => this.runStep(tokens, live));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.engine.openSessions--;
    // A run in flight still reads the cache: exclusive() frees it when the run returns.
    if (!this.busy) this.freeCache();
  }

  private async exclusive(body: () => Promise<StepOutput>): Promise<StepOutput> {
    if (this.closed) throw new Error("the decode session is closed");
    if (this.busy) throw new Error("the decode session is already running a step");
    this.busy = true;
    try {
      return await body();
    } finally {
      this.busy = false;
      if (this.closed) this.freeCache(); // closed while the run was in flight
    }
  }

  private async runPrefill(): Promise<StepOutput> {
    const { engine, prompt, batchSize: B } = this;
    const V = engine.info.vocabSize;
    const P = prompt.length;
    const runB = engine.prefillMode === "batched" ? B : 1;
    // Long prompts run in chunks on top of the growing cache (batch 1 only: the fused graph allows several
    // new tokens over a non-empty past only there), so the [1, chunk, V] logits block stays within budget.
    const chunk = runB === 1 ? Math.max(1, Math.floor(engine.maxLogitsPerRun / V)) : P;
    let out: Record<string, OrtTensor> = {};
    const sketchParts: Float32Array[][] = engine.info.sketchLayers.map(() => []);
    for (let start = 0; start < P; start += chunk) {
      const end = Math.min(P, start + chunk);
      const ids = new BigInt64Array(runB * (end - start));
      for (let i = 0; i < ids.length; i++) ids[i] = BigInt(prompt[start + (i % (end - start))]!);
      const past = start === 0 ? emptyPast(engine.kv, runB, engine.tensors) : this.past;
      out = await engine.run(engine.feeds(ids, runB, start, past), engine.decodeFetches, this.signal);
      if (this.closed) return this.discard(out);
      disposeAll(past);
      this.past = carryPast(engine.kv, out);
      // sketch.{l} [runB, chunk, m]: every batch row holds the same prompt, keep row 0
      engine.info.sketchLayers.forEach((l, k) => {
        const rows = out[`sketch.${l}`]!.data as Float32Array;
        sketchParts[k]!.push(runB === 1 ? rows : rows.subarray(0, rows.length / runB));
      });
      this.length = end;
    }
    // [1, H_kv, P, D] -> [B, H_kv, P, D]; the last logits row (of batch row 0) to every sequence
    if (runB !== B) this.past = selectRows(this.past, this.rows.map(() => 0), engine.tensors);
    const all = out.logits!.data as Float32Array; // [runB, last chunk, V]
    const lastChunk = P - Math.floor((P - 1) / chunk) * chunk;
    const last = all.subarray((lastChunk - 1) * V, lastChunk * V);
    const logits = B === 1 ? last : new Float32Array(B * V);
    if (B > 1) for (let b = 0; b < B; b++) logits.set(last, b * V);
    const sketch = sketchParts.map((parts) => (parts.length === 1 ? parts[0]! : concat(parts))); // [P, m]
    return sketch.length ? { logits, sketch } : { logits };
  }

  private async runStep(tokens: Int32Array, live: Uint8Array | undefined): Promise<StepOutput> {
    const { engine, batchSize: B } = this;
    const V = engine.info.vocabSize;
    if (this.length + 1 > engine.info.contextWindow) throw new RangeError(`decode ran past the context window of ${engine.info.contextWindow} tokens`);
    if (live) this.dropFinished(live);
    const R = this.rows.length;
    const ids = new BigInt64Array(R);
    this.rows.forEach((b, r) => {
      const id = tokens[b]!;
      if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new RangeError(`tokens[${b}] must be a token id in [0, ${V - 1}] (got ${id})`);
      ids[r] = BigInt(id);
    });
    if (R === 0) {
      // every sequence has finished: nothing to run; the rows are unspecified (zeros)
      if (this.signal?.aborted) throw abortError(this.signal);
      this.length++;
      const m = engine.checkpoint.sketch?.spec.m ?? 0;
      const sketch = engine.info.sketchLayers.map(() => new Float32Array(B * m));
      return sketch.length ? { logits: new Float32Array(B * V), sketch } : { logits: new Float32Array(B * V) };
    }
    const out = await engine.run(engine.feeds(ids, R, this.length, this.past), engine.decodeFetches, this.signal);
    if (this.closed) return this.discard(out);
    disposeAll(this.past);
    this.past = carryPast(engine.kv, out);
    this.length++;
    const logits = this.scatter(out.logits!.data as Float32Array, V); // [R, 1, V] -> [B, V]
    const sketch = engine.info.sketchLayers.map((l) => {
      const rows = out[`sketch.${l}`]!.data as Float32Array; // [R, 1, m] -> [B, m]
      return this.scatter(rows, rows.length / R);
    });
    return sketch.length ? { logits, sketch } : { logits };
  }

  /** Drops cache rows whose sequence is no longer live; a finished sequence cannot come back. */
  private dropFinished(live: Uint8Array): void {
    const keep = this.rows.filter((b) => live[b]);
    for (let b = 0; b < this.batchSize; b++) {
      if (live[b] && !this.rows.includes(b)) throw new RangeError(`live[${b}] = 1, but sequence ${b} finished in an earlier step and cannot resume`);
    }
    if (keep.length === this.rows.length) return;
    const from = keep.map((b) => this.rows.indexOf(b));
    if (from.length) this.past = selectRows(this.past, from, this.engine.tensors);
    else this.freeCache();
    this.rows = keep;
  }

  // [R, width] rows of the live sequences -> [B, width]; with every row live it is the run's own buffer.
  private scatter(data: Float32Array, width: number): Float32Array {
    if (this.rows.length === this.batchSize) return data;
    const out = new Float32Array(this.batchSize * width);
    this.rows.forEach((b, r) => out.set(data.subarray(r * width, (r + 1) * width), b * width));
    return out;
  }

  // The session was closed while its run was in flight: free what the run returned (exclusive() frees the cache).
  private discard(out: Record<string, OrtTensor>): never {
    disposeAll(out);
    throw new Error("the decode session was closed during a step");
  }

  private freeCache(): void {
    disposeAll(this.past);
    this.past = {};
  }
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
