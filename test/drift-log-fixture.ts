// Test support for the drift CLI tests: a small drift log with hand-picked values whose summary is worked out
// by hand below (no query code involved), inserted relative to a `now`.
import { alerts, driftSamples, requests, type Db, type NewDriftSample, type NewRequest } from "@tether/db";

const MIN = 60_000;

interface Spec {
  id: string;
  ago: number; // ms before now
  policy: string;
  arm: "active" | "canary";
  kl: number;
  ms: number;
  status?: number;
  fallback?: "reference" | "least_kl" | "reject";
  guarded: boolean;
  candidates: boolean[]; // accepted flag per candidate (round 0)
}

// Times: a-r1…r6 and b-r7 within the last 10 minutes (r7 newest), a-r0 three hours ago.
export const SPECS: Spec[] = [
  { id: "a-r0", ago: 180 * MIN, policy: "policy-a", arm: "active", kl: 9.0, ms: 100, guarded: true, candidates: [true] },
  { id: "a-r1", ago: 10 * MIN - 1000, policy: "policy-a", arm: "active", kl: 0.1, ms: 10, guarded: true, candidates: [true] },
  { id: "a-r2", ago: 10 * MIN - 2000, policy: "policy-a", arm: "active", kl: 0.2, ms: 20, guarded: true, candidates: [false, true] },
  { id: "a-r3", ago: 10 * MIN - 3000, policy: "policy-a", arm: "active", kl: 0.3, ms: 30, fallback: "reference", guarded: true, candidates: [false, false] },
  { id: "a-r4", ago: 10 * MIN - 4000, policy: "policy-a", arm: "active", kl: 1.0, ms: 40, guarded: false, candidates: [true] },
  { id: "a-r5", ago: 10 * MIN - 5000, policy: "policy-a", arm: "canary", kl: 2.0, ms: 50, status: 422, fallback: "reject", guarded: true, candidates: [false, false] },
  { id: "a-r6", ago: 10 * MIN - 6000, policy: "policy-a", arm: "canary", kl: 3.0, ms: 70, guarded: true, candidates: [true] },
  { id: "b-r7", ago: 10 * MIN - 7000, policy: "policy-b", arm: "active", kl: 0.5, ms: 5, guarded: false, candidates: [true] },
];

// Worked out by hand. percentile_cont(q) over n sorted values: position (n−1)·q, linear between neighbours.
// policy-a/active since 1h: kl [0.1, 0.2, 0.3, 1.0] → mean 0.4; p95 at 2.85 → 0.3 + 0.85·0.7 = 0.895;
//   guarded candidates r1 (1) + r2 (2) + r3 (2) = 5, refused 1 + 2 = 3 → 0.6 (r4 is unguarded);
//   fallback 1/4; latency [10, 20, 30, 40] → p50 at 1.5 = 25, p95 at 2.85 = 38.5.
// policy-a/canary: kl [2, 3] → mean 2.5, p95 at 0.95 = 2.95; candidates 3, refused 2; fallback 1/2;
//   errors 1 (the 422); latency [50, 70] → p50 60, p95 69.
// Without --since, policy-a/active also has r0: 5 requests, kl mean (0.1+0.2+0.3+1+9)/5 = 2.12.
export const EXPECTED_SINCE_1H = {
  active: { requests: 4, errors: 0, kl_mean: 0.4, kl_p95: 0.895, rejection_rate: 0.6, fallback_rate: 0.25, latency_p50_ms: 25, latency_p95_ms: 38.5 },
  canary: { requests: 2, errors: 1, kl_mean: 2.5, kl_p95: 2.95, rejection_rate: 2 / 3, fallback_rate: 0.5, latency_p50_ms: 60, latency_p95_ms: 69 },
};

/** Inserts SPECS and three alerts (one resolved 4 h ago, one firing, one pending on policy-b). */
export async function insertDriftLog(db: Db, now: Date): Promise<void> {
  const at = (ago: number) => new Date(now.getTime() - ago);
  const rows: NewRequest[] = SPECS.map((s) => ({
    id: s.id,
    createdAt: at(s.ago),
    endpoint: "completions",
    model: s.policy,
    policyId: s.policy,
    referenceId: "reference-x",
    arm: s.arm,
    status: s.status ?? 200,
    errorCode: s.status === 422 ? "drift_rejected" : null,
    guardMode: s.guarded ? "hard" : null,
    accepted: s.status === 422 ? 0 : 1,
    fallback: s.fallback ?? null,
    klMean: s.kl,
    totalMs: s.ms,
  }));
  await db.insert(requests).values(rows);
  // Two monitored layers per candidate, as the gateway writes them.
  const samples: NewDriftSample[] = SPECS.flatMap((s) =>
    s.candidates.flatMap((accepted, candidate) =>
      [1, 2].map((layer) => ({ requestId: s.id, createdAt: at(s.ago), round: 0, candidate, layer, klMean: s.kl, klMax: s.kl, klSum: s.kl, logRatio: 0, accepted })),
    ),
  );
  await db.insert(driftSamples).values(samples);
  const rule = { metric: "kl_mean", window: "5m", statistic: "p95", comparison: ">", threshold: 2.25, severity: "warning" as const };
  await db.insert(alerts).values([
    { rule: "kl-p95-high", state: "resolved", checkpointId: "policy-a", arm: "active", since: at(300 * MIN), pendingSince: at(300 * MIN), firedAt: at(299 * MIN), resolvedAt: at(240 * MIN), value: 1.5, samples: 40, ...rule },
    { rule: "kl-p95-high", state: "firing", checkpointId: "policy-a", arm: "canary", since: at(20 * MIN), pendingSince: at(20 * MIN), firedAt: at(19 * MIN), value: 2.95, samples: 2, ...rule, severity: "critical" },
    { rule: "kl-p95-high", state: "pending", checkpointId: "policy-b", arm: "active", since: at(1 * MIN), pendingSince: at(1 * MIN), value: 2.5, samples: 12, ...rule },
  ]);
}
