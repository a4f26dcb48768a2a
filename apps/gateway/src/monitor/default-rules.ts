// The rules a gateway runs when its config names none: every threshold is relative to the reference's own
// distribution, none is a free constant. They rest on two percentiles:
//   P_REF = 99: the drift guard's default max_kl percentile — a healthy policy exceeds eval.json's p99 of
//          per-request KL on 1% of requests;
//   P_WIN = 95: the window statistic watched — the window's p95 is above eval's p99 exactly when more than
//          5% of the window's requests are, i.e. EXCESS = (1 − 0.95)/(1 − 0.99) = 5× the healthy share.
// min_samples = 1/(1 − 0.95) = 20: the smallest window whose p95 is not simply its maximum; for rates with
// expected value p, 1/p observations (one expected event) before a rate is trusted.
// for = 60 s = six 10-s slots: the condition must survive six fresh slots of traffic, so one burst inside
// one slot cannot fire a rule (and, symmetric, cannot resolve one).
import { alertRule, type AlertRuleConfig } from "@tether/shared/schemas/alerts";
import type { EvalReport } from "@tether/shared/schemas/eval";

const P_REF = 99;
const P_WIN = 95;
const EXCESS = (1 - P_WIN / 100) / (1 - P_REF / 100); // 5
const MIN_SAMPLES = Math.ceil(1 / (1 - P_WIN / 100)); // 20
const FOR = "60s";
const WINDOW = "5m"; // 30 slots of 10 s: long enough for MIN_SAMPLES at ≥ 4 requests/min, short enough to react within minutes

/**
 * @example defaultAlertRules(policyEval, true).map((r) => r.name)
 * // ["kl-mean-p95-high", "kl-mean-critical", "kl-max-p95-high", "rejection-rate-high", "sketch-p95-high-layer-6", …]
 */
export function defaultAlertRules(ev: EvalReport | null, hasSketch: boolean): AlertRuleConfig[] {
  const rules: unknown[] = [];
  const base = { window: WINDOW, comparison: ">", min_samples: MIN_SAMPLES, for: FOR };
  if (ev) {
    // More than 5% of requests drift past what only 1% of held-out requests reached.
    rules.push({ ...base, name: "kl-mean-p95-high", metric: "kl_mean", statistic: `p${P_WIN}`, threshold: { from: "eval", percentile: P_REF }, severity: "warning" });
    // The AVERAGE request is past the held-out p99: the whole distribution moved, not a tail. The canary
    // rollback (promotions) acts on this one.
    rules.push({ ...base, name: "kl-mean-critical", metric: "kl_mean", statistic: "mean", threshold: { from: "eval", percentile: P_REF }, severity: "critical", auto_rollback: true });
    if (ev.kl.per_request_kl_max) {
      rules.push({ ...base, name: "kl-max-p95-high", metric: "kl_max", statistic: `p${P_WIN}`, threshold: { from: "eval", percentile: P_REF }, severity: "warning" });
    }
    // Candidates refused EXCESS× as often as a healthy policy would be under the same max_kl (1 − F(max_kl));
    // at P_REF that is 5 × 1% = 5%, trusted after 1/1% = 100 candidates.
    rules.push({ ...base, name: "rejection-rate-high", metric: "rejection_rate", statistic: "rate", threshold: { from: "guard", times: EXCESS }, min_samples: Math.ceil(1 / (1 - P_REF / 100)), severity: "warning" });
  }
  if (hasSketch && ev?.sketch) {
    // Per monitored layer: more than 5% of requests score past what only 1% of the approved policy's own
    // held-out requests reached. Not the reference's percentiles themselves: those are uniform on 0–100 only
    // for traffic like the calibration set (by default the reference's base corpus). Measured on the demo pair
    // as it was calibrated then (base corpus only; models/demo now calibrates on both tasks), 100
    // held-out prompts each: the reference answering base-corpus prompts scores p50 52, p95 96, 2% above 99
    // (calibrated); the reference itself answering the new task's prompts scores p50 100 (63–100% above 99),
    // so a rule at the reference's p99 fires on healthy traffic whatever the policy does.
    // A layer whose held-out p99 is already 100 gets no rule: no window statistic can exceed 100, so the rule
    // could never fire (the healthy policy itself sits at the top of the reference's calibration there).
    for (const { layer, distribution } of ev.sketch.per_request_percentile) {
      if ((distribution.quantiles.find((p) => p.q === P_REF / 100)?.value ?? distribution.max) >= 100) continue;
      rules.push({ ...base, name: `sketch-p95-high-layer-${layer}`, metric: "sketch_percentile", layer, statistic: `p${P_WIN}`, threshold: { from: "eval", percentile: P_REF }, severity: "warning" });
    }
  }
  // Without eval.json's sketch distribution there is no default sketch rule: configure one with
  // {from: "sketch"} when sketch.json was calibrated on traffic like the gateway's (trainer `export --data`).
  // No latency or request-rate default: the reference has no distribution for them to be relative to.
  return rules.map((r) => alertRule.parse(r));
}
