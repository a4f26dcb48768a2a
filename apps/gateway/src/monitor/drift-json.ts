// GET /admin/drift's body (and the SSE `event: drift` payload): the figures of one window per
// (checkpoint, arm), with a per-slot series for charts. Quantiles carry LogHistogram's 1% relative error;
// null = no observation in the window.
import type { LogHistogram } from "./log-histogram";
import type { Summary } from "./summary";
import { WINDOWS, type WindowName, type WindowView } from "./windows";

const ratio = (a: number, b: number) => (b === 0 ? null : a / b);

function worstSketchP95(s: Summary): number | null {
  let worst: number | null = null;
  for (const h of s.sketch.values()) {
    const v = h.quantile(0.95);
    if (v !== null && (worst === null || v > worst)) worst = v;
  }
  return worst;
}

function quantiles(h: LogHistogram, qs: number[]): Record<string, number | null> {
  return Object.fromEntries(qs.map((q) => [`p${Math.round(q * 100)}`, h.quantile(q)]));
}

function armJson(v: WindowView) {
  const s = v.total;
  const seconds = WINDOWS[v.window].seconds;
  return {
    arm: v.arm,
    checkpoint_id: v.checkpointId,
    requests: s.requests,
    request_rate: s.requests / seconds,
    kl_mean: { mean: s.klMean.mean(), ...quantiles(s.klMean, [0.5, 0.95]) },
    kl_max: s.klMax.count ? s.klMax.max : null,
    rejection_rate: ratio(s.rejectedCandidates, s.candidates),
    fallback_rate: {
      reference: ratio(s.fallback.reference, s.guarded),
      least_kl: ratio(s.fallback.least_kl, s.guarded),
      reject: ratio(s.fallback.reject, s.guarded),
    },
    latency_ms: quantiles(s.latency, [0.5, 0.95, 0.99]),
    sketch: [...s.sketch.entries()].sort(([a], [b]) => a - b).map(([layer, h]) => ({ layer, ...quantiles(h, [0.5, 0.95]) })),
    series: v.series.map(({ start, summary: x }) => ({
      t: new Date(start).toISOString(),
      requests: x?.requests ?? 0,
      kl_mean: x ? x.klMean.mean() : null,
      kl_p95: x ? x.klMean.quantile(0.95) : null,
      rejection_rate: x ? ratio(x.rejectedCandidates, x.candidates) : null,
      sketch_p95: x ? worstSketchP95(x) : null,
    })),
  };
}

export type DriftJson = ReturnType<typeof driftJson>;

/** @example driftJson("5m", monitor.view("5m"), Date.now()).arms[0].kl_mean.p95 */
export function driftJson(window: WindowName, views: WindowView[], now: number) {
  const order = (a: WindowView, b: WindowView) => (a.arm === b.arm ? a.checkpointId.localeCompare(b.checkpointId) : a.arm === "active" ? -1 : 1);
  return {
    object: "drift" as const,
    window,
    window_s: WINDOWS[window].seconds,
    generated_at: new Date(now).toISOString(),
    bucket_s: WINDOWS[window].slotSeconds,
    arms: [...views].sort(order).map(armJson),
  };
}
