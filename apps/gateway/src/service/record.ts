// The drift-log rows of one request (packages/db schema): its `requests` row (ids, checkpoints, token counts,
// guard settings and outcome, timings, status) and one `drift_samples` row per scored candidate per
// monitored layer (layer −1 when there is no sketch). created_at is the arrival time on both, so a replayed
// batch has the same primary keys and a request and its samples share a partition.
import { percentScore } from "@tether/shared/sketch/reference";
import type { NewRequest, trafficArms } from "@tether/db/schema";
import type { GatewayContext } from "../context";
import type { CandidateRecord } from "../guard/job";
import type { DriftLogEntry, DriftSampleRow } from "../store/drift-store";
import type { GenerationPlan } from "./plan";
import type { RunResult, RunState } from "./run";

export type TrafficArm = (typeof trafficArms)[number];

/** Who asked for what, fixed when the request arrives. */
export interface RequestMeta {
  id: string; // x-tether-request-id
  arrivedAt: number; // clock ms
  endpoint: "completions" | "chat.completions";
  arm?: TrafficArm; // traffic arm that serves it; unset = "active"
}

/** Everything known when a request ends (plan/result/state are null when it failed before them). */
export interface RequestFacts {
  meta: RequestMeta;
  model: string | null; // what the client asked for
  plan: GenerationPlan | null;
  result: RunResult | null;
  state: RunState | null;
  status: number;
  errorCode: string | null;
  endedAt: number; // clock ms
}

function guardColumns(plan: GenerationPlan | null): Pick<NewRequest, "guardMode" | "guardMaxKl" | "guardCandidates" | "guardMaxRounds"> {
  if (!plan?.guard.enabled) return { guardMode: null, guardMaxKl: null, guardCandidates: null, guardMaxRounds: null };
  const g = plan.guard;
  return { guardMode: g.mode, guardMaxKl: g.maxKl, guardCandidates: g.candidates, guardMaxRounds: g.maxRounds };
}

function outcomeColumns(result: RunResult | null): Pick<NewRequest, "rounds" | "accepted" | "fallback" | "klMean" | "completionTokens"> {
  const choices = result?.choices ?? [];
  if (choices.length === 0) return { rounds: null, accepted: 0, fallback: null, klMean: null, completionTokens: 0 };
  return {
    rounds: Math.max(...choices.map((c) => c.drift.rounds)),
    accepted: choices.filter((c) => c.drift.accepted).length,
    fallback: choices.find((c) => c.drift.fallback !== null)?.drift.fallback ?? null,
    klMean: choices.reduce((a, c) => a + c.drift.kl_mean, 0) / choices.length,
    completionTokens: choices.reduce((a, c) => a + c.sequence.tokens.length, 0),
  };
}

// request_id and created_at are copied from the request row by the store (DriftSampleRow).
function sampleRows(record: CandidateRecord): DriftSampleRow[] {
  const base = {
    round: record.round,
    candidate: record.candidate,
    choiceIndex: record.choiceIndex,
    klMean: record.stats.klMean,
    klMax: record.stats.klMax,
    klSum: record.stats.klSum,
    logRatio: record.stats.logRatio,
    accepted: record.accepted,
  };
  if (!record.sketch) return [{ ...base, layer: -1, sketchScore: null, sketchPercentile: null }];
  return record.sketch.map((s) => ({ ...base, layer: s.layer, sketchScore: s.score, sketchPercentile: percentScore(s) }));
}

/**
 * @example ctx.store.record(driftLogEntry(ctx, facts));
 */
/**
 * A client-supplied string as stored: PostgreSQL text refuses NUL (a 200 must not turn into a dead-lettered
 * row), and `user`/`model` are bounded so a 1 MiB field is not stored with every request.
 */
function loggable(value: string | null): string | null {
  return value === null ? null : value.replace(/\u0000/g, "").slice(0, 256);
}

export function driftLogEntry(ctx: GatewayContext, facts: RequestFacts): DriftLogEntry {
  const { meta, plan, state } = facts;
  const createdAt = new Date(meta.arrivedAt);
  const timings = state?.timings;
  const request: NewRequest = {
    id: meta.id,
    createdAt,
    endpoint: meta.endpoint,
    model: loggable(facts.model) ?? ctx.modelName,
    policyId: plan ? ctx.policy.info.id : null,
    referenceId: plan ? ctx.reference.info.id : null,
    endUser: loggable(plan?.user ?? null),
    n: plan?.n ?? 1,
    promptTokens: plan ? plan.prompts.reduce((a, p) => a + p.ids.length, 0) : 0,
    status: facts.status,
    ...guardColumns(plan),
    ...outcomeColumns(facts.result),
    queueMs: timings?.queueMs ?? null,
    generateMs: timings?.generateMs ?? null,
    guardMs: timings?.guardMs ?? null,
    totalMs: facts.endedAt - meta.arrivedAt,
    errorCode: facts.errorCode,
    arm: facts.meta.arm ?? "active", // promotions route a share of traffic to a canary and set "canary"
  };
  const samples = (state?.ledger ?? []).flatMap(sampleRows);
  return { request, samples };
}
