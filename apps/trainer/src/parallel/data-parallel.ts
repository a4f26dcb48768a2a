// Data parallelism over worker_threads (--workers N): the wasm backend runs one thread per TensorFlow.js
// instance, so N instances (this thread plus N − 1 replica threads) train on N cores.
//
//   per step:  the main thread writes the policy's trainable weights into a SharedArrayBuffer;
//              the batch's rows are cut into N contiguous shards (rank r gets rows ⌊rB/N⌋ … ⌊(r+1)B/N⌋ − 1);
//              rank 0 (this thread) and ranks 1…N−1 (replicas) compute loss and gradients of their shard,
//              each mean divided by the WHOLE batch's token count (train/batch-grads.ts), so
//              g = g_0 + g_1 + … + g_{N−1} (summed in rank order, float32: same seed → same bytes for a given N)
//              is the full-batch mean gradient; the optimiser then steps once, on this thread.
// Metrics, evaluation, snapshots and checkpoints stay on this thread, unchanged. A replica that throws or
// exits rejects the step with its rank and message (never a hang).
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs";
import type { BackendName } from "../backend";
import type { ModelConfig } from "../model/config";
import type { Params } from "../model/params";
import { batchGrads, type Replica, type RowBatch, type StepBatch, type StepObjective, type StepValues } from "../train/batch-grads";
import type { InitMessage, ReplyMessage, StepMessage } from "./protocol";

/**
 * Physical cores (distinct physical id/core id pairs of /proc/cpuinfo), else the logical CPU count.
 * @example physicalCores() // 2 on this machine
 */
export function physicalCores(cpuinfo?: string): number {
  try {
    const text = cpuinfo ?? readFileSync("/proc/cpuinfo", "utf8");
    const cores = new Set<string>();
    for (const block of text.split(/\n\s*\n/)) {
      const phys = /^physical id\s*:\s*(\d+)/m.exec(block)?.[1];
      const core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1];
      if (phys !== undefined && core !== undefined) cores.add(`${phys}/${core}`);
    }
    if (cores.size > 0) return cores.size;
  } catch {
    // not Linux: fall through
  }
  return availableParallelism();
}

/** --workers as a count: "auto" = physical cores. */
export function workerCount(setting: number | "auto"): number {
  return setting === "auto" ? physicalCores() : setting;
}

/**
 * Rows [lo, hi) of every array of a batch.
 * @example sliceRows(batch, 0, 8).shape // [8, T]
 */
export function sliceRows(b: RowBatch, lo: number, hi: number): RowBatch {
  const T = b.shape[1];
  return {
    inputIds: b.inputIds.slice(lo * T, hi * T),
    targetIds: b.targetIds.slice(lo * T, hi * T),
    lossMask: b.lossMask.slice(lo * T, hi * T),
    attentionMask: b.attentionMask.slice(lo * T, hi * T),
    shape: [hi - lo, T],
  };
}

const tokenCount = (b: RowBatch) => b.lossMask.reduce((s, x) => s + x, 0);

/**
 * The N shards of a batch (task and replay rows cut alike), each with the whole batch's token counts.
 * @example shardBatch({ task }, 2).length // 2
 */
export function shardBatch(b: StepBatch, n: number): StepBatch[] {
  const norms = { task: tokenCount(b.task), replay: b.replay ? tokenCount(b.replay) : 0, sequences: b.task.shape[0] };
  const bounds = (rows: number, r: number): [number, number] => [Math.floor((r * rows) / n), Math.floor(((r + 1) * rows) / n)];
  const cut = (x: RowBatch, r: number) => sliceRows(x, ...bounds(x.shape[0], r));
  const rollout = (r: number) => {
    if (!b.rollout) return {};
    const [lo, hi] = bounds(b.task.shape[0], r);
    const T = b.task.shape[1];
    const { oldLogp, refLogp, advantages } = b.rollout;
    return { rollout: { oldLogp: oldLogp.slice(lo * T, hi * T), refLogp: refLogp.slice(lo * T, hi * T), advantages: advantages.slice(lo, hi) } };
  };
  return Array.from({ length: n }, (_, r) => ({ task: cut(b.task, r), ...(b.replay ? { replay: cut(b.replay, r) } : {}), ...rollout(r), norms }));
}

export interface DataParallelOptions {
  /** Total ranks including this thread (≥ 2; 1 means train in-process without this class). */
  workers: number;
  backend: BackendName;
  config: ModelConfig;
  policy: Params;
  /** The frozen reference for KL objectives; null for pretrain. */
  reference: Params | null;
  /** Parameter names that get gradients, in a fixed order (the optimiser's). */
  trainable: string[];
}

interface Pending {
  resolve: (v: StepValues) => void;
  reject: (e: Error) => void;
}

/**
 * @example
 * const dp = await DataParallel.start({ workers: 2, backend, config, policy, reference: null, trainable: [...adam.m.keys()] });
 * const { grads, values } = await dp.grads({ kind: "pretrain" }, { task: batch }); adam.apply(grads, lr); tf.dispose(Object.values(grads));
 * await dp.close();
 */
export class DataParallel {
  private readonly weights: Float32Array;
  private readonly offsets = new Map<string, [number, number]>();
  private readonly gradBuffers: Float32Array[];
  private readonly pending: Map<number, Pending>[];
  private failure: Error | null = null;
  private closing = false;
  /** CPU ms this thread spent in the last step's serial parts (weights out, gradient sum), replicas idle. */
  lastSerialCpuMs = 0;
  private nextId = 0;

  private constructor(
    private readonly opts: DataParallelOptions,
    private readonly workers: Worker[],
    weights: SharedArrayBuffer,
    grads: SharedArrayBuffer[],
  ) {
    this.weights = new Float32Array(weights);
    let at = 0;
    for (const [name, v] of opts.policy) {
      this.offsets.set(name, [at, v.size]);
      at += v.size;
    }
    this.gradBuffers = grads.map((g) => new Float32Array(g));
    this.pending = workers.map(() => new Map());
    workers.forEach((w, i) => {
      w.on("message", (m: ReplyMessage) => this.onReply(i, m));
      w.on("error", (e) => this.fail(i, `threw ${e.message}`));
      w.on("exit", (code) => {
        if (!this.closing) this.fail(i, `exited with code ${code}`);
      });
    });
  }

  /** Start the N − 1 replicas and wait until each has built its model (or reject with the first failure). */
  static async start(opts: DataParallelOptions): Promise<DataParallel> {
    if (!Number.isInteger(opts.workers) || opts.workers < 2) throw new Error(`DataParallel needs ≥ 2 workers (got ${opts.workers})`);
    const specs = [...opts.policy].map(([name, v]) => ({ name, shape: v.shape }));
    const total = [...opts.policy.values()].reduce((n, v) => n + v.size, 0);
    const gradSize = opts.trainable.reduce((n, name) => n + opts.policy.get(name)!.size, 0);
    const weights = new SharedArrayBuffer(4 * total);
    const names = specs.map((s) => s.name);
    writeParams(new Float32Array(weights), opts.policy, names);
    let reference: SharedArrayBuffer | null = null;
    if (opts.reference) {
      reference = new SharedArrayBuffer(4 * total);
      writeParams(new Float32Array(reference), opts.reference, names);
    }
    const grads = Array.from({ length: opts.workers - 1 }, () => new SharedArrayBuffer(4 * gradSize));
    const entry = new URL("./replica-worker.ts", import.meta.url).href;
    const workers: Worker[] = [];
    const detach: (() => void)[] = [];
    const ready = grads.map((g, i) => {
      const w = new Worker(new URL("./replica-boot.mjs", import.meta.url), { workerData: { entry } });
      workers.push(w);
      return new Promise<void>((resolve, reject) => {
        const onMessage = (m: ReplyMessage) => {
          if (m.type === "ready") resolve();
          if (m.type === "failed") reject(new Error(`data-parallel replica ${i + 1} failed to start: ${m.message}`));
        };
        const onError = (e: Error) => reject(new Error(`data-parallel replica ${i + 1} failed to start: ${e.message}`));
        const onExit = (code: number) => reject(new Error(`data-parallel replica ${i + 1} exited with code ${code} while starting`));
        w.on("message", onMessage).on("error", onError).on("exit", onExit);
        // Only our own listeners: Worker keeps internal ones (removeAllListeners would stop message delivery).
        detach.push(() => w.off("message", onMessage).off("error", onError).off("exit", onExit));
        const init: InitMessage = { type: "init", rank: i + 1, backend: opts.backend, config: opts.config, specs, trainable: opts.trainable, weights, reference, grads: g };
        w.postMessage(init);
      });
    });
    try {
      await Promise.all(ready);
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    } finally {
      for (const f of detach) f();
    }
    return new DataParallel(opts, workers, weights, grads);
  }

  get size(): number {
    return this.workers.length + 1;
  }

  /** The replica threads (rank r is workers[r − 1]). */
  get threads(): readonly Worker[] {
    return this.workers;
  }

  /**
   * Full-batch gradients (keyed by this thread's tf variable names, as tf.variableGrads) and loss values.
   * `shards` overrides the cut (one StepBatch per rank, norms included): tests use it.
   */
  async grads(objective: StepObjective, batch: StepBatch, shards = shardBatch(batch, this.size)): Promise<{ grads: tf.NamedTensorMap; values: StepValues }> {
    if (this.failure) throw this.failure;
    if (shards.length !== this.size) throw new Error(`expected ${this.size} shards, got ${shards.length}`);
    const empty = shards.findIndex((s) => s.task.shape[0] === 0 || (s.replay !== undefined && s.replay.shape[0] === 0));
    if (empty >= 0) throw new Error(`data-parallel: shard ${empty} has no rows (a batch needs at least one row per worker; lower --workers)`);
    const publish = process.cpuUsage();
    for (const name of this.opts.trainable) {
      const [at] = this.offsets.get(name)!;
      this.weights.set(this.opts.policy.get(name)!.dataSync() as Float32Array, at);
    }
    const published = process.cpuUsage(publish);
    const id = this.nextId++;
    const replies = this.workers.map((w, i) => {
      const p = new Promise<StepValues>((resolve, reject) => this.pending[i]!.set(id, { resolve, reject }));
      p.catch(() => undefined); // observed below; avoids an unhandled rejection while rank 0 computes
      const msg: StepMessage = { type: "step", id, objective, batch: shards[i + 1]! };
      w.postMessage(msg);
      return p;
    });
    const trainableVars = this.opts.trainable.map((name) => this.opts.policy.get(name)!);
    const own = batchGrads({ policy: this.opts.policy, reference: this.opts.reference, config: this.opts.config }, objective, shards[0]!, trainableVars);
    let values: StepValues[];
    try {
      values = await Promise.all(replies);
    } catch (e) {
      tf.dispose(Object.values(own.grads));
      throw e;
    }
    const reduce = process.cpuUsage();
    const grads: tf.NamedTensorMap = {};
    let at = 0;
    for (const v of trainableVars) {
      // g_0 + g_1 + … in rank order; a float32 add on the backend rounds exactly as a host loop would (each view is
      // read into the backend by the add right here, before a replica writes the next step into its buffer)
      const terms = [own.grads[v.name] ?? tf.zeros(v.shape), ...this.gradBuffers.map((buffer) => tf.tensor(buffer.subarray(at, at + v.size), v.shape))];
      grads[v.name] = tf.tidy(() => terms.slice(1).reduce((sum, g) => tf.add(sum, g), terms[0]!));
      tf.dispose(terms.slice(1));
      if (!own.grads[v.name]) terms[0]!.dispose();
      at += v.size;
    }
    tf.dispose(Object.values(own.grads));
    const reduced = process.cpuUsage(reduce);
    this.lastSerialCpuMs = (published.user + published.system + reduced.user + reduced.system) / 1000;
    const total = [own.values, ...values].reduce((s, x) => ({ loss: s.loss + x.loss, ce: s.ce + x.ce, kl: s.kl + x.kl, clipFraction: s.clipFraction + x.clipFraction }));
    return { grads, values: total };
  }

  async close(): Promise<void> {
    this.failure ??= new Error("data-parallel group is closed");
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private onReply(i: number, m: ReplyMessage): void {
    if (m.type === "done") {
      this.pending[i]!.get(m.id)?.resolve(m.values);
      this.pending[i]!.delete(m.id);
    } else if (m.type === "failed") {
      const error = new Error(`data-parallel replica ${i + 1} failed: ${m.message}`);
      if (m.id !== null) {
        this.pending[i]!.get(m.id)?.reject(error);
        this.pending[i]!.delete(m.id);
      }
    }
  }

  private fail(i: number, what: string): void {
    const error = new Error(`data-parallel replica ${i + 1} ${what}`);
    this.failure ??= error;
    for (const p of this.pending[i]!.values()) p.reject(error);
    this.pending[i]!.clear();
  }
}

/** The parameters named, in that order, concatenated. */
function writeParams(out: Float32Array, params: Params, names: string[]): void {
  let at = 0;
  for (const name of names) {
    const v = params.get(name);
    if (!v) throw new Error(`data-parallel: parameter ${name} is missing`);
    out.set(v.dataSync() as Float32Array, at);
    at += v.size;
  }
}

/**
 * The --workers group of a run, or null when it trains in-process (1 worker, or a batch of one row).
 * `rows` is the smallest number of rows a step cuts into shards (task batch, and replay batch if used).
 * @example const dp = await startWorkers(cfg.workers, cfg.batch, { backend, config, policy, reference: null, trainable }, log);
 */
export async function startWorkers(setting: number | "auto", rows: number, opts: Omit<DataParallelOptions, "workers">, log: (line: string) => void): Promise<DataParallel | null> {
  const workers = Math.min(workerCount(setting), rows);
  if (workers < 2) return null;
  const dp = await DataParallel.start({ ...opts, workers });
  log(`tether-train: data parallel over ${workers} workers (this thread + ${workers - 1} replica thread${workers > 2 ? "s" : ""})`);
  return dp;
}

/**
 * One step's loss and gradients: on the group when there is one, else in this thread (the same arithmetic
 * as before data parallelism existed: 1 worker gives the same bytes).
 */
export async function stepGrads(
  dp: DataParallel | null,
  replica: Replica,
  objective: StepObjective,
  batch: StepBatch,
  trainable: tf.Variable[],
): Promise<{ grads: tf.NamedTensorMap; values: StepValues }> {
  return dp ? dp.grads(objective, batch) : batchGrads(replica, objective, batch, trainable);
}
