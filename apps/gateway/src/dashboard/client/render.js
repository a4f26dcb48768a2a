// DOM rendering of the dashboard's panels (arm tiles, alert list, checkpoints) from the admin API's JSON.
// Text goes through textContent (h()), never innerHTML: rule names and checkpoint ids come from config files.

/** h("div", { class: "x" }, "text", child) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null && v !== false) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export const fmt = {
  kl: (v) => (v === null || v === undefined ? "—" : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)),
  pct: (v) => (v === null || v === undefined ? "—" : `${(100 * v).toFixed(v > 0 && v < 0.1 ? 1 : 0)}%`),
  ms: (v) => (v === null || v === undefined ? "—" : v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`),
  rate: (v) => (v === null || v === undefined ? "—" : v >= 10 ? v.toFixed(0) : v.toFixed(1)),
  ago(iso, now = Date.now()) {
    if (!iso) return "";
    const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
    if (s < 60) return `${s}s ago`;
    if (s < 3600) return `${Math.floor(s / 60)}m ago`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
    return `${Math.floor(s / 86400)}d ago`;
  },
};

const stat = (label, value, unit = "", level = "") => h("div", { class: `stat ${level}` }, h("div", { class: "v" }, value, unit ? h("small", {}, ` ${unit}`) : null), h("div", { class: "k" }, label));

/** One tile per arm of a drift JSON, judged against the KL budget (eval.json p95/p99) when known. */
export function renderTiles(root, drift, budget) {
  const arms = drift?.arms ?? [];
  root.replaceChildren(
    ...(arms.length === 0
      ? [h("div", { class: "panel empty" }, "No traffic in the last ", drift?.window ?? "window", " yet — send a request to /v1/completions.")]
      : arms.map((a) => {
          const level = budget && a.kl_mean?.p95 > budget.p99 ? "bad" : budget && a.kl_mean?.p95 > budget.p95 ? "warn" : "";
          return h(
            "section",
            { class: "panel tile", "data-arm": a.arm },
            h("div", { class: "arm-head" }, h("span", { class: "swatch", style: `background: var(--${a.arm === "canary" ? "canary" : "active"})` }), h("span", { class: "name" }, a.arm), h("span", { class: "ckpt mono", title: a.checkpoint_id }, a.checkpoint_id)),
            h(
              "div",
              { class: "stats" },
              stat(`KL mean · ${drift.window}`, fmt.kl(a.kl_mean?.mean), "nats"),
              stat("KL p95", fmt.kl(a.kl_mean?.p95), "nats", level),
              stat("KL max", fmt.kl(a.kl_max), "nats"),
              stat("rejected", fmt.pct(a.rejection_rate), "", a.rejection_rate > 0.5 ? "warn" : ""),
              stat("requests", String(a.requests), `${fmt.rate(a.request_rate)}/s`),
              stat("latency p95", fmt.ms(a.latency_ms?.p95)),
            ),
            h("div", { class: "layers" }, ...(a.sketch ?? []).map((s) => h("span", { class: "chip", title: "activation sketch score as a percentile of the reference's calibration" }, `layer ${s.layer} · p95 ${Math.round(s.p95)}th pct`))),
          );
        })),
  );
}

const ORDER = { firing: 0, pending: 1, resolved: 2 };

/** Alerts sorted firing → pending → resolved, newest first within a state. */
export function renderAlerts(root, alerts, flashId) {
  const list = [...alerts.values()].sort((a, b) => ORDER[a.state] - ORDER[b.state] || lastChange(b) - lastChange(a)).slice(0, 50);
  if (list.length === 0) return root.replaceChildren(h("li", { class: "empty" }, "No alerts. Rules are evaluated on every window; transitions appear here live."));
  root.replaceChildren(
    ...list.map((a) =>
      h(
        "li",
        { class: `alert${a.id === flashId ? " flash" : ""}`, "data-state": a.state, "data-id": a.id },
        h("span", { class: `pill ${a.state}` }, a.state),
        h("span", { class: "rule", title: a.rule }, a.rule),
        h("span", { class: "when", title: new Date(lastChange(a)).toISOString() }, fmt.ago(new Date(lastChange(a)).toISOString())),
        h("span", { class: "cond" }, h("span", { class: `pill sev ${a.severity}` }, a.severity), ` ${a.statistic}(${a.metric}, ${a.window}) = `, h("b", {}, fmt.kl(a.value)), ` ${a.comparison} ${fmt.kl(a.threshold)} · ${a.arm} · `, h("span", { class: "mono" }, a.checkpoint_id ?? "—"), ` · ${a.samples} samples`),
      ),
    ),
  );
}

function lastChange(a) {
  return Date.parse(a.resolved_at ?? a.fired_at ?? a.pending_since ?? 0) || 0;
}

const quantile = (ev, q) => ev?.kl?.per_request_kl_mean?.quantiles?.find((x) => x.q === q)?.value ?? null;

/** The KL budget of the served policy from its eval.json: per-request kl_mean p95 and p99. */
export function budgetOf(checkpoints) {
  const active = checkpoints.find((c) => c.status === "active" && c.kind === "policy");
  const p95 = quantile(active?.eval, 0.95);
  const p99 = quantile(active?.eval, 0.99);
  return p95 === null || p99 === null ? null : { p95, p99 };
}

/** Active and canary policies first, then the reference and the rest. */
export function renderCheckpoints(root, checkpoints) {
  const rank = { active: 0, canary: 1, registered: 2, retired: 3 };
  const list = [...checkpoints].sort((a, b) => (rank[a.status] ?? 9) - (rank[b.status] ?? 9) || (a.kind === "policy" ? -1 : 1));
  if (list.length === 0) return root.replaceChildren(h("div", { class: "empty" }, "No checkpoints registered."));
  root.replaceChildren(
    ...list.map((c) => {
      const ev = c.eval;
      const kl = ev?.kl?.per_request_kl_mean;
      return h(
        "div",
        { class: "ckpt-card", "data-status": c.status },
        h("div", { class: "top" }, h("span", { class: `badge ${c.status}` }, c.status === "canary" && c.canary_percent !== null ? `canary ${c.canary_percent}%` : c.status), h("span", { class: "badge" }, c.kind), h("span", { class: "id mono" }, c.id)),
        ev
          ? h(
              "div",
              { class: "evals" },
              ...[
                ["KL mean", fmt.kl(kl?.mean)],
                ["KL p50", fmt.kl(quantile(ev, 0.5))],
                ["KL p95", fmt.kl(quantile(ev, 0.95))],
                ["KL p99", fmt.kl(quantile(ev, 0.99))],
                ["task acc.", fmt.pct(ev.task?.accuracy)],
                ["base acc.", fmt.pct(ev.base?.accuracy)],
                ["retention", fmt.pct(ev.base?.retention)],
                ["held-out", `${ev.held_out?.samples ?? "—"}`],
              ].map(([k, v]) => h("div", {}, h("div", { class: "k" }, k), h("div", { class: "v" }, v))),
            )
          : h("div", { class: "empty" }, c.kind === "reference" ? "frozen reference: every answer is scored against it" : "no eval.json"),
      );
    }),
  );
}
