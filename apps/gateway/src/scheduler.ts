// Admission control: at most `maxConcurrent` requests decode at once, at most `queueSize` wait (FIFO);
// beyond that a request is refused at once (HTTP 429 with Retry-After) instead of piling up latency.
// Retry-After estimates when a slot frees: waiting requests ahead × mean service time / slots.

/** The queue is full. */
export class QueueFullError extends Error {
  override readonly name = "QueueFullError";
  constructor(readonly retryAfterS: number) {
    super("the gateway is at capacity (limits.max_concurrent requests running and limits.queue_size waiting); retry later");
  }
}

interface Waiter {
  grant: () => void;
  cancel: () => void;
}

/**
 * @example
 * const release = await scheduler.acquire(signal); // throws QueueFullError or the abort reason
 * try { … } finally { release(); }
 */
export class Scheduler {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private readonly idleWaiters: Array<() => void> = [];
  private meanServiceMs = 1000; // exponentially weighted, α = 0.2; 1 s before the first request ends

  constructor(
    private readonly maxConcurrent: number,
    private readonly queueSize: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Requests decoding now. */
  get active(): number {
    return this.running;
  }

  /** Requests waiting for a slot. */
  get depth(): number {
    return this.waiting.length;
  }

  /** Resolves once nothing runs and nothing waits (shutdown: engines are released only after every job ended). */
  async idle(): Promise<void> {
    while (this.running > 0 || this.waiting.length > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  /** Waits for a slot; the returned function frees it (idempotent). Rejects when full or aborted. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.running < this.maxConcurrent && this.waiting.length === 0) return Promise.resolve(this.take());
    if (this.waiting.length >= this.queueSize) {
      const ahead = this.waiting.length + 1;
      return Promise.reject(new QueueFullError(Math.max(1, Math.ceil((ahead * this.meanServiceMs) / this.maxConcurrent / 1000))));
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => waiter.cancel();
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(this.take());
        },
        cancel: () => {
          const i = this.waiting.indexOf(waiter);
          if (i >= 0) this.waiting.splice(i, 1);
          if (this.running === 0 && this.waiting.length === 0) for (const wake of this.idleWaiters.splice(0)) wake();
          reject(signal?.reason);
        },
      };
      this.waiting.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  private take(): () => void {
    this.running++;
    const start = this.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.meanServiceMs = 0.8 * this.meanServiceMs + 0.2 * (this.now() - start);
      const next = this.waiting.shift();
      if (next) next.grant();
      else if (this.running === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    };
  }
}
