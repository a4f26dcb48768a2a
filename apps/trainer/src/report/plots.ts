// The sweep's PNG plots: vega-lite specs compiled to vega, rendered headless to SVG (renderer "none",
// no canvas), then rasterised by resvg with the DejaVu fonts passed explicitly so output is the same on
// every machine that has them (system fonts otherwise).
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Resvg } from "@resvg/resvg-js";
import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { movingAverage, smoothWindow } from "./metrics";
import { PLOT_FILES, runGroup, type CurveSource, type PlotName, type RunCurves, type SweepRunSummary } from "./types";

/** Most points drawn per run and curve; longer curves are thinned evenly (after smoothing). */
export const MAX_PLOT_POINTS = 300;
/** Plot area in CSS px; the PNG is rendered at PNG_ZOOM× for legibility. */
const WIDTH = 560;
const HEIGHT = 340;
const PNG_ZOOM = 2;
const FONT_DIR = "/usr/share/fonts/truetype/dejavu";
const FONT_FILES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"].map((f) => join(FONT_DIR, f));
const KL_UNIT = "nats/token";


const CONFIG = {
  font: "DejaVu Sans",
  background: "white",
  title: { fontSize: 15, subtitleFontSize: 11, subtitleColor: "#555" },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
};
// Ordinal β colours from dark to mid viridis; the pale yellow end is unreadable on white.
const BETA_COLOR = { field: "beta", type: "ordinal", title: "β", scale: { scheme: { name: "viridis", extent: [0, 0.85] } } } as const;
const KL_ON_DASH = { field: "klOn", type: "nominal", title: "KL on" } as const;

const SOURCE_TEXT: Record<CurveSource, string> = {
  heldout_kl: "held-out KL (eval lines)",
  kl: "training-batch KL (moving average)",
  reward: "GRPO step reward (moving average)",
  task_accuracy: "new-task held-out accuracy (eval lines)",
  none: "no data",
};

type Row = { id: string; beta: number; klOn: string; step: number; value: number };

/** One row per plotted point: step-sourced curves are smoothed, then thinned to MAX_PLOT_POINTS. */
function curveRows(runs: readonly SweepRunSummary[], curves: Map<string, RunCurves>, which: "kl" | "reward"): Row[] {
  const rows: Row[] = [];
  for (const r of runs) {
    const c = curves.get(r.id)?.[which];
    if (!c) continue;
    const { step } = c.points;
    const stepSourced = c.source === "kl" || c.source === "reward";
    const value = stepSourced ? movingAverage(c.points.value, smoothWindow(step.length)) : c.points.value;
    const stride = Math.ceil(step.length / MAX_PLOT_POINTS);
    for (let i = 0; i < step.length; i++) {
      if (i % stride !== 0 && i !== step.length - 1) continue;
      rows.push({ id: r.id, beta: r.beta, klOn: runGroup(r), step: step[i]!, value: value[i]! });
    }
  }
  return rows;
}

function sourcesLine(runs: readonly SweepRunSummary[], curves: Map<string, RunCurves>, which: "kl" | "reward"): string {
  const used = new Set(runs.map((r) => curves.get(r.id)?.[which].source ?? "none"));
  return [...used].map((s) => SOURCE_TEXT[s]).join("; ");
}

function lineSpec(title: string, subtitle: string, yTitle: string, rows: Row[]): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, subtitle },
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    data: { values: rows },
    mark: { type: "line", strokeWidth: 2 },
    encoding: {
      x: { field: "step", type: "quantitative", title: "training step" },
      y: { field: "value", type: "quantitative", title: yTitle },
      color: BETA_COLOR,
      strokeDash: KL_ON_DASH,
      detail: { field: "id", type: "nominal" },
    },
  };
}

/**
 * (a) KL to the reference vs step, one line per run: colour = β, dash = kl-on.
 * @example const svg = await renderSvg(klVsStepSpec(runs, curves));
 */
export function klVsStepSpec(runs: readonly SweepRunSummary[], curves: Map<string, RunCurves>): TopLevelSpec {
  const sub = sourcesLine(runs, curves, "kl");
  return lineSpec("KL(policy ‖ reference) vs step", sub, `mean token KL (${KL_UNIT})`, curveRows(runs, curves, "kl"));
}

/**
 * (b) Reward vs step (GRPO step reward, else new-task accuracy from eval lines), same encoding as (a).
 * @example const svg = await renderSvg(rewardVsStepSpec(runs, curves));
 */
export function rewardVsStepSpec(runs: readonly SweepRunSummary[], curves: Map<string, RunCurves>): TopLevelSpec {
  const sub = sourcesLine(runs, curves, "reward");
  const y = runs.every((r) => r.command === "sft") ? "new-task accuracy (fraction)" : "task reward (GRPO) / accuracy (SFT)";
  return lineSpec("Task reward vs step", sub, y, curveRows(runs, curves, "reward"));
}

/** y of the end-of-run plot: accuracy when every run is SFT (its reward is accuracy), else reward. */
function finalTaskMeasure(runs: readonly SweepRunSummary[]): { key: "taskAccuracy" | "taskReward"; title: string } {
  return runs.every((r) => r.command === "sft")
    ? { key: "taskAccuracy", title: "final new-task accuracy (fraction)" }
    : { key: "taskReward", title: "final task reward" };
}

/**
 * (c) Final held-out KL (x) vs final task reward/accuracy (y), one labelled point per run; points of a
 * kl-on group are joined in β order to show the trade-off path.
 * @example const svg = await renderSvg(klVsRewardSpec(runs));
 */
export function klVsRewardSpec(runs: readonly SweepRunSummary[]): TopLevelSpec {
  const m = finalTaskMeasure(runs);
  const values = runs.map((r) => ({ id: r.id, klOn: runGroup(r), beta: r.beta, label: `β=${r.beta}`, kl: r.finalKl, y: r[m.key] }));
  // 12% head-room on x keeps the right-most point's β label clear of the legend.
  const kls = runs.map((r) => r.finalKl).filter(Number.isFinite);
  const maxKl = Math.max(0, ...kls);
  const scale = maxKl > 0 ? { domainMin: Math.min(0, ...kls), domainMax: 1.12 * maxKl } : {};
  const x = { field: "kl", type: "quantitative", title: `final held-out KL (${KL_UNIT})`, scale } as const;
  const y = { field: "y", type: "quantitative", title: m.title } as const;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: "Final KL vs final task performance", subtitle: "one point per run, labelled by β" },
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    data: { values },
    encoding: { x, y, color: { field: "klOn", type: "nominal", title: "KL on" } },
    layer: [
      { mark: { type: "line", strokeWidth: 1, opacity: 0.5 }, encoding: { order: { field: "beta", type: "quantitative" } } },
      { mark: { type: "point", filled: true, size: 90 }, encoding: { shape: { field: "klOn", type: "nominal", title: "KL on" } } },
      { mark: { type: "text", dx: 8, dy: -8, align: "left", fontSize: 11 }, encoding: { text: { field: "label" } } },
    ],
  };
}

/**
 * (d) Base retention and new-task accuracy vs β on a symlog x axis (β = 0 stays on the axis; the
 * linear region ends at the smallest positive β), one line per kl-on × measure.
 * @example const svg = await renderSvg(retentionVsBetaSpec(runs));
 */
export function retentionVsBetaSpec(runs: readonly SweepRunSummary[]): TopLevelSpec {
  const betas = [...new Set(runs.map((r) => r.beta))].sort((a, b) => a - b);
  const constant = betas.find((b) => b > 0) ?? 1;
  const values = runs.flatMap((r) => [
    { klOn: runGroup(r), beta: r.beta, measure: "base retention", value: r.baseRetention },
    { klOn: runGroup(r), beta: r.beta, measure: "new-task accuracy", value: r.taskAccuracy },
  ]);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: "Base retention and task accuracy vs β", subtitle: "retention = base accuracy / reference base accuracy" },
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    data: { values },
    encoding: {
      x: {
        field: "beta",
        type: "quantitative",
        title: "β (KL coefficient, symlog scale)",
        scale: { type: "symlog", constant },
        axis: { values: betas, format: "~g" },
      },
      y: { field: "value", type: "quantitative", title: "fraction" },
      color: { field: "measure", type: "nominal", title: "measure" },
      detail: { field: "klOn", type: "nominal" },
    },
    // strokeDash only on the line layer, so its legend shows dashes rather than point symbols.
    layer: [
      { mark: { type: "line", strokeWidth: 2 }, encoding: { strokeDash: KL_ON_DASH, order: { field: "beta", type: "quantitative" } } },
      { mark: { type: "point", filled: true, size: 50 } },
    ],
  };
}

/**
 * Compile a vega-lite spec and render it to an SVG string without a browser or canvas.
 * @example const svg = await renderSvg(retentionVsBetaSpec(runs)); // "<svg …"
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Rasterise an SVG to PNG bytes at PNG_ZOOM×, with the DejaVu fonts when installed.
 * @example writeFileSync("plot.png", svgToPng(svg));
 */
export function svgToPng(svg: string): Buffer {
  const files = FONT_FILES.filter((f) => existsSync(f));
  const font =
    files.length > 0
      ? { fontFiles: files, loadSystemFonts: false, defaultFontFamily: "DejaVu Sans" }
      : { loadSystemFonts: true };
  const resvg = new Resvg(svg, { font, fitTo: { mode: "zoom", value: PNG_ZOOM }, background: "white" });
  return resvg.render().asPng();
}

/**
 * Render all four plots into `dir` and return their absolute-or-as-given paths by name.
 * @example const paths = await writePlots("report", runs, curves); // paths.klVsStep === "report/kl_vs_step.png"
 */
export async function writePlots(
  dir: string,
  runs: readonly SweepRunSummary[],
  curves: Map<string, RunCurves>,
): Promise<Record<PlotName, string>> {
  mkdirSync(dir, { recursive: true });
  const specs: Record<PlotName, TopLevelSpec> = {
    klVsStep: klVsStepSpec(runs, curves),
    rewardVsStep: rewardVsStepSpec(runs, curves),
    klVsReward: klVsRewardSpec(runs),
    retentionVsBeta: retentionVsBetaSpec(runs),
  };
  const out = {} as Record<PlotName, string>;
  for (const name of Object.keys(specs) as PlotName[]) {
    const path = join(dir, PLOT_FILES[name]);
    writeFileSync(path, svgToPng(await renderSvg(specs[name])));
    out[name] = path;
  }
  return out;
}
