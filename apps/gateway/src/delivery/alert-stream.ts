// GET /admin/alerts/stream: server-sent events. `event: alert` frames carry `id: <event seq>` so a client
// that reconnects with Last-Event-ID n receives every alert event after n: from a bounded in-memory ring
// of recent events when it reaches back that far, else from the alerts table (each alert changed since n,
// in its latest state) and then the ring. Every stream_interval_s an `event: drift` frame (no id) carries
// /admin/drift's JSON for the shortest window, and a `: ping` comment keeps proxies from closing the
// connection. Concurrent streams are capped (429 beyond alerts.max_streams).
import type { AlertBus, AlertEvent, AlertJson } from "../monitor/alert-bus";
import type { AlertStore } from "../monitor/alert-store";

const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" };
const encoder = new TextEncoder();

export interface StreamHubOptions {
  bus: AlertBus;
  store: AlertStore;
  maxStreams: number;
  retained: number; // events kept for resumption
  intervalMs: number;
  drift: () => unknown; // the periodic drift payload
  logError: (message: string, error: unknown) => void;
}

function frame(seq: number, alert: AlertJson): string {
  return `id: ${seq}\nevent: alert\ndata: ${JSON.stringify(alert)}\n\n`;
}

/**
 * @example
 * const hub = new AlertStreamHub({ bus, store, maxStreams: 16, retained: 1000, intervalMs: 2000, drift, logError });
 * app.get("/admin/alerts/stream", (c) => hub.open(c.req.header("last-event-id")) ?? tooMany());
 */
export class AlertStreamHub {
  private readonly ring: AlertEvent[] = [];
  private active = 0;
  private readonly closers = new Set<() => void>();
  refused = 0;

  constructor(private readonly o: StreamHubOptions) {
    o.bus.subscribe((e) => {
      this.ring.push(e);
      if (this.ring.length > o.retained) this.ring.shift();
    });
  }

  get streams(): number {
    return this.active;
  }

  /** Ends every open stream (shutdown: an SSE connection would otherwise hold the server open). */
  closeAll(): void {
    for (const close of [...this.closers]) close();
  }

  /** The SSE response, or null when the cap is reached (the caller answers 429). */
  open(lastEventId: string | undefined): Response | null {
    if (this.active >= this.o.maxStreams) {
      this.refused++;
      return null;
    }
    this.active++;
    const after = lastEventId !== undefined && /^\d+$/.test(lastEventId.trim()) ? Number(lastEventId) : null;
    let cleanup = () => {};
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        cleanup = this.run(controller, after);
      },
      cancel: () => cleanup(),
    });
    return new Response(body, { headers: SSE_HEADERS });
  }

  private run(controller: ReadableStreamDefaultController<Uint8Array>, after: number | null): () => void {
    let open = true;
    let sent = after ?? 0; // highest event seq written
    let replaying = after !== null;
    const held: AlertEvent[] = []; // live events that arrive while the replay reads the database
    const write = (text: string) => {
      if (!open) return;
      try {
        controller.enqueue(encoder.encode(text));
      } catch {
        close();
      }
    };
    const send = (seq: number, alert: AlertJson) => {
      if (seq <= sent) return;
      sent = seq;
      write(frame(seq, alert));
    };
    const off = this.o.bus.subscribe((e) => (replaying ? held.push(e) : send(e.seq, e.alert)));
    const timer = setInterval(() => {
      try {
        write(`event: drift\ndata: ${JSON.stringify(this.o.drift())}\n\n: ping\n\n`);
      } catch (e) {
        this.o.logError("tether admin: drift frame", e);
      }
    }, this.o.intervalMs);
    const close = () => {
      if (!open) return;
      open = false;
      off();
      clearInterval(timer);
      this.active--;
      this.closers.delete(close);
      try {
        controller.close();
      } catch {
        // already closed or cancelled by the client
      }
    };
    this.closers.add(close);
    write(": connected\n\n");
    if (replaying) void this.replay(after!, send).finally(() => {
      replaying = false;
      for (const e of held.splice(0)) send(e.seq, e.alert);
    });
    return close;
  }

  /** Events after `after`: the ring alone when it reaches back that far, else the table first. */
  private async replay(after: number, send: (seq: number, alert: AlertJson) => void): Promise<void> {
    const oldest = this.ring[0]?.seq;
    if (oldest === undefined || oldest > after + 1) {
      try {
        for (const { seq, alert } of await this.o.store.changedSince(after, 10_000)) send(seq, alert);
      } catch (e) {
        this.o.logError("tether admin: alert stream replay", e);
      }
    }
    for (const e of [...this.ring]) if (e.seq > after) send(e.seq, e.alert);
  }
}
