// How a prompt job runs: here, on this thread (runGuard / runUnguarded), or handed whole to an engine worker
// thread (engine/pool-node.ts), which runs the same two functions next to its own engines.
import type { ResolvedDriftGuard } from "@tether/shared/schemas/drift-guard";
import { runGuard, runUnguarded } from "./guard";
import type { ChoiceOutcome, PromptJob } from "./job";

/** Runs one prompt's job (its n choices) under the guard's settings; rejects as runGuard does. */
export type JobRunner = (job: PromptJob, guard: ResolvedDriftGuard) => Promise<ChoiceOutcome[]>;

/** Engine pool's capacity, for /readyz: worker threads configured and how many have their models loaded. */
export interface EnginePoolStatus {
  workers: number;
  ready: number;
  busy: number; // running a prompt job now
}

/** The job on the calling thread (the Worker build, tests over fake engines, `engine.workers: 0`). */
export const runInProcess: JobRunner = (job, guard) => (guard.enabled ? runGuard(job, guard) : runUnguarded(job));
