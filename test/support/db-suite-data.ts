// Test-only: data tests of the shared database suite (round-trips, batched writes, retention), checked with raw SQL.
import { asc, eq, sql } from "drizzle-orm";
import { expect, test } from "vitest";
import { selectRows, type Db } from "../../packages/db/src/create-db";
import type { SuiteContext } from "./db-suite";
import { pruneDriftLog, retentionCutoff } from "../../packages/db/src/retention";
import {
  alerts,
  checkpoints,
  driftSamples,
  promotions,
  requests,
  type NewCheckpoint,
  type NewDriftSample,
  type NewRequest,
} from "../../packages/db/src/schema";
import { insertDriftBatch, MAX_BIND_PARAMETERS, MAX_ROWS_PER_INSERT } from "../../packages/db/src/writes";

const T0 = new Date("2025-01-01T00:00:00.000Z");
const HOUR = 3_600_000;

/** A request row with every field set (or, `minimal`, only the required ones). */
export function makeRequest(id: string, createdAt: Date, minimal = false): NewRequest {
  const required = { id, createdAt, endpoint: "completions" as const, model: "demo", status: 200, totalMs: 12.5 };
  if (minimal) return required;
  return {
    ...required, endpoint: "chat.completions", policyId: "pol-1", referenceId: "ref-1", endUser: "ü-user 'quoted'",
    n: 2, promptTokens: 17, completionTokens: 64, guardMode: "soft", guardMaxKl: 0.1 + 0.2, guardCandidates: 4,
    guardMaxRounds: 3, rounds: 2, accepted: 2, fallback: "least_kl", klMean: 1e-300, queueMs: 0.25,
    generateMs: 31.0625, guardMs: 4.75, errorCode: null, arm: "canary",
  };
}

/** `layers` sketch layers (or the token-only layer −1) × `candidates` for one request. */
export function makeSamples(requestId: string, createdAt: Date, candidates: number, layers: number): NewDriftSample[] {
  const rows: NewDriftSample[] = [];
  for (let c = 0; c < candidates; c++) {
    for (let l = layers === 0 ? -1 : 0; l < Math.max(layers, 0); l++) {
      rows.push({
        requestId, createdAt, round: 0, candidate: c, choiceIndex: c === 0 ? 0 : null, layer: l,
        klMean: 0.01 * (c + 1), klMax: 0.5, klSum: 0.64 * (c + 1), logRatio: 0.5 - 0.125 * c, accepted: c === 0,
        sketchScore: l < 0 ? null : 1.5 + l, sketchPercentile: l < 0 ? null : 42.5,
      });
    }
  }
  return rows;
}

async function count(db: Db, table: "requests" | "drift_samples", where = sql`true`): Promise<number> {
  const [row] = await selectRows<{ n: number }>(db, sql`select count(*)::int as n from ${sql.identifier(table)} where ${where}`);
  return row?.n ?? -1;
}

export function defineRoundTripTests(ctx: SuiteContext): void {
  test("checkpoints and promotions round-trip, jsonb stored as objects", async () => {
    const manifest = { id: "pol-1", kind: "policy", sha256: { "model.safetensors": "ab".repeat(32) }, arch: { layers: [1, 2.5, null] }, note: "ünïcode ✓" };
    const full: NewCheckpoint = {
      id: "pol-1", kind: "policy", parentId: "ref-1", referenceId: "ref-1", path: "/ckpt/pol-1", manifest,
      eval: { kl: { p99: 0.2 }, pass: true }, status: "canary", canaryPercent: 12.5,
    };
    const minimal: NewCheckpoint = { id: "ref-1", kind: "reference", path: "/ckpt/ref-1", manifest: { id: "ref-1" } };
    await ctx.db.insert(checkpoints).values([minimal, full]);
    const rows = await ctx.db.select().from(checkpoints).orderBy(asc(checkpoints.id));
    expect(rows[0]).toMatchObject({ ...full, createdAt: expect.any(Date), updatedAt: expect.any(Date) });
    expect(rows[1]).toMatchObject({ ...minimal, parentId: null, referenceId: null, eval: null, status: "registered", canaryPercent: null });
    const [types] = await selectRows<{ m: string; e: string }>(
      ctx.db, sql`select jsonb_typeof(manifest) as m, manifest #>> '{sha256,model.safetensors}' as e from checkpoints where id = 'pol-1'`,
    );
    expect(types).toEqual({ m: "object", e: "ab".repeat(32) });

    const gate = { kl_p99: { value: 0.2, limit: 0.3, pass: true } };
    const [promo] = await ctx.db
      .insert(promotions)
      .values({ checkpointId: "pol-1", previousCheckpointId: "ref-1", action: "canary", canaryPercent: 12.5, forced: true, reason: "ship", actor: "admin", gate })
      .returning();
    const [bare] = await ctx.db.insert(promotions).values({ checkpointId: "pol-1", action: "rollback" }).returning();
    expect(promo).toMatchObject({ id: 1, forced: true, gate, canaryPercent: 12.5, reason: "ship" });
    expect(bare).toMatchObject({ id: 2, forced: false, gate: null, previousCheckpointId: null, reason: null, actor: null });
    // Audit rows keep their checkpoint: it cannot be deleted from under them.
    await expect(ctx.db.delete(checkpoints).where(eq(checkpoints.id, "pol-1"))).rejects.toThrow();
  });

  test("requests, drift_samples and alerts round-trip with nullable fields and exact doubles", async () => {
    const at = new Date("2025-02-03T04:05:06.789Z");
    const reqs = [makeRequest("req-full", at), makeRequest("req-min", at, true)];
    const samples = [...makeSamples("req-full", at, 2, 2), ...makeSamples("req-min", at, 1, 0)];
    await ctx.db.insert(requests).values(reqs);
    await ctx.db.insert(driftSamples).values(samples);
    const gotReqs = await ctx.db.select().from(requests).orderBy(asc(requests.id));
    expect(gotReqs[0]).toEqual(reqs[0]);
    expect(gotReqs[0]?.guardMaxKl).toBe(0.1 + 0.2); // double precision, not real: no rounding
    expect(gotReqs[1]).toMatchObject({ ...reqs[1], arm: "active", policyId: null, guardMode: null, fallback: null, klMean: null, n: 1, accepted: 0 });
    const gotSamples = await ctx.db.select().from(driftSamples)
      .orderBy(asc(driftSamples.requestId), asc(driftSamples.candidate), asc(driftSamples.layer));
    expect(gotSamples).toEqual([...samples].sort((a, b) => a.requestId.localeCompare(b.requestId) || a.candidate - b.candidate || a.layer - b.layer));
    expect(gotSamples.find((s) => s.layer === -1)).toMatchObject({ sketchScore: null, sketchPercentile: null, choiceIndex: 0 });

    const since = new Date("2025-02-03T00:00:00Z");
    await ctx.db.insert(alerts).values([
      { rule: "kl_p99", state: "firing", checkpointId: "pol-1", since, value: 0.41, threshold: 0.3, details: { window: "5m", n: [1, 2] } },
      { rule: "sketch", state: "resolved", since, resolvedAt: new Date("2025-02-03T01:00:00Z") },
    ]);
    const gotAlerts = await ctx.db.select().from(alerts).orderBy(asc(alerts.id));
    expect(gotAlerts[0]).toMatchObject({ id: 1, state: "firing", since, resolvedAt: null, value: 0.41, details: { window: "5m", n: [1, 2] } });
    expect(gotAlerts[1]).toMatchObject({ id: 2, checkpointId: null, value: null, details: null, resolvedAt: new Date("2025-02-03T01:00:00Z") });
  });
}

export function defineWriteTests(ctx: SuiteContext): void {
  test("insertDriftBatch chunks past the 65535-parameter limit and a replay inserts nothing twice", async () => {
    // 3000 requests × 24 columns and 12000 samples × 13 columns: 72k and 156k values, more than one
    // statement could bind as a VALUES list, and 3 statements of MAX_ROWS_PER_INSERT samples.
    expect(3000 * 24).toBeGreaterThan(MAX_BIND_PARAMETERS);
    expect(12_000).toBeGreaterThan(2 * MAX_ROWS_PER_INSERT);
    const reqs = Array.from({ length: 3000 }, (_, i) => makeRequest(`r${i}`, new Date(T0.getTime() + i * 1000)));
    const samples = reqs.slice(0, 1500).flatMap((r) => makeSamples(r.id, r.createdAt, 2, 4));
    expect(samples.length).toBe(12_000);

    expect(await insertDriftBatch(ctx.db, { requests: reqs, samples })).toEqual({ requests: 3000, samples: 12_000 });
    expect(await count(ctx.db, "requests")).toBe(3000);
    expect(await count(ctx.db, "drift_samples")).toBe(12_000);

    expect(await insertDriftBatch(ctx.db, { requests: reqs, samples })).toEqual({ requests: 0, samples: 0 });
    // A replay that overlaps new rows inserts only the new ones.
    const extra = makeRequest("r-new", T0);
    const overlap = { requests: [reqs[0]!, extra], samples: [...samples.slice(0, 10), ...makeSamples("r-new", T0, 1, 4)] };
    expect(await insertDriftBatch(ctx.db, overlap)).toEqual({ requests: 1, samples: 4 });
    expect(await count(ctx.db, "requests")).toBe(3001);
    expect(await count(ctx.db, "drift_samples")).toBe(12_004);
  });

  test("insertDriftBatch round-trips awkward text, special doubles, nulls and column defaults", async () => {
    const at = new Date("2025-05-06T07:08:09.123Z");
    const awkward = ['a "quoted" \\ back\\slash', "NULL", "", "{braces}, commas", "ünï ✓ 🚀", "line\nbreak"];
    const reqs = awkward.map((user, i) => ({ ...makeRequest(`aw${i}`, at), endUser: user }));
    const minimal = makeRequest("aw-min", at, true); // n, token counts, accepted from column defaults
    const [sample] = makeSamples("aw0", at, 1, 1);
    const special = [NaN, Infinity, -Infinity, -0, 5e-324, Number.MAX_VALUE];
    const samples = special.map((klMax, round) => ({ ...sample!, round, klMax, sketchScore: null }));
    expect(await insertDriftBatch(ctx.db, { requests: [...reqs, minimal], samples })).toEqual({ requests: 7, samples: 6 });

    const users = await ctx.db.select({ id: requests.id, user: requests.endUser }).from(requests).where(eq(requests.createdAt, at));
    expect(Object.fromEntries(users.map((u) => [u.id, u.user]))).toEqual({
      ...Object.fromEntries(awkward.map((u, i) => [`aw${i}`, u])), "aw-min": null,
    });
    const [min] = await ctx.db.select().from(requests).where(eq(requests.id, "aw-min"));
    expect(min).toEqual({ ...minimal, policyId: null, referenceId: null, endUser: null, n: 1, promptTokens: 0,
      completionTokens: 0, guardMode: null, guardMaxKl: null, guardCandidates: null, guardMaxRounds: null, rounds: null,
      accepted: 0, fallback: null, klMean: null, queueMs: null, generateMs: null, guardMs: null, errorCode: null, arm: "active" });
    const got = await ctx.db.select().from(driftSamples).orderBy(asc(driftSamples.round));
    expect(got.map((s) => s.klMax)).toEqual(special);
    expect(Object.is(got[3]!.klMax, -0)).toBe(true);
    expect(got.every((s) => s.sketchScore === null && s.createdAt.getTime() === at.getTime())).toBe(true);
  });

  test("insertDriftBatch is one transaction: a bad row in the last chunk rolls back every chunk", async () => {
    const reqs = Array.from({ length: 3000 }, (_, i) => makeRequest(`t${i}`, T0));
    const bad = { ...makeSamples("t0", T0, 1, 0)[0]!, layer: -2 }; // violates drift_samples_index_check
    await expect(insertDriftBatch(ctx.db, { requests: reqs, samples: [bad] })).rejects.toThrow();
    expect(await count(ctx.db, "requests")).toBe(0);
    expect(await insertDriftBatch(ctx.db, { requests: [], samples: [] })).toEqual({ requests: 0, samples: 0 });
    // A batch revived from JSON without its dates is refused with a message naming the column.
    const unrevived = JSON.parse(JSON.stringify(makeRequest("j", T0))) as NewRequest;
    await expect(insertDriftBatch(ctx.db, { requests: [unrevived], samples: [] })).rejects.toThrow(/created_at must be a valid Date/);
  });
}

export function definePruneTests(ctx: SuiteContext): void {
  test("pruneDriftLog deletes exactly the rows older than the cutoff, in batches", async () => {
    // 60 requests one hour apart, 3 candidates × 2 layers each; cutoff exactly on request 25's timestamp.
    const reqs = Array.from({ length: 60 }, (_, i) => makeRequest(`p${i}`, new Date(T0.getTime() + i * HOUR)));
    const samples = reqs.flatMap((r) => makeSamples(r.id, r.createdAt, 3, 2));
    await insertDriftBatch(ctx.db, { requests: reqs, samples });
    const cutoff = new Date(T0.getTime() + 25 * HOUR);
    const before = sql`created_at < ${cutoff.toISOString()}::timestamptz`;
    const oldRequests = await count(ctx.db, "requests", before);
    const oldSamples = await count(ctx.db, "drift_samples", before);
    expect([oldRequests, oldSamples]).toEqual([25, 150]);

    const result = await pruneDriftLog(ctx.db, { olderThan: cutoff, batchSize: 7 });
    // 150 samples in 7-row batches: 22 batches (the last one short), 25 requests: 4.
    expect(result).toEqual({ requests: 25, samples: 150, batches: 22 + 4 });
    expect(await count(ctx.db, "requests", before)).toBe(0);
    expect(await count(ctx.db, "drift_samples", before)).toBe(0);
    expect(await count(ctx.db, "requests")).toBe(35); // the row at the cutoff itself is kept
    expect(await count(ctx.db, "drift_samples")).toBe(210);
    expect(await pruneDriftLog(ctx.db, { olderThan: cutoff })).toEqual({ requests: 0, samples: 0, batches: 2 });
  });

  test("pruneDriftLog's batch scan can walk the created_at index", async () => {
    const plan = await ctx.db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`);
      return selectRows<Record<string, string>>(
        tx as unknown as Db,
        sql`explain select created_at, id from requests where created_at < now() order by created_at limit 10`,
      );
    });
    expect(plan.map((r) => Object.values(r)[0]).join("\n")).toMatch(/Index (Only )?Scan using requests_pkey/);
  });

  test("retention parameters are validated and the cutoff is exact", async () => {
    expect(retentionCutoff(new Date("2025-03-31T00:00:00Z"), 30)).toEqual(new Date("2025-03-01T00:00:00Z"));
    expect(() => retentionCutoff(new Date(), -1)).toThrow(/days/);
    await expect(pruneDriftLog(ctx.db, { olderThan: T0, batchSize: 0 })).rejects.toThrow(/batchSize/);
    await expect(pruneDriftLog(ctx.db, { olderThan: new Date("nope") })).rejects.toThrow(/olderThan/);
  });
}
