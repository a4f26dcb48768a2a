// One abort signal per request that fires when the client goes away (request signal aborted, or the SSE
// stream cancelled) or when limits.request_timeout_s passes; the reason says which.
import { RequestTimeoutError } from "../http/errors";

/** The client disconnected; nobody reads the answer (logged with status 499, nginx's convention). */
export class ClientClosedError extends Error {
  override readonly name = "ClientClosedError";
  constructor() {
    super("the client closed the connection before the response was complete");
  }
}

/**
 * @example
 * const deadline = new Deadline(request.signal, 300);
 * try { await work(deadline.signal); } finally { deadline.dispose(); }
 */
export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly onClientAbort = () => this.clientClose();

  constructor(
    private readonly requestSignal: AbortSignal | undefined,
    seconds: number,
  ) {
    this.timer = setTimeout(() => this.controller.abort(new RequestTimeoutError(seconds)), seconds * 1000);
    if (requestSignal?.aborted) this.clientClose();
    else requestSignal?.addEventListener("abort", this.onClientAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Whether the request ended because the client left. */
  get clientClosed(): boolean {
    return this.controller.signal.reason instanceof ClientClosedError;
  }

  clientClose(): void {
    if (!this.controller.signal.aborted) this.controller.abort(new ClientClosedError());
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.requestSignal?.removeEventListener("abort", this.onClientAbort);
  }
}
