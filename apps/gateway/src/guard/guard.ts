// The drift guard for one prompt's n choices (SPEC "KL-aware rejection sampling"):
//   1) each round, every pending choice draws k candidates from the policy, all n·k decoded as ONE batch
//   2) the reference scores all of them in one batched forward over prompt + completion
//   3) per candidate, exact token KL(π_θ‖π_ref) → kl_mean, kl_max, kl_sum, log_ratio (drift-stats.ts)
//   4) per choice, hard or soft acceptance in sampling order (acceptance.ts); up to max_rounds rounds
//   5) choices with nothing accepted take the fallback: "reference" (the reference generates the answer;
//      its drift is measured by scoring it under the policy), "least_kl" (the candidate with the smallest
//      kl_mean over all rounds), or "reject" (DriftRejectedError → HTTP 422)
// At temperature 0 every candidate is the same greedy sequence, so one candidate and one round decide.
// Guard off: the n samples are still scored by the reference, so drift is measured for every request.
import type { ResolvedDriftGuard } from "@tether/shared/schemas/drift-guard";
import { decodeBatch } from "../decode/batch";
import type { SequenceState } from "../decode/sequence";
import { pickAccepted } from "./acceptance";
import { driftStats, toDrift, type DriftStats } from "./drift-stats";
import { guardRng, newSequence, scoreByReference, sketchScores, timed, type ChoiceOutcome, type PromptJob } from "./job";

type Guard = Extract<ResolvedDriftGuard, { enabled: true }>;

/** No candidate passed and the fallback is "reject". */
export class DriftRejectedError extends Error {
  override readonly name = "DriftRejectedError";
  constructor(
    readonly choice: number,
    readonly bestKlMean: number,
    readonly maxKl: number,
    readonly rounds: number,
    readonly candidates: number,
  ) {
    super(
      `drift guard: no candidate for choice ${choice} had kl_mean ≤ max_kl ${maxKl} nats/token after ${rounds} round(s) of ${candidates} ` +
        `(smallest kl_mean ${bestKlMean.toPrecision(4)}); the request's fallback is "reject"`,
    );
  }
}

interface Drawn {
  seq: SequenceState;
  stats: DriftStats;
  record: PromptJob["ledger"][number];
}

/** Runs the guard; returns the n choices of this prompt in order. */
export async function runGuard(job: PromptJob, guard: Guard): Promise<ChoiceOutcome[]> {
  const greedy = job.settings.sampling.temperature === 0;
  const k = greedy ? 1 : guard.candidates;
  const maxRounds = greedy ? 1 : guard.maxRounds;
  const outcomes: ChoiceOutcome[] = new Array(job.n);
  const drawn: Drawn[][] = Array.from({ length: job.n }, () => []);
  const rngs = Array.from({ length: job.n }, (_, c) => guardRng(job, job.firstChoice + c));
  let pending = Array.from({ length: job.n }, (_, c) => c);
  for (let round = 0; round < maxRounds && pending.length > 0; round++) {
    // 1) n·k candidates, choice-major: choice pending[p] owns sequences [p·k, (p+1)·k)
    const seqs = pending.flatMap((c) => Array.from({ length: k }, (_, j) => newSequence(job, job.policy, job.firstChoice + c, round, j, true)));
    await timed(job, "generateMs", () => decodeBatch(job.policy, job.prompt, seqs, { signal: job.signal }));
    // 2–3) one batched reference pass, exact KL per candidate
    const stats = await timed(job, "guardMs", () => scoreByReference(job, seqs));
    // 4) acceptance per choice
    pending = pending.filter((c, p) => {
      const g = job.firstChoice + c;
      const mine = seqs.slice(p * k, (p + 1) * k).map((seq, j) => {
        const record = { round, candidate: g * k + j, stats: stats[p * k + j]!, accepted: false, choiceIndex: null as number | null, sketch: sketchScores(job, seq) };
        job.ledger.push(record);
        return { seq, stats: record.stats, record };
      });
      drawn[c]!.push(...mine);
      const pick = pickAccepted(mine.map((d) => d.stats.klMean), guard, rngs[c]!);
      if (pick < 0) return true;
      Object.assign(mine[pick]!.record, { accepted: true, choiceIndex: g });
      outcomes[c] = { index: g, sequence: mine[pick]!.seq, drift: toDrift(mine[pick]!.stats, true, round + 1, null), source: "policy" };
      job.onChoice?.(outcomes[c]!);
      return false;
    });
  }
  // 5) fallbacks, in one batch for every choice left
  if (pending.length > 0) await fallback(job, guard, pending, drawn, outcomes, { k, rounds: maxRounds });
  return outcomes;
}

async function fallback(
  job: PromptJob,
  guard: Guard,
  pending: number[],
  drawn: Drawn[][],
  outcomes: ChoiceOutcome[],
  used: { k: number; rounds: number },
): Promise<void> {
  if (guard.fallback === "reject") {
    const c = pending[0]!;
    const best = Math.min(...drawn[c]!.map((d) => d.stats.klMean));
    throw new DriftRejectedError(job.firstChoice + c, best, guard.maxKl, used.rounds, used.k);
  }
  if (guard.fallback === "least_kl") {
    for (const c of pending) {
      // smallest kl_mean over every round; ties go to the earliest drawn
      const best = drawn[c]!.reduce((a, b) => (b.stats.klMean < a.stats.klMean ? b : a));
      best.record.choiceIndex = job.firstChoice + c;
      outcomes[c] = { index: job.firstChoice + c, sequence: best.seq, drift: toDrift(best.stats, false, used.rounds, "least_kl"), source: "policy" };
      job.onChoice?.(outcomes[c]!);
    }
    return;
  }
  const answers = await referenceAnswers(job, pending, used);
  pending.forEach((c, p) => {
    outcomes[c] = answers[p]!;
    job.onChoice?.(answers[p]!);
  });
}

/**
 * The reference generates one answer per pending choice (one batch, on the stream of round `rounds`), and
 * the policy scores them so their drift is reported like any candidate's: KL(π_θ‖π_ref) on these tokens.
 */
async function referenceAnswers(job: PromptJob, pending: number[], used: { k: number; rounds: number }): Promise<ChoiceOutcome[]> {
  const seqs = pending.map((c) => newSequence(job, job.reference, job.firstChoice + c, used.rounds, 0, false));
  await timed(job, "generateMs", () => decodeBatch(job.reference, job.prompt, seqs, { signal: job.signal }));
  return timed(job, "guardMs", async () => {
    const { logits } = await job.policy.score(job.prompt, seqs.map((s) => s.tokens), { signal: job.signal });
    return seqs.map((seq, p) => {
      const g = job.firstChoice + pending[p]!;
      const stats = driftStats(logits[p]!, seq.takeLogits(), job.policy.info.vocabSize, seq.tokens);
      job.ledger.push({ round: used.rounds, candidate: g * used.k, stats, accepted: false, choiceIndex: g, sketch: null });
      return { index: g, sequence: seq, drift: toDrift(stats, false, used.rounds, "reference"), source: "reference" as const };
    });
  });
}

/** Guard off: n policy samples in one batch (streamed live through onStep), still scored by the reference. */
export async function runUnguarded(job: PromptJob): Promise<ChoiceOutcome[]> {
  const seqs = Array.from({ length: job.n }, (_, c) => newSequence(job, job.policy, job.firstChoice + c, 0, 0, true));
  await timed(job, "generateMs", () => decodeBatch(job.policy, job.prompt, seqs, { signal: job.signal, onStep: job.onStep && (() => job.onStep!(job.firstChoice, seqs)) }));
  const stats = await timed(job, "guardMs", () => scoreByReference(job, seqs));
  return seqs.map((seq, c) => {
    const g = job.firstChoice + c;
    job.ledger.push({ round: 0, candidate: g, stats: stats[c]!, accepted: true, choiceIndex: g, sketch: sketchScores(job, seq) });
    const outcome: ChoiceOutcome = { index: g, sequence: seq, drift: toDrift(stats[c]!, true, 0, null), source: "policy" };
    job.onChoice?.(outcome);
    return outcome;
  });
}
