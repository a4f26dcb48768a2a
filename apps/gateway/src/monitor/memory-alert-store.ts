// AlertStore without a database (a gateway started with no drift-log database, and unit tests of the
// monitor): the same contract as store/alert-db.ts, held in memory for the life of the process.
import type { AlertJson, AlertState } from "./alert-bus";
import type { AlertStore, NewDelivery, OpenAlert } from "./alert-store";

export class MemoryAlertStore implements AlertStore {
  readonly rows: Array<{ alert: AlertJson; dedupeKey: string; seq: number }> = [];
  readonly deliveries: NewDelivery[] = [];

  async loadOpen(): Promise<OpenAlert[]> {
    return this.rows.filter((r) => r.alert.state !== "resolved").map((r) => ({ alert: structuredClone(r.alert), dedupeKey: r.dedupeKey }));
  }

  async lastEventSeq(): Promise<number> {
    return this.rows.reduce((m, r) => Math.max(m, r.seq), 0);
  }

  async open(alert: Omit<AlertJson, "id">, dedupeKey: string, seq: number): Promise<number> {
    const existing = this.rows.find((r) => r.dedupeKey === dedupeKey && r.alert.state !== "resolved");
    if (existing) {
      existing.alert = { ...structuredClone(alert), id: existing.alert.id };
      existing.seq = seq;
      return existing.alert.id;
    }
    const id = this.rows.length + 1;
    this.rows.push({ alert: { ...structuredClone(alert), id }, dedupeKey, seq });
    return id;
  }

  async update(alert: AlertJson, seq: number): Promise<void> {
    const row = this.rows.find((r) => r.alert.id === alert.id);
    if (row) Object.assign(row, { alert: structuredClone(alert), seq });
  }

  async list(filter: { state?: AlertState; limit: number }): Promise<AlertJson[]> {
    return this.rows
      .filter((r) => filter.state === undefined || r.alert.state === filter.state)
      .sort((a, b) => b.alert.id - a.alert.id)
      .slice(0, filter.limit)
      .map((r) => structuredClone(r.alert));
  }

  async changedSince(seq: number, limit: number): Promise<Array<{ seq: number; alert: AlertJson }>> {
    return this.rows
      .filter((r) => r.seq > seq)
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit)
      .map((r) => ({ seq: r.seq, alert: structuredClone(r.alert) }));
  }

  async recordDelivery(row: NewDelivery): Promise<void> {
    this.deliveries.push(row);
  }
}
