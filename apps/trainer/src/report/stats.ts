// Small statistics for the sweep findings: ranks with ties, Pearson and Spearman correlation, least-squares
// slope, and the first/last third of a training curve. Undefined results are NaN, never a throw.
import type { Points } from "./types";

/**
 * 1-based ranks; tied values share the mean of the ranks they span.
 * @example ranks([10, 20, 20, 5]); // [2, 3.5, 3.5, 1]
 */
export function ranks(xs: readonly number[]): number[] {
  const order = xs.map((x, i) => ({ x, i })).sort((a, b) => a.x - b.x);
  const out = new Array<number>(xs.length);
  for (let lo = 0; lo < order.length; ) {
    let hi = lo;
    while (hi + 1 < order.length && order[hi + 1]!.x === order[lo]!.x) hi++;
    // positions lo..hi (0-based) hold ranks lo+1..hi+1; their mean is (lo+hi)/2 + 1.
    const r = (lo + hi) / 2 + 1;
    for (let k = lo; k <= hi; k++) out[order[k]!.i] = r;
    lo = hi + 1;
  }
  return out;
}

/**
 * Pearson r = Σ(x−x̄)(y−ȳ) / √(Σ(x−x̄)² · Σ(y−ȳ)²); NaN when n < 2 or either side is constant.
 * @example pearson([1, 2, 3], [2, 4, 7]); // ≈ 0.993
 */
export function pearson(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length) throw new Error(`pearson: xs and ys must have equal length (${xs.length} vs ${ys.length})`);
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

/**
 * Spearman ρ: Pearson correlation of the (tie-averaged) ranks.
 * @example spearman([0, 0.1, 0.5, 1], [0.2, 0.5, 0.4, 0.9]); // 0.8
 */
export function spearman(xs: readonly number[], ys: readonly number[]): number {
  return pearson(ranks(xs), ranks(ys));
}

/**
 * Ordinary least-squares slope dy/dx; NaN with fewer than 2 distinct x.
 * @example olsSlope([0, 1, 2], [1, 3, 5]); // 2
 */
export function olsSlope(xs: readonly number[], ys: readonly number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  return sxx === 0 ? NaN : sxy / sxx;
}

/** Arithmetic mean; NaN for an empty list. */
export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * Points whose step lies in the first third [s₀, s₀ + L/3] or the last third [s₁ − L/3, s₁] of the
 * step range (L = s₁ − s₀). Thirds are by step, not by point count, so uneven eval spacing is fair.
 * @example thirds({ step: [0, 1, 2, 3, 4, 5, 6], value: [0, 1, 2, 3, 4, 5, 6] }).last.step; // [4, 5, 6]
 */
export function thirds(p: Points): { first: Points; last: Points; span: number } {
  if (p.step.length === 0) return { first: { step: [], value: [] }, last: { step: [], value: [] }, span: 0 };
  const s0 = p.step[0]!;
  const s1 = p.step[p.step.length - 1]!;
  const span = (s1 - s0) / 3;
  const pick = (keep: (s: number) => boolean): Points => {
    const idx = p.step.map((s, i) => (keep(s) ? i : -1)).filter((i) => i >= 0);
    return { step: idx.map((i) => p.step[i]!), value: idx.map((i) => p.value[i]!) };
  };
  return { first: pick((s) => s <= s0 + span), last: pick((s) => s >= s1 - span), span };
}

/**
 * Mean of the first and last k values, k = max(1, ⌈n·fraction⌉): a noise-robust "first vs last".
 * @example edgeMeans([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.2); // { first: 1.5, last: 9.5 }
 */
export function edgeMeans(values: readonly number[], fraction: number): { first: number; last: number } {
  const k = Math.max(1, Math.ceil(values.length * fraction));
  return { first: mean(values.slice(0, k)), last: mean(values.slice(-k)) };
}
