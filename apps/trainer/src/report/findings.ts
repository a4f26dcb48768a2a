// The report's "Findings": the literature's β-sweep claims tested against the measured numbers.
// Each claim gets SUPPORTED / NOT SUPPORTED / INCONCLUSIVE and the numbers behind it; nothing is hand-written.
//
// Claims (issue 3, point 5) and the tests applied, per kl-on group:
//  (i)   β = 0: reward rises (mean of the last vs first REWARD_EDGE_FRACTION of the reward curve, by at
//        least MIN_REWARD_RISE) and KL grows without bound: Spearman(step, KL) ≥ MONOTONE_MIN_RHO and the
//        least-squares KL slope over the last third of training is still ≥ UNBOUNDED_MIN_SLOPE_RATIO × the
//        slope over the first third.
//  (ii)  β = TARGET_BETA (or the nearest β > 0): KL is bounded — the KL change over the last third
//        (slope × duration) is ≤ BOUNDED_REL_CHANGE × its mean level there, or that level is under
//        KL_NOISE_FLOOR — and the reward gain is smaller than the β = 0 run's.
//  (iii) base retention increases with β: Spearman(β, retention) ≥ RETENTION_RHO_SUPPORT; ≤ 0 rejects;
//        a retention spread under RETENTION_NOISE is inconclusive.
//  (iv)  smooth trade-off rather than a sharp switch: the largest retention jump between adjacent β
//        is < SHARP_SWITCH_SHARE of the group's retention spread.
//  (v)   an operating point keeps both: among runs with retention ≥ MIN_RETENTION and task accuracy ≥
//        MIN_TASK_SHARE × the sweep's best task accuracy, the one with the highest task accuracy; and
//        whether replay-KL (or both) finds one where task-KL does not.
import { betaLabel, fixed, sig, signed } from "./format";
import { movingAverage, smoothWindow } from "./metrics";
import { edgeMeans, mean, olsSlope, spearman, thirds } from "./stats";
import { KL_ON_ORDER, type KlOn, type RunCurves, type SweepRunSummary } from "./types";

/** Share of a reward curve's points averaged at each end for "first vs last". */
export const REWARD_EDGE_FRACTION = 0.1;
/** Smallest reward/accuracy gain (absolute, reward units) that counts as "rose". */
export const MIN_REWARD_RISE = 0.02;
/** Spearman(step, KL) at or above this counts as growing monotonically-ish. */
export const MONOTONE_MIN_RHO = 0.7;
/** Last-third KL slope at least this fraction of the first-third slope = still growing, no plateau. */
export const UNBOUNDED_MIN_SLOPE_RATIO = 0.25;
/** KL change over the last third at most this fraction of its mean level there = bounded. */
export const BOUNDED_REL_CHANGE = 0.1;
/** Mean KL (nats/token) below which the curve is bounded whatever its relative slope (noise). */
export const KL_NOISE_FLOOR = 1e-3;
/** The β the literature claims keeps KL bounded. */
export const TARGET_BETA = 0.5;
/** Spearman(β, retention) at or above this supports "retention increases with β". */
export const RETENTION_RHO_SUPPORT = 0.7;
/** Spearman(β, retention) at or below this rejects it. */
export const RETENTION_RHO_REJECT = 0;
/** Retention spread (max − min) below this is within evaluation noise. */
export const RETENTION_NOISE = 0.02;
/** One adjacent-β jump carrying at least this share of the retention spread = sharp switch. */
export const SHARP_SWITCH_SHARE = 0.6;
/** Operating point: base retention at least this. */
export const MIN_RETENTION = 0.9;
/** Operating point: task accuracy at least this fraction of the best in the sweep. */
export const MIN_TASK_SHARE = 0.8;

export type Verdict = "SUPPORTED" | "NOT SUPPORTED" | "INCONCLUSIVE";

/** One tested claim for one kl-on group ("all" for cross-group comparisons). */
export interface Finding {
  claim: "i" | "ii" | "iii" | "iv" | "v" | "vi" | "vii";
  klOn: KlOn | "all";
  /** GRPO sweeps with --kl-variants: the estimator:placement the finding was computed on, e.g. "k3:loss". */
  variant?: string;
  verdict: Verdict;
  /** The numbers behind the verdict, one sentence. */
  detail: string;
}

/** Headings for the claims, in report order. */
export const CLAIMS: Record<Finding["claim"], string> = {
  i: "At β = 0 reward rises and KL grows without bound",
  ii: `At β = ${TARGET_BETA} KL stays bounded while reward grows slower than at β = 0`,
  iii: "Base-task retention is higher with larger β",
  iv: "Retention follows a smooth trade-off in β, not a sharp switch",
  v:
    `An operating point keeps both (retention ≥ ${MIN_RETENTION}, task accuracy ≥ ${MIN_TASK_SHARE} × best), ` +
    "and replay-KL finds one where task-KL does not",
  vi: "GRPO: reward rises fastest at β = 0",
  vii: "GRPO: one KL placement (k3 in the loss vs k1 in the reward) anchors tighter at every β > 0",
};

interface KlTrend {
  rho: number;
  slopeFirst: number;
  slopeLast: number;
  meanLast: number;
  relChangeLast: number;
  start: number;
  end: number;
}

function klTrend(c: RunCurves): KlTrend {
  // Batch KL is noisy step to step: trend tests use the same moving average the plot shows.
  const raw = c.kl.points;
  const p = c.kl.source === "kl" ? { step: raw.step, value: movingAverage(raw.value, smoothWindow(raw.value.length)) } : raw;
  const t = thirds(p);
  const slopeLast = olsSlope(t.last.step, t.last.value);
  // |mean|: a k1 batch estimate of KL can average below zero.
  const meanLast = Math.abs(mean(t.last.value));
  return {
    rho: spearman(p.step, p.value),
    slopeFirst: olsSlope(t.first.step, t.first.value),
    slopeLast,
    meanLast,
    relChangeLast: (slopeLast * t.span) / meanLast,
    start: p.value[0] ?? NaN,
    end: p.value[p.value.length - 1] ?? NaN,
  };
}

/** First vs last REWARD_EDGE_FRACTION mean of the run's reward curve, and their difference. */
export function rewardGain(c: RunCurves): { first: number; last: number; gain: number } {
  const v = c.reward.points.value;
  if (v.length < 2) return { first: NaN, last: NaN, gain: NaN };
  const e = edgeMeans(v, REWARD_EDGE_FRACTION);
  return { ...e, gain: e.last - e.first };
}

const isBounded = (t: KlTrend): boolean => t.meanLast <= KL_NOISE_FLOOR || t.relChangeLast <= BOUNDED_REL_CHANGE;
const klText = (c: RunCurves, t: KlTrend): string =>
  `KL (${c.kl.source}) ${sig(t.start)} → ${sig(t.end)} nats/token, Spearman(step, KL) = ${fixed(t.rho, 2)}, ` +
  `slope first third ${sig(t.slopeFirst)}, last third ${sig(t.slopeLast)} nats/token/step`;
const rewardText = (c: RunCurves, r: ReturnType<typeof rewardGain>): string =>
  `${c.reward.source} ${fixed(r.first, 3)} → ${fixed(r.last, 3)} (${signed(r.gain, 3)})`;

function claimOne(run: SweepRunSummary, c: RunCurves): Finding {
  const r = rewardGain(c);
  const t = klTrend(c);
  const ratio = t.slopeLast / t.slopeFirst;
  const rose = r.gain >= MIN_REWARD_RISE;
  const unbounded = t.rho >= MONOTONE_MIN_RHO && t.slopeFirst > 0 && ratio >= UNBOUNDED_MIN_SLOPE_RATIO;
  const known = [r.gain, t.rho, t.slopeFirst, t.slopeLast].every(Number.isFinite);
  const verdict: Verdict = !known ? "INCONCLUSIVE" : rose && unbounded ? "SUPPORTED" : "NOT SUPPORTED";
  const detail =
    `\`${run.id}\`: reward ${rose ? "rose" : "did not rise"}, ${rewardText(c, r)}; ` +
    `KL ${unbounded ? "still growing" : "not growing without bound"}: ${klText(c, t)} ` +
    `(ratio ${fixed(ratio, 2)}, needs Spearman ≥ ${MONOTONE_MIN_RHO} and ratio ≥ ${UNBOUNDED_MIN_SLOPE_RATIO}).`;
  return { claim: "i", klOn: run.klOn, verdict, detail };
}

function claimTwo(group: SweepRunSummary[], klOn: KlOn, all: SweepRunSummary[], curves: Map<string, RunCurves>): Finding {
  const positive = group.filter((r) => r.beta > 0);
  if (positive.length === 0) return { claim: "ii", klOn, verdict: "INCONCLUSIVE", detail: "no run with β > 0." };
  const run = positive.reduce((a, b) => (Math.abs(b.beta - TARGET_BETA) < Math.abs(a.beta - TARGET_BETA) ? b : a));
  const base = group.find((r) => r.beta === 0) ?? all.find((r) => r.beta === 0);
  const c = curves.get(run.id)!;
  const t = klTrend(c);
  const bounded = isBounded(t);
  const r = rewardGain(c);
  const r0 = base ? rewardGain(curves.get(base.id)!) : undefined;
  const slower = r0 !== undefined && r.gain < r0.gain;
  const klKnown = t.meanLast <= KL_NOISE_FLOOR || Number.isFinite(t.relChangeLast);
  const known = klKnown && Number.isFinite(r.gain) && r0 !== undefined && Number.isFinite(r0.gain);
  const verdict: Verdict = !known ? "INCONCLUSIVE" : bounded && slower ? "SUPPORTED" : "NOT SUPPORTED";
  const nearest = run.beta === TARGET_BETA ? "" : ` (nearest β to ${TARGET_BETA})`;
  const runner = run.klBounded === undefined ? "" : ` The runner's own flag says KL ${run.klBounded ? "bounded" : "unbounded"}.`;
  const detail =
    `\`${run.id}\`${nearest}: KL ${bounded ? "bounded" : "not bounded"}: ${klText(c, t)}, change over the last third ` +
    `${fixed(100 * t.relChangeLast, 1)}% of its level (bounded if ≤ ${100 * BOUNDED_REL_CHANGE}% or level ≤ ${KL_NOISE_FLOOR}); ` +
    `reward ${rewardText(c, r)} vs β = 0 ${base && r0 ? `\`${base.id}\` ${rewardText(curves.get(base.id)!, r0)}` : "n/a (no β = 0 run)"}` +
    ` — ${slower ? (r.gain < MIN_REWARD_RISE ? "slower (it did not rise at all)" : "slower") : "not slower"}.${runner}`;
  return { claim: "ii", klOn, verdict, detail };
}

/** Mean retention per distinct β (repeated seeds average), ascending β. */
function byBeta(group: SweepRunSummary[]): { beta: number; retention: number }[] {
  const betas = [...new Set(group.map((r) => r.beta))].sort((a, b) => a - b);
  return betas.map((beta) => ({ beta, retention: mean(group.filter((r) => r.beta === beta).map((r) => r.baseRetention)) }));
}

function claimThreeFour(group: SweepRunSummary[], klOn: KlOn): Finding[] {
  const pts = byBeta(group);
  const ret = pts.map((p) => p.retention);
  const spread = Math.max(...ret) - Math.min(...ret);
  const listing = pts.map((p) => `β=${betaLabel(p.beta)}: ${fixed(p.retention, 3)}`).join(", ");
  if (pts.length < 3 || !ret.every(Number.isFinite)) {
    const why = `needs ≥ 3 distinct β with retention, have ${listing || "none"}.`;
    return [
      { claim: "iii", klOn, verdict: "INCONCLUSIVE", detail: why },
      { claim: "iv", klOn, verdict: "INCONCLUSIVE", detail: why },
    ];
  }
  const noisy = spread < RETENTION_NOISE;
  const rho = spearman(group.map((r) => r.beta), group.map((r) => r.baseRetention));
  const three: Verdict =
    noisy || !Number.isFinite(rho) ? "INCONCLUSIVE"
    : rho >= RETENTION_RHO_SUPPORT ? "SUPPORTED"
    : rho <= RETENTION_RHO_REJECT ? "NOT SUPPORTED"
    : "INCONCLUSIVE";
  let at = 1;
  for (let i = 1; i < pts.length; i++) {
    if (Math.abs(ret[i]! - ret[i - 1]!) > Math.abs(ret[at]! - ret[at - 1]!)) at = i;
  }
  const jump = ret[at]! - ret[at - 1]!;
  const share = Math.abs(jump) / spread;
  const sharp = share >= SHARP_SWITCH_SHARE;
  const four: Verdict = noisy ? "INCONCLUSIVE" : sharp ? "NOT SUPPORTED" : "SUPPORTED";
  const noise = noisy ? ` Spread ${fixed(spread, 3)} < ${RETENTION_NOISE}: within noise.` : "";
  return [
    {
      claim: "iii",
      klOn,
      verdict: three,
      detail:
        `Spearman(β, retention) = ${fixed(rho, 3)} over ${group.length} runs ` +
        `(supported ≥ ${RETENTION_RHO_SUPPORT}, rejected ≤ ${RETENTION_RHO_REJECT}); ${listing}.${noise}`,
    },
    {
      claim: "iv",
      klOn,
      verdict: four,
      detail:
        `largest adjacent jump β=${betaLabel(pts[at - 1]!.beta)} → ${betaLabel(pts[at]!.beta)}: ${signed(jump, 3)}, ` +
        `${fixed(100 * share, 0)}% of the spread ${fixed(spread, 3)} ` +
        `(${sharp ? "sharp switch if share ≥" : "smooth if share <"} ${100 * SHARP_SWITCH_SHARE}%).${noise}`,
    },
  ];
}

/**
 * The run that best keeps both, or undefined: retention ≥ MIN_RETENTION and task accuracy ≥
 * MIN_TASK_SHARE × `bestAccuracy` (> 0), highest task accuracy first, then retention, then smaller β.
 * @example operatingPoint(runs.filter((r) => r.klOn === "replay"), Math.max(...runs.map((r) => r.taskAccuracy)))
 */
export function operatingPoint(group: readonly SweepRunSummary[], bestAccuracy: number): SweepRunSummary | undefined {
  if (!(bestAccuracy > 0)) return undefined;
  const ok = group.filter((r) => r.baseRetention >= MIN_RETENTION && r.taskAccuracy >= MIN_TASK_SHARE * bestAccuracy);
  ok.sort((a, b) => b.taskAccuracy - a.taskAccuracy || b.baseRetention - a.baseRetention || a.beta - b.beta);
  return ok[0];
}

function claimFive(groups: Map<KlOn, SweepRunSummary[]>, all: SweepRunSummary[]): Finding[] {
  const best = Math.max(...all.map((r) => (Number.isFinite(r.taskAccuracy) ? r.taskAccuracy : -Infinity)));
  const out: Finding[] = [];
  const found = new Map<KlOn, SweepRunSummary | undefined>();
  for (const [klOn, group] of groups) {
    const op = operatingPoint(group, best);
    found.set(klOn, op);
    const detail = op
      ? `operating point \`${op.id}\` (β=${betaLabel(op.beta)}): task accuracy ${fixed(op.taskAccuracy, 3)}, retention ${fixed(op.baseRetention, 3)}.`
      : `none: no run has retention ≥ ${MIN_RETENTION} with task accuracy ≥ ${fixed(MIN_TASK_SHARE * best, 3)} (best in sweep ${fixed(best, 3)}).`;
    out.push({ claim: "v", klOn, verdict: op ? "SUPPORTED" : "NOT SUPPORTED", detail });
  }
  const task = groups.has("task");
  const anchored = (["replay", "both"] as const).filter((k) => groups.has(k));
  if (!task || anchored.length === 0) {
    const detail = "replay vs task comparison needs both a task-KL and a replay/both-KL group.";
    out.push({ claim: "v", klOn: "all", verdict: "INCONCLUSIVE", detail });
    return out;
  }
  const anchoredFinds = anchored.filter((k) => found.get(k) !== undefined);
  const taskFinds = found.get("task") !== undefined;
  const verdict: Verdict = anchoredFinds.length > 0 && !taskFinds ? "SUPPORTED" : "NOT SUPPORTED";
  const detail =
    `task-KL ${taskFinds ? "finds one" : "finds none"}; ` +
    anchored.map((k) => `${k}-KL ${found.get(k) ? "finds one" : "finds none"}`).join(", ") + ".";
  out.push({ claim: "v", klOn: "all", verdict, detail });
  return out;
}

/**
 * Test every claim on the sweep. `curves` maps run id → its KL and reward curves (see runCurves).
 * @example const findings = computeFindings(runs, new Map(runs.map((r) => [r.id, runCurves(readMetrics(p(r)), r.command)])));
 */
export function computeFindings(runs: readonly SweepRunSummary[], curves: Map<string, RunCurves>): Finding[] {
  const missing = runs.find((r) => !curves.has(r.id));
  if (missing) throw new Error(`computeFindings: no curves for run "${missing.id}"`);
  // A GRPO sweep over --kl-variants: every claim is tested within one estimator:placement at a time.
  const variants = [...new Set(runs.map((r) => r.klVariant))];
  if (variants.length > 1 || variants[0] !== undefined) {
    const tagged = variants.flatMap((v) => groupFindings(runs.filter((r) => r.klVariant === v), curves).map((f) => (v === undefined ? f : { ...f, variant: v })));
    // A sweep-wide ("all") finding that reads the same for every variant is listed once.
    return tagged.filter((f, i) => f.klOn !== "all" || tagged.findIndex((g) => g.klOn === "all" && g.claim === f.claim && g.detail === f.detail) === i);
  }
  return groupFindings(runs, curves);
}

function groupFindings(runs: readonly SweepRunSummary[], curves: Map<string, RunCurves>): Finding[] {
  const all = [...runs];
  const groups = new Map<KlOn, SweepRunSummary[]>();
  for (const k of KL_ON_ORDER) {
    const g = all.filter((r) => r.klOn === k);
    if (g.length > 0) groups.set(k, g);
  }
  const zero = all.filter((r) => r.beta === 0);
  const out: Finding[] =
    zero.length > 0
      ? zero.map((r) => claimOne(r, curves.get(r.id)!))
      : [{ claim: "i", klOn: "all", verdict: "INCONCLUSIVE", detail: "the sweep has no β = 0 run." }];
  for (const [klOn, g] of groups) out.push(claimTwo(g, klOn, all, curves));
  for (const [klOn, g] of groups) out.push(...claimThreeFour(g, klOn));
  out.push(...claimFive(groups, all));
  return out;
}
