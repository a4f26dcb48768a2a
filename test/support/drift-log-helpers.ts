// Test-only: drift-log entries, row counts, a database that refuses connections, and quiet writer options.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { selectRows, type Db } from "@tether/db/create-db";
import type { DriftLogEntry, DriftSampleRow } from "../../apps/gateway/src/store/drift-store";

const T0 = Date.parse("2025-06-01T00:00:00.000Z");

/**
 * Entry `i` of a run: every request column set, `candidates` × `layers` samples (layer −1 only when
 * `layers` is 0), awkward values included (quotes, unicode, −0, a non-finite KL).
 */
export function makeEntry(prefix: string, i: number, candidates = 2, layers = 2): DriftLogEntry {
  const createdAt = new Date(T0 + i * 7); // arrival time, set by the caller (ms resolution, like Date)
  const samples: DriftSampleRow[] = [];
  for (let c = 0; c < candidates; c++) {
    for (let l = layers === 0 ? -1 : 0; l < Math.max(layers, 0); l++) {
      samples.push({
        round: c % 2, candidate: c, choiceIndex: c === 0 ? 0 : null, layer: l, klMean: 0.01 * (i + 1) + c,
        klMax: i % 97 === 5 && c === 1 ? Infinity : 0.5 + l, klSum: 0.64 * (c + 1), logRatio: c === 0 ? -0 : 0.5 - 0.125 * c,
        accepted: c === 0, sketchScore: l < 0 ? null : 1.5 + l + i / 1000, sketchPercentile: l < 0 ? null : 42.5,
      });
    }
  }
  return {
    request: {
      id: `${prefix}-${i}`, createdAt, endpoint: i % 2 ? "chat.completions" : "completions", model: "demo", policyId: "pol-1",
      referenceId: "ref-1", endUser: i % 3 ? `user "${i}" ü ✓` : null, n: 1, promptTokens: 17 + i, completionTokens: 64,
      status: 200, guardMode: "soft", guardMaxKl: 0.1 + 0.2, guardCandidates: candidates, guardMaxRounds: 3, rounds: 1,
      accepted: 1, fallback: null, klMean: 1e-300, queueMs: 0.25, generateMs: 31.0625, guardMs: 4.75, totalMs: 40 + i,
      errorCode: null, arm: i % 5 === 4 ? "canary" : "active",
    },
    samples,
  };
}

/** Rows in requests and drift_samples, optionally only those whose request id starts with `idPrefix`. */
export async function countRows(db: Db, idPrefix = ""): Promise<{ requests: number; samples: number }> {
  const like = `${idPrefix}%`;
  const [r] = await selectRows<{ n: number }>(db, sql`select count(*)::int as n from requests where id like ${like}`);
  const [s] = await selectRows<{ n: number }>(db, sql`select count(*)::int as n from drift_samples where request_id like ${like}`);
  return { requests: r?.n ?? -1, samples: s?.n ?? -1 };
}

/** A postgres:// URL on a loopback port nothing listens on (connections are refused at once). */
export async function refusedUrl(): Promise<string> {
  const port = await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port: p } = server.address() as { port: number };
      server.close(() => resolve(p));
    });
  });
  return `postgres://nobody@127.0.0.1:${port}/nothing?connect_timeout=2`;
}

/** A fresh temp directory and its remover. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A log sink that keeps warnings for assertions instead of printing them. */
export function collectWarnings(): { warn: (m: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { warn: (m) => void lines.push(m), lines };
}

/** Rows and distinct primary keys in the drift log: a replay that duplicated anything would show. */
export interface DriftLogCounts {
  requests: number;
  distinct_ids: number;
  samples: number;
  distinct_samples: number;
}

/** @example expect(await driftLogCounts(db)).toEqual({ requests: 3, distinct_ids: 3, samples: 6, distinct_samples: 6 }) */
export async function driftLogCounts(db: Db): Promise<DriftLogCounts> {
  const [counts] = await selectRows<DriftLogCounts & Record<string, unknown>>(
    db,
    sql`select (select count(*)::int from requests) as requests,
               (select count(distinct id)::int from requests) as distinct_ids,
               (select count(*)::int from drift_samples) as samples,
               (select count(*)::int from (select distinct request_id, round, candidate, layer from drift_samples) d) as distinct_samples`,
  );
  return counts!;
}
