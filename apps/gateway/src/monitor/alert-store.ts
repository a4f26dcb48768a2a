// Where alerts and webhook deliveries persist: store/alert-db.ts (the drift log's database) or
// monitor/memory-alert-store.ts (no database). The monitor needs: the open alerts to resume after a
// restart, the last event number, an insert that re-opens an existing open row for the same dedupe key,
// in-place updates, listings for the admin API, and the rows changed since an SSE event id.
import type { AlertJson, AlertState } from "./alert-bus";

export interface OpenAlert {
  alert: AlertJson;
  dedupeKey: string;
}

export interface NewDelivery {
  url: string;
  event: string; // alert.firing, …
  eventSeq: number;
  alertId: number | null;
  attempt: number;
  status: number | null;
  ok: boolean;
  error: string | null;
  durationMs: number;
  createdAt: Date;
}

export interface AlertStore {
  /** Pending and firing alerts with their dedupe keys. */
  loadOpen(): Promise<OpenAlert[]>;
  /** The highest event sequence number ever stored (0 when none). */
  lastEventSeq(): Promise<number>;
  /** Inserts an open alert; when an open row with this dedupe key exists, updates and returns that row's id. */
  open(alert: Omit<AlertJson, "id">, dedupeKey: string, eventSeq: number): Promise<number>;
  /** Writes the alert's new state and values (by alert.id). */
  update(alert: AlertJson, eventSeq: number): Promise<void>;
  /** Newest first. */
  list(filter: { state?: AlertState; limit: number }): Promise<AlertJson[]>;
  /** Alerts whose last transition has an event number > seq, oldest transition first. */
  changedSince(seq: number, limit: number): Promise<Array<{ seq: number; alert: AlertJson }>>;
  recordDelivery(row: NewDelivery): Promise<void>;
}
