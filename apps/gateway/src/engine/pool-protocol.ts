// The messages between the engine pool (engine/pool-node.ts, main thread) and its worker threads
// (engine/pool-worker.ts). A whole prompt job crosses once; what comes back per token is a sequence's new tokens,
// logprobs and text (for SSE), never logits or KV caches. Plain data only (structured clone), no runtime imports.
import type { ResolvedDriftGuard } from "@tether/shared/schemas/drift-guard";
import type { Drift } from "@tether/shared/schemas/openai-response";
import type { SamplingParams } from "@tether/shared/sampling/sample";
import type { FinishReason, SequenceView, TokenLogprob } from "../decode/sequence";
import { DriftRejectedError } from "../guard/guard";
import type { CandidateRecord, Timings } from "../guard/job";
import type { OnnxWeights } from "./checkpoint";

/** A job as the worker rebuilds it: engines and the sketch by model key, settings without classes. */
export interface JobSpec {
  policy: string;
  reference: string;
  sketch: string | null; // key of the model whose sketch.json scores the policy's activations
  prompt: number[];
  settings: { sampling: SamplingParams; maxTokens: number; stop: string[]; eosIds: number[]; topLogprobs: number | null; keepLogits: boolean; sketchWidth: number };
  n: number;
  firstChoice: number;
  seed: bigint;
  guard: ResolvedDriftGuard;
  live: boolean; // the caller streams every step (onStep)
  choices: boolean; // the caller wants each choice when it is final (onChoice); else they come with "done"
}

/** What changed in a sequence since the last delta: `cut` chars of the text stay, then `add` (a stop string may cut). */
export interface SeqDelta {
  seq: number; // the sequence's id within its job
  tokens: number[];
  logprobs: TokenLogprob[];
  starts: number[];
  cut: number;
  add: string;
  finished: boolean;
  finishReason: FinishReason;
  releasable: number;
  visible: number;
}

export interface OutcomeMessage {
  index: number;
  seq: SeqDelta;
  drift: Drift;
  source: "policy" | "reference";
}

/** A thrown error as data; DriftRejectedError keeps its fields (HTTP 422). */
export interface ErrorData {
  name: string;
  message: string;
  stack?: string; // the worker's, so a logged internal error points at the line that threw
  drift?: [choice: number, bestKlMean: number, maxKl: number, rounds: number, candidates: number];
}

export type ToWorker =
  | { type: "load"; key: string; dir: string; weights: OnnxWeights }
  | { type: "unload"; key: string }
  | { type: "job"; id: number; spec: JobSpec }
  | { type: "cancel"; id: number }
  | { type: "score"; id: number; key: string; prompt: number[]; completions: number[][] }
  | { type: "open"; id: number; key: string; prompt: number[]; batchSize: number }
  | { type: "prefill"; id: number; session: number }
  | { type: "step"; id: number; session: number; tokens: Int32Array; live: Uint8Array | null }
  | { type: "close"; session: number }
  | { type: "shutdown"; id: number }; // abort and release everything, then answer

export type FromWorker =
  | { type: "loaded"; key: string; error: ErrorData | null }
  | { type: "step"; id: number; firstChoice: number; seqs: SeqDelta[] }
  | { type: "choice"; id: number; outcome: OutcomeMessage }
  | { type: "done"; id: number; outcomes: OutcomeMessage[]; ledger: CandidateRecord[]; timings: Timings }
  | { type: "failed"; id: number; error: ErrorData; aborted: boolean; ledger: CandidateRecord[]; timings: Timings }
  | { type: "result"; id: number; value: unknown };

export function errorData(e: unknown): ErrorData {
  if (e instanceof DriftRejectedError) return { name: e.name, message: e.message, drift: [e.choice, e.bestKlMean, e.maxKl, e.rounds, e.candidates] };
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: "Error", message: String(e) };
}

/** The worker's error on this thread: a DriftRejectedError again (so it is a 422), else an Error with its message. */
export function errorFromData(d: ErrorData): Error {
  if (d.drift) return new DriftRejectedError(...d.drift);
  const e = new Error(d.message);
  e.name = d.name;
  if (d.stack !== undefined) e.stack = d.stack;
  return e;
}

/** Worker side: ids for the job's sequences and what each has already sent. */
export class DeltaWriter {
  private readonly sent = new Map<SequenceView, { seq: number; tokens: number; text: string }>();

  delta(view: SequenceView): SeqDelta {
    let s = this.sent.get(view);
    if (!s) this.sent.set(view, (s = { seq: this.sent.size, tokens: 0, text: "" }));
    let cut = 0;
    const max = Math.min(s.text.length, view.text.length);
    while (cut < max && s.text.charCodeAt(cut) === view.text.charCodeAt(cut)) cut++;
    const d: SeqDelta = {
      seq: s.seq,
      tokens: view.tokens.slice(s.tokens),
      logprobs: view.logprobs.slice(s.tokens),
      starts: view.starts.slice(s.tokens),
      cut,
      add: view.text.slice(cut),
      finished: view.finished,
      finishReason: view.finishReason,
      releasable: view.releasable(),
      visible: view.visibleTokens(),
    };
    s.tokens = view.tokens.length;
    s.text = view.text;
    return d;
  }
}

/** Main-thread side: a sequence rebuilt from its deltas, read by the renderers like a SequenceState. */
export class SequenceMirror implements SequenceView {
  readonly tokens: number[] = [];
  readonly logprobs: TokenLogprob[] = [];
  readonly starts: number[] = [];
  text = "";
  finished = false;
  finishReason: FinishReason = "length";
  private releasableChars = 0;
  private visible = 0;

  apply(d: SeqDelta): this {
    this.tokens.push(...d.tokens);
    this.logprobs.push(...d.logprobs);
    this.starts.push(...d.starts);
    this.text = this.text.slice(0, d.cut) + d.add;
    this.finished = d.finished;
    this.finishReason = d.finishReason;
    this.releasableChars = d.releasable;
    this.visible = d.visible;
    return this;
  }

  releasable(): number {
    return this.releasableChars;
  }

  visibleTokens(): number {
    return this.visible;
  }
}
