// Learning-rate schedule (nanoGPT's get_lr): linear warmup, cosine decay, then a floor.
//
//   1) t < warmup:             lr = peak · (t + 1) / warmup
//   2) warmup ≤ t ≤ total:     lr = floor + ½(1 + cos(π·(t − warmup)/(total − warmup)))·(peak − floor)
//   3) t > total:              lr = floor
import { ParameterError } from "@tether/shared/errors";

export interface LrSchedule {
  peak: number;
  floor: number;
  warmup: number;
  total: number;
}

/**
 * Learning rate at step t (0-based).
 * @example learningRate({ peak: 1e-3, floor: 1e-4, warmup: 10, total: 100 }, 0) // 1e-4
 */
export function learningRate(s: LrSchedule, t: number): number {
  if (!(s.peak > 0)) throw new ParameterError("lr", "must be > 0", s.peak);
  if (!(s.floor >= 0 && s.floor <= s.peak)) throw new ParameterError("min_lr", `must be in [0, lr=${s.peak}]`, s.floor);
  if (t < s.warmup) return (s.peak * (t + 1)) / s.warmup;
  if (t > s.total || s.total <= s.warmup) return s.floor;
  const progress = (t - s.warmup) / (s.total - s.warmup);
  return s.floor + 0.5 * (1 + Math.cos(Math.PI * progress)) * (s.peak - s.floor);
}
