// Findings only a GRPO sweep over --kl-variants can test (the seed's own experiment), next to findings.ts's
// per-variant claims (i)–(v):
//  (vi)  reward rises fastest at β = 0: within one estimator:placement, the β = 0 run's reward gain (last vs
//        first REWARD_EDGE_FRACTION of its step-reward curve) is ≥ MIN_REWARD_RISE and ≥ every β > 0 run's.
//  (vii) one placement anchors tighter: at every β > 0 run by all variants, the same variant has the lowest
//        final held-out KL, each time at least VARIANT_MIN_REL_DIFF below the highest; β = 0 (no KL term in
//        either placement, so the same objective) is listed as the control for run-to-run noise.
import { betaLabel, fixed, signed } from "./format";
import { MIN_REWARD_RISE, REWARD_EDGE_FRACTION, rewardGain, type Finding, type Verdict } from "./findings";
import type { RunCurves, SweepRunSummary } from "./types";

/** A variant's final KL must be at least this fraction below the highest at the same β to count as tighter. */
export const VARIANT_MIN_REL_DIFF = 0.1;

function claimSix(group: SweepRunSummary[], variant: string, curves: Map<string, RunCurves>): Finding {
  const zero = group.find((r) => r.beta === 0);
  const others = group.filter((r) => r.beta > 0);
  const base = { claim: "vi", klOn: group[0]!.klOn, variant } as const;
  if (!zero || others.length === 0) return { ...base, verdict: "INCONCLUSIVE", detail: "needs a β = 0 run and a β > 0 run." };
  const gains = [...group].sort((a, b) => a.beta - b.beta).map((r) => ({ r, gain: rewardGain(curves.get(r.id)!).gain }));
  const g0 = gains.find((g) => g.r === zero)!.gain;
  const best = Math.max(...gains.filter((g) => g.r !== zero).map((g) => g.gain));
  const listing = gains.map((g) => `β=${betaLabel(g.r.beta)}: ${signed(g.gain, 3)}`).join(", ");
  const known = gains.every((g) => Number.isFinite(g.gain));
  const fastest = g0 >= best && g0 >= MIN_REWARD_RISE;
  const verdict: Verdict = !known ? "INCONCLUSIVE" : fastest ? "SUPPORTED" : "NOT SUPPORTED";
  const why = g0 < MIN_REWARD_RISE ? ` (β = 0 did not rise by ≥ ${MIN_REWARD_RISE})` : g0 < best ? " (a β > 0 run gained more)" : "";
  const edge = `${100 * REWARD_EDGE_FRACTION}%`;
  return { ...base, verdict, detail: `reward gain (last − first ${edge} of steps) per β: ${listing}${why}.` };
}

function claimSeven(runs: readonly SweepRunSummary[], variants: string[]): Finding {
  const at = (beta: number) => variants.map((v) => runs.find((r) => r.klVariant === v && r.beta === beta));
  const betas = [...new Set(runs.map((r) => r.beta))].sort((a, b) => a - b).filter((b) => at(b).every((r) => r !== undefined));
  const row = (beta: number) => {
    const rs = at(beta) as SweepRunSummary[];
    const text = rs
      .map((r) => `${r.klVariant} KL ${fixed(r.finalKl, 4)}, task ${fixed(r.taskAccuracy, 2)}, retention ${fixed(r.baseRetention, 3)}`)
      .join(" vs ");
    const kls = rs.map((r) => r.finalKl);
    const hi = Math.max(...kls);
    const lo = Math.min(...kls);
    return { beta, text, lowest: rs[kls.indexOf(lo)]!.klVariant!, relDiff: hi > 0 ? (hi - lo) / hi : 0 };
  };
  const rows = betas.map(row);
  const positive = rows.filter((r) => r.beta > 0);
  const control = (beta: number) => (beta === 0 ? " [control: same objective]" : "");
  const listing = rows.map((r) => `β=${betaLabel(r.beta)}: ${r.text} (${fixed(100 * r.relDiff, 0)}% apart)${control(r.beta)}`).join("; ");
  const base = { claim: "vii", klOn: "all" } as const;
  if (variants.length < 2 || positive.length === 0) {
    return { ...base, verdict: "INCONCLUSIVE", detail: `needs ≥ 2 variants run at a common β > 0; ${listing || "none"}.` };
  }
  const same = positive.every((r) => r.lowest === positive[0]!.lowest);
  const apart = positive.every((r) => r.relDiff >= VARIANT_MIN_REL_DIFF && Number.isFinite(r.relDiff));
  const verdict: Verdict = same && apart ? "SUPPORTED" : "INCONCLUSIVE";
  const why =
    same && apart ? `${positive[0]!.lowest} has the lowest final KL at every β > 0`
    : !same ? "the lowest-KL variant changes with β"
    : `some β > 0 differ by < ${100 * VARIANT_MIN_REL_DIFF}%`;
  return { ...base, verdict, detail: `${why}. ${listing}.` };
}

/**
 * The GRPO-only findings (vi) per variant and (vii) across variants; empty unless runs carry klVariant.
 * @example computeGrpoFindings(runs, curves) // [{ claim: "vi", variant: "k3:loss", … }, …, { claim: "vii", … }]
 */
export function computeGrpoFindings(runs: readonly SweepRunSummary[], curves: Map<string, RunCurves>): Finding[] {
  const variants = [...new Set(runs.map((r) => r.klVariant).filter((v): v is string => v !== undefined))];
  if (variants.length === 0) return [];
  const six = variants.map((v) => claimSix(runs.filter((r) => r.klVariant === v), v, curves));
  return [...six, claimSeven(runs, variants)];
}
