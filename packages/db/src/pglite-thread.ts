// Embedded PGlite in its own worker thread (createDb(target, { thread: true })): the worker
// (pglite-thread-worker.ts) owns the PGlite instance, so its wasm runs off the serving thread; PgliteThread is the
// main-thread proxy with the part of PGlite's client interface that drizzle's pglite driver and createDb call:
// query (params, rowMode, parsers), exec, transaction (its queries run in the worker's open transaction), listen,
// close; and insertDriftBatch, the drift log's batch insert run whole in the worker (writes.ts hands it over). A worker that dies fails what it had in flight with DbWorkerCrashedError (SQLSTATE 08006, retried by
// the drift writer like a lost connection) and is restarted on the next call; the process stays up.
import type { Worker } from "node:worker_threads";
import { startModuleWorker } from "./module-worker";
import type { QueryOptions, Results } from "@electric-sql/pglite";
import { errorFromData, type FromDbWorker, type ToDbWorker } from "./pglite-thread-protocol";
import type { DriftBatch, DriftBatchResult } from "./writes";

type Parsers = NonNullable<QueryOptions["parsers"]>;
type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type Message = ToDbWorker extends infer M ? (M extends { id: number } ? Omit<M, "id"> : never) : never;

/** The database worker exited: what it had in flight failed; a connection-failure SQLSTATE so callers retry. */
export class DbWorkerCrashedError extends Error {
  override readonly name = "DbWorkerCrashedError";
  readonly code = "08006";
}

function spawnWorker(dataDir: string | undefined, conf: string[]): Worker {
  return startModuleWorker(import.meta.url, "./pglite-thread-worker", { dataDir: dataDir ?? null, conf });
}

/** Applies the caller's parsers on this thread to the values the worker left as text (PGlite's rule: not to nulls). */
function parse<T>(result: Results<T>, parsers: Parsers | undefined, rowMode: QueryOptions["rowMode"]): Results<T> {
  if (!parsers) return result;
  const keys = new Map<string | number, (v: string) => unknown>();
  result.fields.forEach((f, i) => {
    const parser = parsers[f.dataTypeID];
    const key = rowMode === "array" ? i : f.name; // object rows: the last column of a name wins, as in PGlite
    if (parser) keys.set(key, (v) => (parser as (x: string, typeId?: number) => unknown)(v, f.dataTypeID)); // PGlite passes the type id too
    else keys.delete(key);
  });
  if (keys.size === 0) return result;
  for (const row of result.rows as Record<string | number, unknown>[]) {
    for (const [key, p] of keys) if (row[key] !== null && row[key] !== undefined) row[key] = p(row[key] as string);
  }
  return result;
}

function checkOptions(opts: QueryOptions | undefined): void {
  for (const k of Object.keys(opts ?? {})) {
    if (k !== "rowMode" && k !== "parsers") throw new TypeError(`PGlite in a worker thread: query option "${k}" is not supported`);
  }
}

export class PgliteThread {
  private worker: Worker | null = null;
  private starting: Promise<Worker> | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<number, { channel: string; onPayload: (payload: string) => void }>();
  private nextId = 1;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly dataDir: string | undefined,
    private readonly conf: string[],
  ) {}

  /** Starts the worker and opens PGlite there (`dataDir` undefined: in memory); rejects with PGlite's error. */
  static async start(dataDir: string | undefined, conf: string[]): Promise<PgliteThread> {
    const thread = new PgliteThread(dataDir, conf);
    await thread.ready();
    return thread;
  }

  get closed(): boolean {
    return this.closing !== null;
  }

  query<T>(sql: string, params: unknown[] = [], opts?: QueryOptions): Promise<Results<T>> {
    return this.runQuery<T>(undefined, sql, params, opts);
  }

  exec(sql: string, opts?: QueryOptions): Promise<Results[]> {
    return this.runExec(undefined, sql, opts);
  }

  /** Runs `fn` in one transaction of the worker's PGlite: committed when it resolves, rolled back when it throws. */
  async transaction<T>(fn: (tx: { query: PgliteThread["query"]; exec: PgliteThread["exec"]; closed: boolean }) => Promise<T>): Promise<T> {
    const worker = await this.ready();
    const txId = this.nextId;
    await this.call(worker, { type: "begin" });
    let done = false;
    const tx = {
      query: <R>(sql: string, params: unknown[] = [], opts?: QueryOptions) => this.runQuery<R>(txId, sql, params, opts),
      exec: (sql: string, opts?: QueryOptions) => this.runExec(txId, sql, opts),
      get closed() {
        return done;
      },
    };
    let result: T;
    try {
      result = await fn(tx);
    } catch (e) {
      done = true;
      await this.call(worker, { type: "end", txId, commit: false }).catch(() => {}); // its own error is the one to report
      throw e;
    }
    done = true;
    await this.call(worker, { type: "end", txId, commit: true });
    return result;
  }

  /**
   * insertDriftBatch run in the worker: the batch's rows cross once (structured clone), the worker builds the
   * unnest SQL and runs the transaction; one round trip instead of four (begin, two inserts, commit) and no SQL
   * building on this thread. writes.ts calls it when the drizzle database's client is this proxy.
   */
  async insertDriftBatch(batch: DriftBatch): Promise<DriftBatchResult> {
    const worker = await this.ready();
    return (await this.call(worker, { type: "driftBatch", batch })) as DriftBatchResult;
  }

  /** LISTEN in the worker's PGlite; resolves with the function that stops it. Renewed after a worker restart. */
  async listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>> {
    const listenId = this.nextId++;
    this.listeners.set(listenId, { channel, onPayload });
    const worker = await this.ready();
    await this.call(worker, { type: "listen", listenId, channel });
    return async () => {
      this.listeners.delete(listenId);
      if (this.worker) await this.call(this.worker, { type: "unlisten", listenId });
    };
  }

  /** Closes PGlite in the worker and ends the thread. Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      const worker = this.worker ?? (await this.starting?.catch(() => null)) ?? null;
      if (!worker || this.worker !== worker) return;
      await this.call(worker, { type: "close" }).catch(() => {});
      this.worker = null;
      await worker.terminate();
    })());
  }

  private async runQuery<T>(txId: number | undefined, sql: string, params: unknown[], opts?: QueryOptions): Promise<Results<T>> {
    checkOptions(opts);
    const worker = await this.ready();
    const rawOids = Object.keys(opts?.parsers ?? {}).map(Number);
    const result = (await this.call(worker, { type: "query", txId, sql, params, rowMode: opts?.rowMode, rawOids })) as Results<T>;
    return parse(result, opts?.parsers, opts?.rowMode);
  }

  private async runExec(txId: number | undefined, sql: string, opts?: QueryOptions): Promise<Results[]> {
    checkOptions(opts);
    const worker = await this.ready();
    const rawOids = Object.keys(opts?.parsers ?? {}).map(Number);
    const results = (await this.call(worker, { type: "exec", txId, sql, rowMode: opts?.rowMode, rawOids })) as Results[];
    return results.map((r) => parse(r, opts?.parsers, opts?.rowMode));
  }

  private call(worker: Worker, message: Message): Promise<unknown> {
    if (this.worker !== worker) return Promise.reject(new DbWorkerCrashedError("PGlite worker thread exited"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...message, id } as ToDbWorker);
    });
  }

  /** The running worker, or a new one (first call, or after the previous one died). */
  private ready(): Promise<Worker> {
    if (this.closing) return Promise.reject(new Error("PGlite worker thread is closed"));
    if (this.worker) return Promise.resolve(this.worker);
    return (this.starting ??= this.spawn().finally(() => (this.starting = null)));
  }

  private spawn(): Promise<Worker> {
    const worker = spawnWorker(this.dataDir, this.conf);
    let lastError: Error | undefined;
    return new Promise<Worker>((resolve, reject) => {
      worker.on("message", (m: FromDbWorker) => {
        if (m.type === "ready") {
          this.worker = worker;
          resolve(worker);
        } else if (m.type === "notify") {
          this.listeners.get(m.listenId)?.onPayload(m.payload);
        } else {
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          if (m.error) p?.reject(errorFromData(m.error));
          else p?.resolve(m.value);
        }
      });
      worker.on("error", (e) => (lastError = e)); // an uncaught error in the worker: 'exit' follows
      worker.on("exit", (code) => {
        const crashed = new DbWorkerCrashedError(`PGlite worker thread exited (code ${code})${lastError ? `: ${lastError.message}` : ""}`);
        if (this.worker === worker) this.worker = null;
        for (const p of this.pending.values()) p.reject(crashed);
        this.pending.clear();
        reject(lastError ?? crashed); // no-op once resolved
      });
    }).then(async (w) => {
      for (const [listenId, { channel }] of this.listeners) await this.call(w, { type: "listen", listenId, channel });
      return w;
    });
  }
}
