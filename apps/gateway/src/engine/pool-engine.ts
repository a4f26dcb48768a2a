// A model loaded in every worker of an engine pool, as an InferenceEngine: whole prompt jobs go through
// pool.runJob (engine/pool-node.ts); its own calls (score, decode sessions) are answered by one worker each.
import { abortError, type DecodeSession, type EngineCallOptions, type InferenceEngine, type ModelInfo, type ScoreOutput, type StepOutput } from "./engine";
import type { ServingCheckpoint } from "./checkpoint";
import type { HfTokenizer } from "./hf-tokenizer";
import type { EnginePool } from "./pool-node";
import type { ToWorker } from "./pool-protocol";
import type { Thread } from "./pool-thread";

/**
 * A model loaded in every worker of a pool. Whole jobs run through pool.runJob; its own calls (score, decode
 * sessions) go to one worker each, for the few callers that use an engine directly.
 */
export class PoolEngine implements InferenceEngine {
  private disposed = false;

  constructor(
    readonly pool: EnginePool,
    readonly key: string,
    readonly checkpoint: ServingCheckpoint,
    readonly info: ModelInfo,
    readonly tokenizer: HfTokenizer,
  ) {}

  async score(prompt: readonly number[], completions: readonly (readonly number[])[], options: EngineCallOptions = {}): Promise<ScoreOutput> {
    const { value } = await this.pool.call<Float32Array[]>((id) => ({ type: "score", id, key: this.key, prompt: [...prompt], completions: completions.map((c) => [...c]) }), options.signal);
    return { logits: value };
  }

  async startDecode(prompt: readonly number[], batchSize: number, options: EngineCallOptions = {}): Promise<DecodeSession> {
    const { thread, id } = await this.pool.call<null>((id) => ({ type: "open", id, key: this.key, prompt: [...prompt], batchSize }), options.signal);
    return remoteSession(this.pool, thread, id, batchSize, options.signal);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.pool.unload(this.key);
  }
}

// A decode session held by one worker: each prefill/step is a call to it; logits come back per step.
function remoteSession(pool: EnginePool, thread: Thread, session: number, batchSize: number, signal?: AbortSignal): DecodeSession {
  let closed = false;
  const run = async (message: (id: number) => ToWorker): Promise<StepOutput> => {
    if (signal?.aborted) throw abortError(signal);
    const { value } = await pool.call<StepOutput>(message, undefined, thread);
    if (signal?.aborted) throw abortError(signal);
    return value;
  };
  return {
    batchSize,
    prefill: () => run((id) => ({ type: "prefill", id, session })),
    step: (tokens, live) => run((id) => ({ type: "step", id, session, tokens: tokens.slice(), live: live ? live.slice() : null })),
    close: () => {
      if (closed) return;
      closed = true;
      thread.worker.postMessage({ type: "close", session } satisfies ToWorker);
    },
  };
}
