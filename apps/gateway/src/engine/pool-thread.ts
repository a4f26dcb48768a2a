// One worker thread of the engine pool as the main thread sees it: its Worker, what it has loaded, the calls
// waiting for its answers, and how it is started (the tsx bootstrap). engine/pool-node.ts owns the threads.
import { Worker } from "node:worker_threads";
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

// The worker entry next to this file: pool-worker.ts (run through tsx, as `npm start` and the tests run the
// gateway), or pool-worker.js when compiled. Node 20 does not apply a parent's `--import tsx` hooks inside a
// worker, so a two-line bootstrap registers tsx there first (`import.meta.resolve` finds it from this file).
export const BOOTSTRAP = `const { workerData } = require("node:worker_threads");
(async () => { if (workerData.tsx) (await import(workerData.tsx)).register(); await import(workerData.entry); })();`;

export function workerEntry(): { entry: string; tsx: string | null; execArgv: string[] } {
  const ts = import.meta.url.endsWith(".ts");
  const entry = new URL(ts ? "./pool-worker.ts" : "./pool-worker.js", import.meta.url).href;
  // the parent's loader flags (--import tsx) do not work in a worker: drop them, keep the rest (--cpu-prof, …)
  const execArgv: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const a = process.execArgv[i]!;
    if (/^--(import|loader|require)$/.test(a) && /tsx/.test(process.execArgv[i + 1] ?? "")) i++;
    else if (!/^--(import|loader|require)=.*tsx/.test(a)) execArgv.push(a);
  }
  return { entry, tsx: ts ? import.meta.resolve("tsx/esm/api") : null, execArgv };
}

/** Starts a worker thread running pool-worker.ts with `intraOpNumThreads` per ORT session. */
export function startWorker(intraOpNumThreads: number): Worker {
  const { entry, tsx, execArgv } = workerEntry();
  return new Worker(BOOTSTRAP, { eval: true, execArgv, workerData: { intraOpNumThreads, entry, tsx } });
}
