// Alert webhooks: a JSON POST per alert event to each configured URL, signed, retried with exponential
// backoff, every attempt written to the delivery log. Nothing here is on the request path: the bus
// listener only enqueues; attempts run on timers with a per-attempt timeout, and the queue is bounded
// (the oldest waiting delivery is dropped, and counted, when it is full), so a receiver that never
// answers costs timers and one socket per attempt, never a request's latency.
//
// Signature (Stripe-style): body = {"type","id","timestamp","alert"} with `timestamp` (Unix seconds) of
// this attempt inside the signed bytes; header `x-tether-signature: sha256=<hex HMAC-SHA256(secret, raw
// body)>`, plus `x-tether-timestamp` and `x-tether-event-id` (the SSE id, for idempotent receivers). A
// receiver recomputes the HMAC over the raw body, compares in constant time and refuses a timestamp
// older than its tolerance (e.g. 5 minutes): a captured delivery cannot be replayed later.
import type { WebhookConfig } from "@tether/shared/schemas/alerts";
import type { AlertBus, AlertEvent } from "../monitor/alert-bus";
import type { AlertStore } from "../monitor/alert-store";

const encoder = new TextEncoder();
const MAX_IN_FLIGHT = 8;

/** hex(HMAC-SHA256(secret, body)) with Web Crypto (Node and workerd). */
export async function signBody(secret: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(body)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

interface Delivery {
  hook: WebhookConfig;
  event: AlertEvent;
  attempt: number; // 1-based, the next attempt's number
}

export interface WebhookStats {
  delivered: number;
  failedAttempts: number;
  gaveUp: number;
  dropped: number;
  queued: number;
  inFlight: number;
}

export interface WebhookOptions {
  hooks: WebhookConfig[];
  store: AlertStore;
  maxQueue: number;
  now: () => number;
  logError: (message: string, error: unknown) => void;
  fetch?: typeof fetch;
}

/**
 * @example const hooks = new WebhookDispatcher({ hooks: config.alerts.webhooks, store, maxQueue: 1000, now: Date.now, logError });
 * hooks.attach(ctx.alerts); … await hooks.close();
 */
export class WebhookDispatcher {
  private readonly waiting: Delivery[] = [];
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private inFlight = 0;
  private closed = false;
  private idle: Array<() => void> = [];
  readonly stats = { delivered: 0, failedAttempts: 0, gaveUp: 0, dropped: 0 };

  constructor(private readonly o: WebhookOptions) {}

  attach(bus: AlertBus): () => void {
    return bus.subscribe((event) => {
      for (const hook of this.o.hooks) if (hook.events.includes(event.transition)) this.enqueue({ hook, event, attempt: 1 });
    });
  }

  snapshot(): WebhookStats {
    return { ...this.stats, queued: this.waiting.length + this.timers.size, inFlight: this.inFlight };
  }

  /** Resolves when nothing is queued, waiting for a retry, or in flight. */
  drained(): Promise<void> {
    if (this.waiting.length + this.timers.size + this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Stops retries and new attempts; attempts in flight finish (each within its timeout). */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.waiting.length = 0;
    this.checkIdle();
  }

  private enqueue(d: Delivery): void {
    if (this.closed) return;
    if (this.waiting.length + this.timers.size >= this.o.maxQueue) {
      this.waiting.shift();
      this.stats.dropped++;
    }
    this.waiting.push(d);
    queueMicrotask(() => this.pump());
  }

  // At most MAX_IN_FLIGHT attempts at once: a flood of events to a dead receiver holds a bounded number of sockets.
  private pump(): void {
    while (this.waiting.length > 0 && this.inFlight < MAX_IN_FLIGHT && !this.closed) void this.attempt(this.waiting.shift()!);
  }

  private async attempt(d: Delivery): Promise<void> {
    this.inFlight++;
    const started = this.o.now();
    const type = `alert.${d.event.transition}`;
    const timestamp = Math.floor(started / 1000);
    const body = JSON.stringify({ type, id: d.event.seq, timestamp, alert: d.event.alert });
    let status: number | null = null;
    let error: string | null = null;
    try {
      const signature = await signBody(d.hook.secret, body);
      const res = await (this.o.fetch ?? fetch)(d.hook.url, {
        method: "POST",
        body,
        headers: { "content-type": "application/json", "x-tether-signature": `sha256=${signature}`, "x-tether-timestamp": String(timestamp), "x-tether-event-id": String(d.event.seq) },
        signal: AbortSignal.timeout(d.hook.timeout_ms),
      });
      status = res.status;
      await res.body?.cancel().catch(() => {});
      if (!res.ok) error = `HTTP ${res.status}`;
    } catch (e) {
      error = (e as Error).name === "TimeoutError" ? `no answer within ${d.hook.timeout_ms} ms` : (e as Error).message;
    }
    this.inFlight--;
    await this.log(d, type, status, error, started);
    if (error === null) this.stats.delivered++;
    else this.retry(d);
    this.pump();
    this.checkIdle();
  }

  private retry(d: Delivery): void {
    this.stats.failedAttempts++;
    if (d.attempt >= d.hook.max_attempts || this.closed) {
      this.stats.gaveUp++;
      return;
    }
    const delay = d.hook.backoff_ms * 2 ** (d.attempt - 1);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.enqueue({ ...d, attempt: d.attempt + 1 });
    }, delay);
    this.timers.add(timer);
  }

  private async log(d: Delivery, type: string, status: number | null, error: string | null, started: number): Promise<void> {
    try {
      await this.o.store.recordDelivery({
        url: d.hook.url, event: type, eventSeq: d.event.seq, alertId: d.event.alert.id || null, attempt: d.attempt, status,
        ok: error === null, error, durationMs: this.o.now() - started, createdAt: new Date(started),
      });
    } catch (e) {
      this.o.logError("tether webhooks: writing the delivery log", e);
    }
  }

  private checkIdle(): void {
    if (this.waiting.length + this.timers.size + this.inFlight > 0) return;
    for (const resolve of this.idle.splice(0)) resolve();
  }
}
