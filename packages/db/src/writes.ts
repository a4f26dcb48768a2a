// Batched drift-log writes: one INSERT … SELECT FROM unnest(column arrays) per chunk, all chunks in one transaction, safe to replay.
//
// Why unnest and not a multi-row VALUES list: drizzle's query builder spends ~100 µs per 13-column row
// building a VALUES insert (measured: 5000 drift_samples rows, 750 ms of CPU before anything is sent),
// which at a few hundred requests/s × k candidates × layers would eat the gateway's event loop. Here
// each column travels as one array parameter (`$1::text[]`, …), so a statement binds one parameter per
// column whatever the row count — far under PostgreSQL's 65535 bind-parameter limit — and costs a
// string join per value. Rows per statement are still bounded (MAX_ROWS_PER_INSERT) to bound memory.
import { getTableColumns, sql, type SQL } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import { selectRows, type Db } from "./db";
import { driftSamples, requests, type NewDriftSample, type NewRequest } from "./schema";

/** PostgreSQL's wire protocol counts bind parameters in an Int16: at most 65535 per statement. */
export const MAX_BIND_PARAMETERS = 65_535;

/** Rows per INSERT statement; a 13-column sample row is ~200 bytes of array text, so ~1 MB per statement. */
export const MAX_ROWS_PER_INSERT = 5000;

export interface DriftBatch {
  requests: NewRequest[];
  samples: NewDriftSample[];
}

/** Rows actually inserted; rows already present (same primary key) are skipped and not counted. */
export interface DriftBatchResult {
  requests: number;
  samples: number;
}

/**
 * Writes a batch of request rows and their drift samples in one transaction: all or nothing.
 * Idempotent: rows whose primary key exists are skipped (ON CONFLICT DO NOTHING), so a batch spilled
 * to disk during an outage can be replayed after a partial or unknown outcome without duplicates.
 * That works because the writer sets `createdAt` (part of both primary keys) when the request arrives.
 * @example
 * await insertDriftBatch(handle.db, { requests: [req], samples: perCandidateRows }); // { requests: 1, samples: 8 }
 * await insertDriftBatch(handle.db, { requests: [req], samples: perCandidateRows }); // { requests: 0, samples: 0 }
 */
export async function insertDriftBatch(db: Db, batch: DriftBatch): Promise<DriftBatchResult> {
  if (batch.requests.length === 0 && batch.samples.length === 0) return { requests: 0, samples: 0 };
  // PGlite in its worker thread (createDb(…, { thread: true })): the whole batch runs there (pglite-thread.ts).
  const client = (db as { $client?: { insertDriftBatch?: unknown } }).$client;
  if (client && typeof client.insertDriftBatch === "function") {
    return (client as { insertDriftBatch: (b: DriftBatch) => Promise<DriftBatchResult> }).insertDriftBatch(batch);
  }
  return db.transaction(async (tx) => {
    const txDb = tx as unknown as Db; // a transaction runs the same queries as the database
    let requestCount = 0;
    for (let i = 0; i < batch.requests.length; i += MAX_ROWS_PER_INSERT) {
      requestCount += await insertUnnest(txDb, requests, batch.requests.slice(i, i + MAX_ROWS_PER_INSERT));
    }
    let sampleCount = 0;
    for (let i = 0; i < batch.samples.length; i += MAX_ROWS_PER_INSERT) {
      sampleCount += await insertUnnest(txDb, driftSamples, batch.samples.slice(i, i + MAX_ROWS_PER_INSERT));
    }
    return { requests: requestCount, samples: sampleCount };
  });
}

/**
 * `INSERT INTO t (c1, …) SELECT * FROM unnest($1::type1[], …) ON CONFLICT DO NOTHING`, returning
 * the number of rows inserted. Missing values take the column's literal default, else NULL (a NOT
 * NULL column then rejects the batch, as a VALUES insert would).
 */
async function insertUnnest(db: Db, table: PgTable, rows: ReadonlyArray<Record<string, unknown>>): Promise<number> {
  const { columns, names } = shapeOf(table);
  const arrays = columns.map(({ key, column, type }) => {
    const literal = arrayLiteral(rows.map((row) => driverValue(column, row[key])));
    return sql`${literal}::${type}[]`;
  });
  const [result] = await selectRows<{ n: number }>(
    db,
    sql`with inserted as (
          insert into ${table} (${names}) select * from unnest(${sql.join(arrays, sql`, `)})
          on conflict do nothing returning 1)
        select count(*)::int as n from inserted`,
  );
  return result?.n ?? 0;
}

interface TableShape {
  columns: { key: string; column: PgColumn; type: SQL }[];
  names: SQL;
}

const shapes = new WeakMap<PgTable, TableShape>();

/** A table's columns, their SQL types and the quoted column list, computed once per table (not per batch). */
function shapeOf(table: PgTable): TableShape {
  let shape = shapes.get(table);
  if (!shape) {
    const entries = Object.entries(getTableColumns(table));
    shape = {
      columns: entries.map(([key, column]) => ({ key, column, type: sql.raw(column.getSQLType()) })),
      names: sql.join(entries.map(([, column]) => sql.identifier(column.name)), sql`, `),
    };
    shapes.set(table, shape);
  }
  return shape;
}

function driverValue(column: PgColumn, value: unknown): unknown {
  if (value === undefined) {
    if (column.defaultFn) value = column.defaultFn();
    else if (column.hasDefault) value = column.default;
    else return null;
    if (value !== null && typeof value === "object" && !(value instanceof Date)) {
      // An SQL default (e.g. now()) cannot be spread over an array; the writer must set the value.
      throw new RangeError(`insertDriftBatch: column ${column.name} has an SQL default; set it explicitly`);
    }
  }
  if (value === null) return null;
  if (column.dataType === "date" && !(value instanceof Date && !Number.isNaN(value.getTime()))) {
    // Typically a batch read back from a JSON spill file without reviving its dates.
    throw new RangeError(`insertDriftBatch: ${column.name} must be a valid Date, got ${JSON.stringify(value)}`);
  }
  return column.mapToDriverValue(value);
}

/** A PostgreSQL array literal `{"a","b",NULL}`: every element quoted, `\` and `"` escaped. */
function arrayLiteral(values: unknown[]): string {
  const parts = values.map((v) => {
    if (v === null || v === undefined) return "NULL";
    let text: string;
    if (typeof v === "boolean") text = v ? "t" : "f";
    else if (typeof v === "number") text = Object.is(v, -0) ? "-0" : String(v); // NaN, Infinity are valid float8
    else if (v instanceof Date) text = v.toISOString();
    else text = String(v);
    if (text.includes("\\") || text.includes('"')) text = text.replace(/\\/g, "\\\\").replace(/"/g, '\\"'); // most values need no escaping
    return `"${text}"`;
  });
  return `{${parts.join(",")}}`;
}
