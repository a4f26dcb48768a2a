// Engines off the main thread (Node): N worker threads (engine/pool-worker.ts), each with its own ONNX Runtime
// sessions at one intra-op thread for every loaded model, so N prompt jobs decode at once while the main thread
// keeps answering HTTP, SSE and /healthz (onnxruntime-node 1.30's run() blocks the thread that calls it).
//
// 1) load(dir) verifies the checkpoint here (manifest, tokenizer: the main thread renders prompts and text),
//    then every worker opens and warms it; the PoolEngine handle is an InferenceEngine whose calls go to a worker.
// 2) runJob (guard/job-runner.ts) hands a WHOLE prompt job to an idle worker, one job per worker, FIFO
//    behind them; admission and 429s stay with the app's Scheduler (limits.max_concurrent / queue_size).
// 3) the job's abort signal posts a cancel; the worker stops between two graph runs; the job settles only when
//    the worker says so, so a request holds its scheduler slot until its engine work has really stopped.
// 4) a worker that exits fails its in-flight calls with a 500 (engine_worker_crashed), and a replacement is
//    spawned (after a back-off when crashes repeat) that loads every model; status() reports the reduced pool.
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import type { SketchReference } from "@tether/shared/sketch/reference";
import { HttpError } from "../http/errors";
import type { ChoiceOutcome, PromptJob } from "../guard/job";
import { runInProcess, type EnginePoolStatus, type JobRunner } from "../guard/job-runner";
import { modelInfo, type OnnxWeights, type ServingCheckpoint } from "./checkpoint";
import { loadNodeCheckpoint } from "./checkpoint-node";
import { abortError, type InferenceEngine, type ModelInfo } from "./engine";
import { HfTokenizer } from "./hf-tokenizer";
import { PoolEngine } from "./pool-engine";
import { errorFromData, SequenceMirror, type FromWorker, type JobSpec, type OutcomeMessage, type ToWorker } from "./pool-protocol";
import { crashError, startWorker, Thread } from "./pool-thread";

export { PoolEngine };

export interface EnginePoolOptions {
  /** Worker threads; default: availableParallelism() (the cores this process may use). */
  workers?: number;
  /** ORT intra-op threads per session in each worker; default 1 (N workers × 1 thread = N cores). */
  intraOpNumThreads?: number;
  /** One line per worker crash / replacement; default console.error. */
  log?: (line: string) => void;
}

export interface PoolLoadOptions {
  weights?: OnnxWeights;
  /** The engine's id from its manifest (the registry's content-addressed id); default the manifest id. */
  name?: (checkpoint: ServingCheckpoint) => string;
}


/**
 * @example
 * const pool = await EnginePool.start({ workers: 2 });
 * const policy = await pool.load("models/demo/policy"), reference = await pool.load("models/demo/reference");
 * createApp({ policy, reference, runJob: pool.runJob, enginePool: pool, … }); … await pool.close();
 */
export class EnginePool {
  private readonly threads: Thread[] = [];
  private readonly models = new Map<string, { dir: string; weights: OnnxWeights; sketch: SketchReference | null }>();
  private readonly waiting: Array<() => void> = [];
  private nextId = 1;
  private closing = false;
  private crashes: number[] = []; // recent crash times, for the respawn back-off
  private readonly log: (line: string) => void;
  readonly size: number;
  readonly intraOpNumThreads: number;
  /** Prompt jobs handed to a worker so far (jobs whose engines are not this pool's run in process and do not count). */
  dispatched = 0;

  private constructor(options: EnginePoolOptions) {
    this.size = options.workers ?? availableParallelism();
    this.intraOpNumThreads = options.intraOpNumThreads ?? 1;
    if (!(Number.isInteger(this.size) && this.size >= 1)) throw new RangeError(`workers must be an integer ≥ 1 (got ${this.size})`);
    if (!(Number.isInteger(this.intraOpNumThreads) && this.intraOpNumThreads >= 1)) throw new RangeError(`intraOpNumThreads must be an integer ≥ 1 (got ${this.intraOpNumThreads})`);
    this.log = options.log ?? ((line) => console.error(line));
  }

  /** Spawns the worker threads (no models yet). */
  static async start(options: EnginePoolOptions = {}): Promise<EnginePool> {
    const pool = new EnginePool(options);
    for (let i = 0; i < pool.size; i++) pool.spawn();
    return pool;
  }

  /** Threads configured, threads with every model loaded, threads running a prompt job. */
  status(): EnginePoolStatus {
    return { workers: this.size, ready: this.threads.filter((t) => t.ready).length, busy: this.threads.filter((t) => t.jobs > 0).length };
  }

  /** The worker threads (ops and tests: thread ids, resource usage, terminate one to see a crash handled). */
  get workers(): readonly Worker[] {
    return this.threads.map((t) => t.worker);
  }

  /** Verifies a checkpoint here, then loads and warms it in every worker. */
  async load(dir: string, options: PoolLoadOptions = {}): Promise<PoolEngine> {
    if (this.closing) throw new Error("engine pool is closed");
    const weights = options.weights ?? "fp32";
    const checkpoint = await loadNodeCheckpoint(dir, weights);
    const key = `m${this.nextId++}`;
    this.models.set(key, { dir, weights, sketch: checkpoint.sketch });
    const errors = await Promise.all(this.threads.map((t) => t.load(key, dir, weights)));
    // a model error fails the load; a thread that died meanwhile (HttpError) does not, unless none loaded it
    const error = errors.find((e) => e !== null && !(e instanceof HttpError)) ?? (errors.every((e) => e !== null) ? errors[0] : undefined);
    if (error) {
      this.unload(key);
      throw error;
    }
    const info: ModelInfo = modelInfo(checkpoint, checkpoint.sketch?.spec.layers ?? []);
    const id = options.name?.(checkpoint) ?? info.id;
    return new PoolEngine(this, key, checkpoint, { ...info, id }, new HfTokenizer(checkpoint.tokenizerJson, checkpoint.tokenizerConfig));
  }

  /** Releases a model in every worker (its engine was disposed). */
  unload(key: string): void {
    if (!this.models.delete(key)) return;
    for (const t of this.threads) {
      t.loads.delete(key);
      t.worker.postMessage({ type: "unload", key } satisfies ToWorker);
    }
  }

  /** guard/job-runner.ts's JobRunner: the whole job in an idle worker (in process when its engines are not ours). */
  readonly runJob: JobRunner = async (job, guard) => {
    const policy = this.keyOf(job.policy);
    const reference = this.keyOf(job.reference);
    const sketch = job.sketch === null ? null : ([...this.models].find(([, m]) => m.sketch === job.sketch)?.[0] ?? undefined);
    if (policy === null || reference === null || sketch === undefined) return runInProcess(job, guard);
    const s = job.settings;
    const spec: JobSpec = {
      policy, reference, sketch, guard, prompt: [...job.prompt], n: job.n, firstChoice: job.firstChoice, seed: job.seed, live: job.onStep !== undefined, choices: job.onChoice !== undefined,
      settings: { sampling: s.sampling, maxTokens: s.maxTokens, stop: [...s.stop.stops], eosIds: [...s.eosIds], topLogprobs: s.topLogprobs, keepLogits: s.keepLogits, sketchWidth: s.sketchWidth },
    };
    const thread = await this.idleThread(job.signal); // reserved: thread.jobs is 1
    this.dispatched++;
    try {
      return await this.dispatchJob(thread, job, spec);
    } finally {
      thread.jobs--;
      this.wake();
    }
  };

  /** One engine call on the least busy ready worker (not a whole job: echo logprobs, smoke generations). */
  async call<T>(message: (id: number) => ToWorker, signal?: AbortSignal, thread?: Thread): Promise<{ value: T; thread: Thread; id: number }> {
    signal?.throwIfAborted();
    const t = thread ?? (await this.anyThread(signal));
    if (!this.threads.includes(t)) throw crashError(null);
    const id = this.nextId++;
    t.calls++;
    try {
      const value = await new Promise<T>((resolve, reject) => {
        t.pending.set(id, {
          settle: (m) => (m.type === "result" ? resolve(m.value as T) : m.type === "failed" ? reject(errorFromData(m.error)) : reject(new Error("unexpected job answer"))),
          fail: reject,
        });
        t.worker.postMessage(message(id));
      });
      return { value, thread: t, id };
    } finally {
      t.pending.delete(id);
      t.calls--;
    }
  }

  /** Stops every worker: aborts their work, releases their ORT sessions, terminates the threads. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const wake of this.waiting.splice(0)) wake();
    await Promise.all(
      this.threads.map(async (t) => {
        const bye = this.call((id) => ({ type: "shutdown", id }), undefined, t).catch(() => {});
        // a thread that does not answer within 5 s is terminated anyway
        await Promise.race([bye, new Promise((r) => setTimeout(r, 5000).unref())]);
        await t.worker.terminate();
      }),
    );
  }

  keyOf(engine: InferenceEngine): string | null {
    return engine instanceof PoolEngine && engine.pool === this && this.models.has(engine.key) ? engine.key : null;
  }

  private dispatchJob(thread: Thread, job: PromptJob, spec: JobSpec): Promise<ChoiceOutcome[]> {
    const id = this.nextId++;
    const mirrors = new Map<number, SequenceMirror>();
    const outcome = (o: OutcomeMessage): ChoiceOutcome => {
      let mirror = mirrors.get(o.seq.seq);
      if (!mirror) mirrors.set(o.seq.seq, (mirror = new SequenceMirror()));
      return { index: o.index, sequence: mirror.apply(o.seq), drift: o.drift, source: o.source };
    };
    const onAbort = () => thread.worker.postMessage({ type: "cancel", id } satisfies ToWorker);
    return new Promise<ChoiceOutcome[]>((resolve, reject) => {
      thread.pending.set(id, {
        onEvent: (m) => {
          if (m.type === "choice") {
            const o = outcome(m.outcome); // always: the mirror must see every delta, with or without a listener
            return job.onChoice?.(o);
          }
          const seqs = m.seqs.map((d) => {
            let mirror = mirrors.get(d.seq);
            if (!mirror) mirrors.set(d.seq, (mirror = new SequenceMirror()));
            return mirror.apply(d);
          });
          job.onStep?.(m.firstChoice, seqs);
        },
        settle: (m) => {
          if (m.type === "result") return reject(new Error("unexpected call answer"));
          job.ledger.push(...m.ledger);
          job.timings.generateMs += m.timings.generateMs;
          job.timings.guardMs += m.timings.guardMs;
          if (m.type === "done") resolve(m.outcomes.map(outcome));
          else reject(m.aborted && job.signal?.aborted ? abortError(job.signal) : errorFromData(m.error));
        },
        fail: reject,
      });
      job.signal?.addEventListener("abort", onAbort, { once: true });
      thread.worker.postMessage({ type: "job", id, spec } satisfies ToWorker);
    }).finally(() => {
      thread.pending.delete(id);
      job.signal?.removeEventListener("abort", onAbort);
    });
  }

  private spawn(): void {
    const worker = startWorker(this.intraOpNumThreads);
    const threadId = worker.threadId;
    const thread = new Thread(worker);
    this.threads.push(thread);
    worker.on("message", (m: FromWorker) => {
      if (m.type === "loaded") return thread.loaded(m.key, m.error === null ? null : errorFromData(m.error));
      const pending = thread.pending.get(m.id);
      if (m.type === "step" || m.type === "choice") pending?.onEvent?.(m);
      else pending?.settle(m);
    });
    worker.on("error", (e) => this.log(`tether: engine worker ${threadId} failed: ${e.stack ?? e.message}`));
    worker.on("exit", (code) => this.exited(thread, code));
    void Promise.all([...this.models].map(([key, m]) => thread.load(key, m.dir, m.weights))).then((errors) => {
      for (const e of errors) if (e && !(e instanceof HttpError)) this.log(`tether: engine worker ${threadId}: a model did not load (${e.message})`);
      thread.ready = !this.closing && this.threads.includes(thread);
      this.wake();
    });
  }

  private exited(thread: Thread, code: number): void {
    const i = this.threads.indexOf(thread);
    if (i >= 0) this.threads.splice(i, 1);
    thread.ready = false;
    thread.failAll(crashError(code));
    if (this.closing) return;
    this.wake(); // waiters pick another thread (or keep waiting for the replacement)
    this.log(`tether: engine worker ${thread.threadId} exited with code ${code}; starting a replacement (${this.status().ready}/${this.size} ready meanwhile)`);
    const now = Date.now();
    this.crashes = [...this.crashes.filter((t) => now - t < 60_000), now];
    const delay = this.crashes.length <= 2 ? 0 : Math.min(30_000, 250 * 2 ** (this.crashes.length - 3)); // crash loops back off
    setTimeout(() => !this.closing && this.spawn(), delay).unref();
  }

  // Reserves the thread synchronously (jobs = 1), so two jobs never pick the same one across an await.
  private idleThread(signal?: AbortSignal): Promise<Thread> {
    return this.waitFor(() => {
      const t = this.threads.find((t) => t.ready && t.jobs === 0 && t.calls === 0) ?? this.threads.find((t) => t.ready && t.jobs === 0);
      if (t) t.jobs++;
      return t;
    }, signal);
  }

  private anyThread(signal?: AbortSignal): Promise<Thread> {
    return this.waitFor(() => [...this.threads].filter((t) => t.ready).sort((a, b) => a.jobs + a.calls - (b.jobs + b.calls))[0], signal);
  }

  // FIFO: a waiter is woken when a job ends or a thread becomes ready, and re-queues if it lost the race.
  private async waitFor(pick: () => Thread | undefined, signal?: AbortSignal): Promise<Thread> {
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      if (this.closing) throw HttpError.of(503, "the gateway is shutting down", null, "shutting_down");
      const t = this.waiting.length === 0 ? pick() : undefined;
      if (t) return t;
      await new Promise<void>((wake) => {
        const onAbort = () => {
          const i = this.waiting.indexOf(wakeUp);
          if (i >= 0) this.waiting.splice(i, 1);
          wake();
        };
        const wakeUp = () => {
          signal?.removeEventListener("abort", onAbort);
          wake();
        };
        this.waiting.push(wakeUp);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
      const t2 = pick();
      if (t2) return t2;
    }
  }

  private wake(): void {
    // wake waiters while threads are free; each takes one (or re-queues at the back if it lost the race)
    const free = this.threads.filter((t) => t.ready && t.jobs === 0).length;
    for (const wake of this.waiting.splice(0, Math.max(1, free))) wake();
  }
}

