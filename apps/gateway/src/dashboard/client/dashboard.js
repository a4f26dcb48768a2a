// Tether dashboard: token form → initial reads (/admin/checkpoints, /admin/alerts, /admin/drift) → live
// updates from /admin/alerts/stream (`alert` events upsert the list, `drift` events extend the charts).
import { createChart } from "./charts.js";
import { AuthError, getJson, openStream, token } from "./connection.js";
import { budgetOf, renderAlerts, renderCheckpoints, renderTiles } from "./render.js";

const $ = (id) => document.getElementById(id);
const WINDOW_S = { "1m": 60, "5m": 300, "1h": 3600 };

const state = {
  window: "5m",
  series: new Map(), // arm → Map(t seconds → bucket)
  alerts: new Map(), // id → AlertJson
  checkpoints: [],
  stream: null,
  charts: null,
  ticker: null,
};

// ---- theme: the system's, or the one chosen with the toggle (kept in localStorage) ----
function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  state.charts && Object.values(state.charts).forEach((c) => c.rebuild());
  drawSeries();
}
$("theme").addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  localStorage.setItem("tether.theme", next);
  applyTheme(next);
});
applyTheme(localStorage.getItem("tether.theme") ?? (matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark"));

// ---- token form ----
function showLogin(message = "") {
  state.stream?.stop();
  state.stream = null;
  $("app").hidden = true;
  $("signout").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  $("token").focus();
  setStatus("offline");
}
$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const value = $("token").value.trim();
  if (!value) return;
  token.set(value);
  $("token").value = "";
  start();
});
$("signout").addEventListener("click", () => {
  token.clear();
  showLogin("Signed out.");
});

function setStatus(s, detail = "") {
  $("status").dataset.state = s;
  $("status-text").textContent = s === "live" ? "live" : s === "retrying" ? "reconnecting…" : "offline";
  $("status").title = detail;
}

// ---- window picker ----
for (const b of document.querySelectorAll("#windows button")) {
  b.addEventListener("click", async () => {
    state.window = b.dataset.window;
    document.querySelectorAll("#windows button").forEach((x) => x.setAttribute("aria-pressed", String(x === b)));
    state.series.clear();
    await loadDrift().catch(fail);
  });
}

// ---- data ----
function mergeDrift(drift) {
  for (const arm of drift.arms ?? []) {
    let points = state.series.get(arm.arm);
    if (!points) state.series.set(arm.arm, (points = new Map()));
    for (const p of arm.series ?? []) points.set(Date.parse(p.t) / 1000, p);
  }
  // Keep what the chosen window shows; the stream's buckets extend it as time passes.
  const horizon = Date.now() / 1000 - WINDOW_S[state.window];
  for (const points of state.series.values()) for (const t of points.keys()) if (t < horizon) points.delete(t);
  drawSeries();
}

function drawSeries() {
  if (!state.charts) return;
  for (const c of Object.values(state.charts)) c.update(state.series);
}

async function loadDrift() {
  const drift = await getJson(`/admin/drift?window=${state.window}`);
  mergeDrift(drift);
  renderTiles($("tiles"), drift, budgetOf(state.checkpoints));
}

async function loadCheckpoints() {
  state.checkpoints = (await getJson("/admin/checkpoints")).data;
  renderCheckpoints($("checkpoints"), state.checkpoints);
  const budget = budgetOf(state.checkpoints);
  $("budget").textContent = budget ? `budget p95 ${budget.p95.toFixed(2)} · p99 ${budget.p99.toFixed(2)} nats` : "";
}

function onAlert(alert) {
  state.alerts.set(alert.id, alert);
  renderAlerts($("alerts"), state.alerts, alert.id);
  showThreshold();
  showCount();
}

function showCount() {
  const firing = [...state.alerts.values()].filter((a) => a.state === "firing").length;
  $("alert-count").textContent = `${firing} firing`;
  $("alert-count").hidden = firing === 0;
}

// The KL chart shows the threshold of the KL rule that is firing or pending, else of the latest one.
function showThreshold() {
  const kl = [...state.alerts.values()].filter((a) => a.metric === "kl_mean").sort((a, b) => (a.state === "resolved") - (b.state === "resolved") || b.id - a.id)[0];
  state.charts?.kl.setThreshold(kl ? kl.threshold : null);
}

function fail(error) {
  if (error instanceof AuthError) return showLogin(error.message);
  console.error(error);
  setStatus("retrying", error.message);
}

async function start() {
  if (!token.get()) return showLogin();
  $("login").hidden = true;
  $("app").hidden = false;
  $("signout").hidden = false;
  state.charts ??= {
    kl: createChart($("chart-kl"), { lines: [
      { arm: "active", key: "kl_mean", label: "active mean" },
      { arm: "active", key: "kl_p95", label: "active p95", dash: true },
      { arm: "canary", key: "kl_mean", label: "canary mean" },
      { arm: "canary", key: "kl_p95", label: "canary p95", dash: true },
    ], format: (v) => v.toFixed(v >= 10 ? 0 : 1) }),
    rejection: createChart($("chart-rejection"), { lines: [
      { arm: "active", key: "rejection_rate", label: "active" },
      { arm: "canary", key: "rejection_rate", label: "canary" },
    ], format: (v) => `${Math.round(100 * v)}%` }),
    sketch: createChart($("chart-sketch"), { lines: [
      { arm: "active", key: "sketch_p95", label: "active" },
      { arm: "canary", key: "sketch_p95", label: "canary" },
    ], format: (v) => v.toFixed(0), max: 100 }),
  };
  try {
    await loadCheckpoints();
    const alerts = await getJson("/admin/alerts?limit=100");
    state.alerts = new Map(alerts.data.map((a) => [a.id, a]));
    renderAlerts($("alerts"), state.alerts);
    showThreshold();
    showCount();
    await loadDrift();
  } catch (error) {
    return fail(error);
  }
  state.stream?.stop();
  state.stream = openStream({
    alert: onAlert,
    drift(drift) {
      mergeDrift(drift);
      renderTiles($("tiles"), drift, budgetOf(state.checkpoints));
    },
    status: setStatus,
    auth: showLogin,
  });
  // Relative times ("12s ago") and the registry (promotions change it) refresh on their own.
  clearInterval(state.ticker);
  let n = 0;
  state.ticker = setInterval(() => {
    renderAlerts($("alerts"), state.alerts);
    if (++n % 6 === 0) loadCheckpoints().catch(fail);
  }, 5000);
}

start();
