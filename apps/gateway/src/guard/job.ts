// What the guard works on for one prompt (its n choices), the record it keeps of every candidate, and the
// helpers every path shares: seeded sequences, the reference's batched scoring, sketch scores.
//
// PRNG streams (PCG32 selects one of 2^63 independent streams by its increment):
//   candidate j of round r of global choice g → stream (g << 24) | (r << 12) | j   (r, j < 4096)
//   soft-acceptance draws of choice g       → stream 2^62 | g
// so the same seed gives the same candidates and decisions, and an unguarded request (round 0, j 0)
// returns exactly the first candidate a guarded one would draw.
import { Pcg32 } from "@tether/shared/sampling/prng";
import type { Drift } from "@tether/shared/schemas/openai-response";
import { scorePools, type SketchReference, type LayerScore } from "@tether/shared/sketch/reference";
import type { Clock } from "../clock";
import type { InferenceEngine } from "../engine/engine";
import { SequenceState, type DecodeSettings, type SequenceView } from "../decode/sequence";
import { driftStats, type DriftStats } from "./drift-stats";

/** Milliseconds spent per phase, summed over the request. */
export interface Timings {
  queueMs: number;
  generateMs: number; // policy (and fallback reference) decoding
  guardMs: number; // reference scoring, KL, acceptance, sketch scores
}

/** One scored candidate, for the drift log (drift_samples rows). */
export interface CandidateRecord {
  round: number; // 0-based; the reference fallback's row uses round = rounds drawn
  candidate: number; // g·k + j: unique within the request per round
  stats: DriftStats;
  accepted: boolean; // passed the guard (true for every unguarded sample)
  choiceIndex: number | null; // index in the response when returned
  sketch: LayerScore[] | null; // per-layer drift score of the policy's activations, when available
}

/** A returned choice. */
export interface ChoiceOutcome {
  index: number; // global choice index (prompt-major)
  sequence: SequenceView;
  drift: Drift;
  source: "policy" | "reference";
}

/** Everything the guard needs about one prompt of a request. */
export interface PromptJob {
  policy: InferenceEngine;
  reference: InferenceEngine;
  prompt: readonly number[];
  settings: DecodeSettings;
  n: number; // choices for this prompt
  firstChoice: number; // global index of its choice 0
  seed: bigint; // request seed (random when the client sent none)
  signal?: AbortSignal;
  sketch: SketchReference | null; // policy sketch.json; null = no sketch scores
  clock: Clock;
  timings: Timings;
  ledger: CandidateRecord[]; // request-wide, appended as candidates are scored (kept on errors too)
  /** Streaming: a live step happened (unguarded only), a choice is final. */
  onStep?: (firstChoice: number, sequences: readonly SequenceView[]) => void;
  onChoice?: (outcome: ChoiceOutcome) => void;
}

/** Stream id of candidate j in round r of global choice g (see the header). */
export function candidateStream(g: number, round: number, j: number): bigint {
  return (BigInt(g) << 24n) | (BigInt(round) << 12n) | BigInt(j);
}

/** The soft-acceptance generator of global choice g. */
export function guardRng(job: PromptJob, g: number): Pcg32 {
  return new Pcg32(job.seed, (1n << 62n) | BigInt(g));
}

/** A fresh sequence for `engine` on its own stream; `withSketch` pools the engine's sketch rows. */
export function newSequence(job: PromptJob, engine: InferenceEngine, g: number, round: number, j: number, withSketch: boolean): SequenceState {
  const layers = withSketch && job.sketch ? engine.info.sketchLayers.length : 0;
  const settings = layers > 0 ? job.settings : { ...job.settings, sketchWidth: 0 };
  return new SequenceState(engine.tokenizer, settings, new Pcg32(job.seed, candidateStream(g, round, j)), engine.info.vocabSize, layers);
}

/** Runs `work`, adding its wall time to timings[phase]. */
export async function timed<T>(job: PromptJob, phase: "generateMs" | "guardMs", work: () => Promise<T>): Promise<T> {
  const start = job.clock.now();
  try {
    return await work();
  } finally {
    job.timings[phase] += job.clock.now() - start;
  }
}

/**
 * Policy-sampled sequences scored by the reference in ONE batched pass over prompt + completion
 * (SPEC step 2); each sequence's policy rows are released once its stats exist.
 */
export async function scoreByReference(job: PromptJob, sequences: readonly SequenceState[]): Promise<DriftStats[]> {
  const scored = sequences.filter((s) => s.tokens.length > 0); // max_tokens 0: nothing to score
  const { logits } = scored.length ? await job.reference.score(job.prompt, scored.map((s) => s.tokens), { signal: job.signal }) : { logits: [] };
  const V = job.policy.info.vocabSize;
  const empty = new Float32Array(0);
  return sequences.map((s) => driftStats(s.takeLogits(), s.tokens.length ? logits[scored.indexOf(s)]! : empty, V, s.tokens));
}

/** Per-layer sketch scores of a sequence's pooled policy activations, or null. */
export function sketchScores(job: PromptJob, seq: SequenceState): LayerScore[] | null {
  return job.sketch ? scorePools(job.sketch, seq.pools) : null;
}
