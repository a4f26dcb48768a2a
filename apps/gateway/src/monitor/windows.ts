// Rolling windows per (checkpoint, arm): rings of time slots, each slot a Summary. An observation lands in
// one slot of each ring (O(1)); a window is the merge of its ring's newest slots (no re-scan of anything).
//
// Rings: 10-s slots × 30 (serves 1m and 5m), 60-s slots × 60 (serves 1h). A window of W seconds with slot
// width b is the W/b slots ending with the current one, so it covers between W − b and W seconds of
// traffic: the current slot is partial. Observations older than their ring's span are ignored by it.
import type { Arm, Observation } from "./observation";
import { Summary } from "./summary";

export const WINDOWS = {
  "1m": { seconds: 60, slotSeconds: 10 },
  "5m": { seconds: 300, slotSeconds: 10 },
  "1h": { seconds: 3600, slotSeconds: 60 },
} as const;
export type WindowName = keyof typeof WINDOWS;
export const WINDOW_NAMES = Object.keys(WINDOWS) as WindowName[];
/** The longest window: what a restart rebuilds from the database. */
export const LONGEST_WINDOW_S = Math.max(...Object.values(WINDOWS).map((w) => w.seconds));

/** One ring of slots; slot s holds observations with floor(at / slotMs) = index[s mod n]. */
class Ring {
  private readonly slots: Summary[];
  private readonly index: Float64Array; // slot number held by each position, −1 = empty

  constructor(
    readonly slotMs: number,
    readonly length: number,
  ) {
    this.slots = Array.from({ length }, () => new Summary());
    this.index = new Float64Array(length).fill(-1);
  }

  add(o: Observation): void {
    const k = Math.floor(o.at / this.slotMs);
    const p = k % this.length;
    if (this.index[p]! > k) return; // older than the ring's span: a newer slot took its place
    if (this.index[p]! < k) {
      this.slots[p]!.reset();
      this.index[p] = k;
    }
    this.slots[p]!.add(o);
  }

  /** The `count` slots ending with the one holding `now`, oldest first (empty slots as null). */
  recent(now: number, count: number): Array<{ start: number; summary: Summary | null }> {
    const last = Math.floor(now / this.slotMs);
    const out: Array<{ start: number; summary: Summary | null }> = [];
    for (let k = last - count + 1; k <= last; k++) {
      const p = ((k % this.length) + this.length) % this.length;
      out.push({ start: k * this.slotMs, summary: this.index[p] === k ? this.slots[p]! : null });
    }
    return out;
  }
}

/** A window's merged summary and its per-slot series. */
export interface WindowView {
  checkpointId: string;
  arm: Arm;
  window: WindowName;
  total: Summary;
  series: Array<{ start: number; summary: Summary | null }>;
}

/**
 * @example
 * const w = new MonitorWindows(); w.observe(observationOf(entry.request, entry.samples)!);
 * w.view("5m", Date.now()) // one WindowView per (checkpoint, arm) seen
 */
export class MonitorWindows {
  private readonly keys = new Map<string, { checkpointId: string; arm: Arm; rings: Map<number, Ring> }>();

  observe(o: Observation): void {
    const key = `${o.checkpointId}\u0000${o.arm}`;
    let entry = this.keys.get(key);
    if (!entry) {
      entry = { checkpointId: o.checkpointId, arm: o.arm, rings: new Map() };
      for (const w of Object.values(WINDOWS)) {
        const slotMs = w.slotSeconds * 1000;
        const span = Math.max(entry.rings.get(slotMs)?.length ?? 0, w.seconds / w.slotSeconds);
        entry.rings.set(slotMs, new Ring(slotMs, span));
      }
      this.keys.set(key, entry);
    }
    for (const ring of entry.rings.values()) ring.add(o);
  }

  /** Every (checkpoint, arm) seen, optionally one checkpoint's, with the window ending at `now` merged. */
  view(window: WindowName, now: number, checkpointId?: string): WindowView[] {
    const spec = WINDOWS[window];
    const out: WindowView[] = [];
    for (const entry of this.keys.values()) {
      if (checkpointId !== undefined && entry.checkpointId !== checkpointId) continue;
      const ring = entry.rings.get(spec.slotSeconds * 1000)!;
      const series = ring.recent(now, spec.seconds / spec.slotSeconds);
      const total = new Summary();
      for (const s of series) if (s.summary) total.merge(s.summary);
      out.push({ checkpointId: entry.checkpointId, arm: entry.arm, window, total, series });
    }
    return out;
  }
}
