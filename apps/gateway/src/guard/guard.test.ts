// The drift guard on two bigram fakes: exact KL against an independent float64 computation, one batch of
// n·k per round, the hard and soft rules replayed from their definitions, and every fallback.
import { Pcg32 } from "@tether/shared/sampling/prng";
import { StopSequences } from "@tether/shared/sampling/stop";
import type { ResolvedDriftGuard } from "@tether/shared/schemas/drift-guard";
import { describe, expect, it } from "vitest";
import { systemClock } from "../clock";
import { FakeEngine } from "../../../../test/support/fake-engine";
import { expectedDrift } from "../../../../test/support/gateway-app";
import { acceptanceProbability, pickAccepted } from "./acceptance";
import { DriftRejectedError, runGuard, runUnguarded } from "./guard";
import { candidateStream, type PromptJob } from "./job";

type Guard = Extract<ResolvedDriftGuard, { enabled: true }>;
const PROMPT = [22, 16, 22, 34]; // "1+1="

function setup(drift = 0.3, over: Partial<PromptJob> = {}) {
  const policy = new FakeEngine({ seed: 7, drift });
  const reference = new FakeEngine({ seed: 7, id: "ref" });
  const job: PromptJob = {
    policy,
    reference,
    prompt: PROMPT,
    settings: { sampling: { temperature: 1 }, maxTokens: 12, stop: new StopSequences([]), eosIds: new Set([0, 2]), topLogprobs: null, keepLogits: true, sketchWidth: 0 },
    n: 1,
    firstChoice: 0,
    seed: 99n,
    sketch: null,
    clock: systemClock,
    timings: { queueMs: 0, generateMs: 0, guardMs: 0 },
    ledger: [],
    ...over,
  };
  return { policy, reference, job };
}

function guard(over: Partial<Guard> = {}): Guard {
  return { enabled: true, maxKl: 0.05, candidates: 4, maxRounds: 2, mode: "hard", softTemperature: 0.005, fallback: "reference", ...over };
}

describe("acceptance rule", () => {
  it("is min(1, exp(−(kl − max_kl)/τ)) for soft and a step for hard", () => {
    const soft = { mode: "soft" as const, maxKl: 0.05, softTemperature: 0.01 };
    expect(acceptanceProbability(0.04, soft)).toBe(1);
    expect(acceptanceProbability(0.07, soft)).toBeCloseTo(Math.exp(-2), 12);
    expect(acceptanceProbability(0.05, { ...soft, mode: "hard" })).toBe(1);
    expect(acceptanceProbability(0.0500001, { ...soft, mode: "hard" })).toBe(0);
    expect(pickAccepted([0.2, 0.03, 0.01], { ...soft, mode: "hard" }, new Pcg32(1))).toBe(1);
    expect(pickAccepted([0.2, 0.3], { ...soft, mode: "hard" }, new Pcg32(1))).toBe(-1);
  });

  it("soft mode accepts a candidate with frequency a(kl)", () => {
    const rule = { mode: "soft" as const, maxKl: 0.05, softTemperature: 0.01 };
    const rng = new Pcg32(3);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) if (pickAccepted([0.06], rule, rng) === 0) accepted++;
    expect(accepted / 20_000).toBeCloseTo(Math.exp(-1), 2); // ±0.005, σ ≈ 0.0034
  });
});

describe("runGuard", () => {
  it("measures kl_mean, kl_max, kl_sum and log_ratio exactly (vs float64 from both tables)", async () => {
    const { policy, reference, job } = setup();
    const [choice] = await runGuard(job, guard({ maxKl: 10 }));
    const want = expectedDrift(policy, reference, PROMPT, choice!.sequence.tokens);
    expect(choice!.sequence.tokens.length).toBeGreaterThan(0);
    expect(choice!.drift.kl_mean).toBeCloseTo(want.kl_mean, 12);
    expect(choice!.drift.kl_max).toBeCloseTo(want.kl_max, 12);
    expect(choice!.drift.kl_sum).toBeCloseTo(want.kl_sum, 12);
    expect(choice!.drift.log_ratio).toBeCloseTo(want.log_ratio, 10);
    expect(choice!.drift).toMatchObject({ accepted: true, rounds: 1, fallback: null });
  });

  it("decodes n·k candidates as one batch and scores them in one reference pass", async () => {
    const { policy, reference, job } = setup(0.3, { n: 3 });
    await runGuard(job, guard({ maxKl: 10, candidates: 4 }));
    expect(policy.calls.find((c) => c.op === "prefill")).toEqual({ op: "prefill", batch: 12 });
    expect(reference.calls).toEqual([{ op: "score", batch: 12 }]);
    expect(policy.openSessions).toBe(0);
  });

  it("hard: returns the first candidate in sampling order with kl_mean ≤ max_kl", async () => {
    let acceptedLater = 0; // accepted after at least one rejected candidate
    for (const seed of [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]) {
      const { job } = setup(0.3, { seed });
      const [choice] = await runGuard(job, guard({ maxKl: 0.04, maxRounds: 4 }));
      const rounds = new Map<number, typeof job.ledger>();
      for (const r of job.ledger) rounds.set(r.round, [...(rounds.get(r.round) ?? []), r]);
      const all = [...rounds.values()].flat();
      const first = all.findIndex((r) => r.stats.klMean <= 0.04);
      if (first < 0) {
        expect(choice!.drift.fallback).toBe("reference");
        continue;
      }
      expect(all[first]!.accepted).toBe(true);
      expect(all.filter((r) => r.accepted)).toHaveLength(1);
      expect(choice!.drift.kl_mean).toBe(all[first]!.stats.klMean);
      expect(choice!.drift.rounds).toBe(all[first]!.round + 1);
      if (first > 0) acceptedLater++;
    }
    expect(acceptedLater).toBeGreaterThan(0);
  });

  it("soft: replays the decisions from the choice's own PCG32 stream", async () => {
    const rule = guard({ mode: "soft", maxKl: 0.035, softTemperature: 0.004, maxRounds: 3, fallback: "least_kl" });
    let acceptedAbove = 0;
    for (let s = 0; s < 12; s++) {
      const { job } = setup(0.3, { seed: BigInt(s) });
      const [choice] = await runGuard(job, rule);
      const u = new Pcg32(BigInt(s), (1n << 62n) | 0n);
      const pick = job.ledger.findIndex((r) => u.nextFloat() < Math.min(1, Math.exp(-(r.stats.klMean - 0.035) / 0.004)));
      if (pick < 0) {
        expect(choice!.drift.fallback).toBe("least_kl");
        continue;
      }
      expect(job.ledger[pick]!.accepted).toBe(true);
      expect(choice!.drift.kl_mean).toBe(job.ledger[pick]!.stats.klMean);
      if (choice!.drift.kl_mean > 0.035) acceptedAbove++;
    }
    expect(acceptedAbove).toBeGreaterThan(0); // soft mode does accept beyond the threshold
  });

  it("fallback reference: the reference answers, its drift measured under the policy", async () => {
    const { policy, reference, job } = setup(0.3, { n: 2 });
    const choices = await runGuard(job, guard({ maxKl: 1e-9, candidates: 2, maxRounds: 2 }));
    for (const c of choices) {
      expect(c.source).toBe("reference");
      expect(c.drift).toMatchObject({ accepted: false, rounds: 2, fallback: "reference" });
      const want = expectedDrift(policy, reference, PROMPT, c.sequence.tokens);
      expect(c.drift.kl_mean).toBeCloseTo(want.kl_mean, 12);
      expect(c.drift.log_ratio).toBeCloseTo(want.log_ratio, 10);
    }
    // the reference decoded both fallbacks in one batch, on the streams of round 2
    expect(reference.calls.find((c) => c.op === "prefill")).toEqual({ op: "prefill", batch: 2 });
    expect(job.ledger.filter((r) => r.round === 2).map((r) => r.choiceIndex)).toEqual([0, 1]);
    expect(candidateStream(1, 2, 0)).toBe((1n << 24n) | (2n << 12n));
  });

  it("fallback least_kl returns the smallest kl_mean over all rounds; reject throws", async () => {
    const { job } = setup();
    const [choice] = await runGuard(job, guard({ maxKl: 1e-9, fallback: "least_kl" }));
    const least = Math.min(...job.ledger.map((r) => r.stats.klMean));
    expect(choice!.drift).toMatchObject({ kl_mean: least, accepted: false, fallback: "least_kl", rounds: 2 });
    expect(job.ledger.find((r) => r.choiceIndex === 0)!.stats.klMean).toBe(least);

    const rejected = setup();
    await expect(runGuard(rejected.job, guard({ maxKl: 1e-9, fallback: "reject" }))).rejects.toBeInstanceOf(DriftRejectedError);
    expect(rejected.job.ledger).toHaveLength(8); // every candidate is still logged
  });

  it("at temperature 0 one candidate and one round decide; a policy equal to its reference has KL 0", async () => {
    const greedy = setup(0.3, { settings: { ...setup().job.settings, sampling: { temperature: 0 } } });
    const [g] = await runGuard(greedy.job, guard({ maxKl: 1e-9, fallback: "least_kl" }));
    expect(greedy.job.ledger).toHaveLength(1);
    expect(g!.drift.rounds).toBe(1);
    const same = setup(0);
    const [s] = await runGuard(same.job, guard({ maxKl: 1e-6 }));
    expect(s!.drift).toMatchObject({ kl_mean: 0, kl_max: 0, accepted: true, rounds: 1 });
  });

  it("unguarded: one sample per choice, still scored by the reference", async () => {
    const { policy, reference, job } = setup(0.3, { n: 2 });
    const choices = await runUnguarded(job);
    expect(policy.calls[0]).toEqual({ op: "prefill", batch: 2 });
    expect(reference.calls).toEqual([{ op: "score", batch: 2 }]);
    for (const c of choices) {
      expect(c.drift).toMatchObject({ accepted: true, rounds: 0, fallback: null });
      expect(c.drift.kl_mean).toBeCloseTo(expectedDrift(policy, reference, PROMPT, c.sequence.tokens).kl_mean, 12);
    }
    // same seed: the unguarded sample is the guard's first candidate
    const guarded = setup(0.3, { n: 2 });
    const firsts = await runGuard(guarded.job, guard({ maxKl: 10, candidates: 3 }));
    expect(firsts.map((c) => c.sequence.tokens)).toEqual(choices.map((c) => c.sequence.tokens));
  });
});
