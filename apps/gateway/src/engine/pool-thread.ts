// One worker thread of the engine pool as the main thread sees it: its Worker, what it has loaded, the calls
// waiting for its answers, and how it is started (@tether/db/module-worker, the tsx bootstrap shared with the PGlite thread). engine/pool-node.ts owns the threads.
import type { Worker } from "node:worker_threads";
import { startModuleWorker } from "@tether/db/module-worker";
import { HttpError } from "../http/errors";
import type { OnnxWeights } from "./checkpoint";
import type { FromWorker, ToWorker } from "./pool-protocol";

export interface Pending {
  settle(m: Extract<FromWorker, { type: "done" | "failed" | "result" }>): void;
  onEvent?(m: Extract<FromWorker, { type: "step" | "choice" }>): void;
  fail(error: Error): void;
}

/** What a request in flight on a worker that exited gets: a 500 in OpenAI's error shape; the process stays up. */
export function crashError(code: number | null): HttpError {
  const how = code === null ? "had exited" : `exited (code ${code})`;
  return HttpError.of(500, `the engine worker thread serving this request ${how}; a replacement is being started`, null, "engine_worker_crashed");
}

export class Thread {
  ready = false;
  jobs = 0; // whole prompt jobs running (0 or 1)
  calls = 0; // single engine calls in flight
  readonly pending = new Map<number, Pending>();
  readonly loads = new Map<string, Promise<Error | null>>();
  private readonly loadWaiters = new Map<string, (error: Error | null) => void>();

  readonly threadId: number;

  constructor(readonly worker: Worker) {
    this.threadId = worker.threadId;
  }

  load(key: string, dir: string, weights: OnnxWeights): Promise<Error | null> {
    let loading = this.loads.get(key);
    if (!loading) {
      loading = new Promise((done) => this.loadWaiters.set(key, done));
      this.loads.set(key, loading);
      this.worker.postMessage({ type: "load", key, dir, weights } satisfies ToWorker);
    }
    return loading;
  }

  loaded(key: string, error: Error | null): void {
    this.loadWaiters.get(key)?.(error);
    this.loadWaiters.delete(key);
  }

  /** Fails everything waiting on this thread (it exited). */
  failAll(error: Error): void {
    for (const p of this.pending.values()) p.fail(error);
    this.pending.clear();
    for (const key of [...this.loadWaiters.keys()]) this.loaded(key, error);
  }
}

/** Starts a worker thread running pool-worker.ts with `intraOpNumThreads` per ORT session. */
export function startWorker(intraOpNumThreads: number): Worker {
  return startModuleWorker(import.meta.url, "./pool-worker", { intraOpNumThreads });
}
