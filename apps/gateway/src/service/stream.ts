// The SSE response: chunks are written as the run produces them (render/stream.ts decides what and when),
// then the usage chunk (stream_options.include_usage), the drift-log entry, and `data: [DONE]`.
// The Response is returned once the first chunk exists, so a request that fails before producing
// anything (a guard rejection, a timeout in the queue) still gets a proper JSON error status.
// Cancelling the body (client disconnect) aborts generation; a failure after the first chunk ends the
// stream with one `data: {"error": …}` event and no [DONE] (the openai client raises it as an APIError).
import type { GatewayContext } from "../context";
import { ChoiceStreamer, chunkFormat, type ChunkFormat } from "../render/stream";
import { usageOf } from "../render/responses";
import type { Deadline } from "./deadline";
import { classify, recordFailure } from "./failure";
import { finishRequest } from "./finish";
import { factsOf, responseMeta, type ServeInput } from "./input";
import { runPlan, type RunResult, type RunState } from "./run";

const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" };

interface Sink {
  send(data: string): void;
  close(): void;
}

/** Starts the run; resolves with the SSE Response at the first chunk, rejects if the run fails first. */
export async function startStream(ctx: GatewayContext, input: ServeInput, state: RunState, deadline: Deadline, release: () => void): Promise<Response> {
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let onFirst!: () => void;
  const first = new Promise<void>((resolve) => (onFirst = resolve));
  let open = true;
  const body = new ReadableStream<Uint8Array>({
    start: (c) => void (controller = c),
    cancel: () => {
      open = false;
      deadline.clientClose();
    },
  });
  const sink: Sink = {
    send: (data) => {
      if (!open) return;
      controller.enqueue(encoder.encode(`data: ${data}\n\n`));
      onFirst();
    },
    close: () => {
      if (open) controller.close();
      open = false;
    },
  };
  const plan = input.plan;
  const format = chunkFormat(responseMeta(ctx, input), ctx.policy.tokenizer, plan);
  const streamer = new ChoiceStreamer(format, (payload) => sink.send(JSON.stringify(payload)), plan.topLogprobs !== null);
  const run = runPlan(ctx, plan, state, deadline.signal, {
    onEcho: (i, echo) => void (format.echo[i] = echo),
    onStep: plan.guard.enabled ? undefined : (firstChoice, seqs) => seqs.forEach((s, c) => streamer.progress(firstChoice + c, s)),
    onChoice: (outcome) => streamer.done(outcome),
  });
  await Promise.race([first, run]);
  void finishStream(ctx, input, state, { run, sink, format, deadline, release });
  return new Response(body, { headers: SSE_HEADERS });
}

async function finishStream(
  ctx: GatewayContext,
  input: ServeInput,
  state: RunState,
  s: { run: Promise<RunResult>; sink: Sink; format: ChunkFormat; deadline: Deadline; release: () => void },
): Promise<void> {
  try {
    const result = await s.run;
    if (input.plan.includeUsage) s.sink.send(JSON.stringify(s.format.usage(usageOf(input.plan, result))));
    s.release(); // the engines' slot is free while the entry waits for its group fsync ([DONE] still waits for it)
    await finishRequest(ctx, factsOf(ctx, input, state, 200, null, result)); // DriftLogFullError → not acknowledged
    s.sink.send("[DONE]");
  } catch (error) {
    const failure = classify(ctx, error, s.deadline.clientClosed, input.meta.id);
    if (!failure.clientGone) s.sink.send(JSON.stringify(failure.body));
    await recordFailure(ctx, error, factsOf(ctx, input, state, failure.status, failure.body.error.code, null));
  } finally {
    s.release();
    s.deadline.dispose();
    s.sink.close();
    input.onEnd?.();
  }
}
