// One alert's lifecycle (per rule × checkpoint × arm), as a pure state machine over evaluations:
//
//   inactive ──high──▶ pending ──high for `for`──▶ firing ──not high for `for`──▶ resolved (→ inactive)
//                         └──────not high──────▶ resolved (cleared before firing; fired_at stays null)
//
// `high` is a Schmitt trigger on the window value, so a value hovering at the threshold cannot flap:
//   becomes high when the condition holds (value OP threshold, with ≥ min_samples observations);
//   stays high until the value is back past the band threshold ∓ hysteresis·|threshold| (for ">": below
//   threshold − h·|threshold|), or the window has fewer than min_samples observations (no data).
// Firing also needs the clear state to last `for` before it resolves, so both edges have the same delay.

export type Phase = "inactive" | "pending" | "firing";

export interface LifecycleRule {
  comparison: ">" | ">=" | "<" | "<=";
  threshold: number;
  hysteresis: number; // fraction of |threshold|
  minSamples: number;
  forMs: number;
}

export interface AlertPhase {
  phase: Phase;
  high: boolean; // the Schmitt trigger's output
  pendingSince: number | null; // ms
  firedAt: number | null;
  clearSince: number | null; // firing and not high since (ms)
}

export const INACTIVE: AlertPhase = { phase: "inactive", high: false, pendingSince: null, firedAt: null, clearSince: null };

function holds(op: LifecycleRule["comparison"], v: number, t: number): boolean {
  return op === ">" ? v > t : op === ">=" ? v >= t : op === "<" ? v < t : v <= t;
}

/** The trigger's next output for one evaluation. */
export function nextHigh(rule: LifecycleRule, wasHigh: boolean, value: number | null, samples: number): boolean {
  if (value === null || samples < rule.minSamples) return false;
  if (holds(rule.comparison, value, rule.threshold)) return true;
  if (!wasHigh) return false;
  const band = rule.hysteresis * Math.abs(rule.threshold);
  const upper = rule.comparison === ">" || rule.comparison === ">=";
  return upper ? value >= rule.threshold - band : value <= rule.threshold + band; // still inside the band
}

/**
 * One evaluation at `now`: the new phase and the transitions it made (0, 1 or 2: pending and firing at
 * once when `for` is 0).
 * @example step(rule, INACTIVE, 1000, 0.9, 50) // { next: { phase: "pending", … }, transitions: ["pending"] }
 */
export function step(rule: LifecycleRule, cur: AlertPhase, now: number, value: number | null, samples: number): { next: AlertPhase; transitions: Array<"pending" | "firing" | "resolved"> } {
  const high = nextHigh(rule, cur.high, value, samples);
  const transitions: Array<"pending" | "firing" | "resolved"> = [];
  let next: AlertPhase = { ...cur, high };
  if (cur.phase === "inactive" && high) {
    next = { ...next, phase: "pending", pendingSince: now, firedAt: null, clearSince: null };
    transitions.push("pending");
  } else if (cur.phase === "pending" && !high) {
    return { next: { ...INACTIVE }, transitions: ["resolved"] };
  }
  if (next.phase === "pending" && now - next.pendingSince! >= rule.forMs) {
    next = { ...next, phase: "firing", firedAt: now };
    transitions.push("firing");
  } else if (next.phase === "firing" && transitions.length === 0) {
    if (high) next = { ...next, clearSince: null };
    else {
      const clearSince = cur.clearSince ?? now;
      if (now - clearSince >= rule.forMs) return { next: { ...INACTIVE }, transitions: ["resolved"] };
      next = { ...next, clearSince };
    }
  }
  return { next, transitions };
}
