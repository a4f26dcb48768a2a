// The Worker's Cron Trigger inside workerd over a real PostgreSQL: drift-log rows in which the served policy's
// average request drifts 40× past eval.json's p99 make the default rule kl-mean-critical go pending on one
// scheduled run and fire on a run past its `for` (60 s) — the alert row persisted by the same monitor as Node.
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, inject, it } from "vitest";
import { insertDriftBatch, selectRows } from "@tether/db/core";
import worker from "../../apps/gateway/src/worker";
import { openDb } from "../../apps/gateway/src/worker/database";
import type { WorkerEnv } from "../../apps/gateway/src/worker/env";
import { BUNDLED_CHECKPOINTS } from "../../apps/gateway/src/worker/demo-models";

const databaseUrl = inject("databaseUrl");
const model = inject("model");

/** eval.json's p99 of per-request kl_mean: the default rules' threshold. */
function evalP99(): number {
  const ev = JSON.parse(new TextDecoder().decode(BUNDLED_CHECKPOINTS["models/demo/policy"]!["eval.json"]!)) as { kl: { per_request_kl_mean: { quantiles: { q: number; value: number }[] } } };
  return ev.kl.per_request_kl_mean.quantiles.find((x) => x.q === 0.99)!.value;
}

async function scheduled(at: number): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: "*/5 * * * *" }), env as WorkerEnv, ctx);
  await waitOnExecutionContext(ctx);
}

describe.skipIf(databaseUrl === null)("the Worker's Cron Trigger evaluates the alert rules over PostgreSQL", () => {
  it("a drifting policy: kl-mean-critical pending on one run, firing on a run 61 s later", async () => {
    const db = openDb(databaseUrl!);
    const klMean = 40 * evalP99();
    const now = Date.now();
    const requests = Array.from({ length: 30 }, (_, i) => ({
      id: `cron-${now}-${i}`, createdAt: new Date(now - 20_000 + i * 500), endpoint: "completions" as const, model, policyId: model,
      status: 200, guardMode: "hard" as const, guardMaxKl: 1, guardCandidates: 1, guardMaxRounds: 1, rounds: 1, accepted: 1, klMean, totalMs: 20,
    }));
    const samples = requests.map((r) => ({ requestId: r.id, createdAt: r.createdAt, round: 0, candidate: 0, choiceIndex: 0, layer: -1, klMean, klMax: 2 * klMean, klSum: 8 * klMean, logRatio: 1, accepted: true }));
    await insertDriftBatch(db, { requests, samples });

    await scheduled(now);
    const alertRows = () =>
      selectRows<{ state: string; severity: string; checkpoint_id: string; value: number; threshold: number }>(
        openDb(databaseUrl!),
        sql`select state, severity, checkpoint_id, value, threshold from alerts where rule = 'kl-mean-critical' order by id`,
      );
    const [pending] = await alertRows();
    expect(pending).toMatchObject({ state: "pending", severity: "critical", checkpoint_id: model });
    expect(pending!.threshold).toBeCloseTo(evalP99(), 12);
    expect(pending!.value).toBeGreaterThan(10 * evalP99()); // the window mean: our 30 rows dominate it

    await scheduled(now + 61_000);
    const rows = await alertRows();
    expect(rows).toHaveLength(1); // the same alert row, re-opened from the database and moved on
    expect(rows[0]).toMatchObject({ state: "firing", checkpoint_id: model });
  });
});
