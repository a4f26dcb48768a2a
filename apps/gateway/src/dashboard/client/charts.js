// Time-series charts with uPlot (vendored from npm, loaded as a global by the page): one chart per metric, a
// line per traffic arm (active, canary), colours read from the theme's CSS variables.
/* global uPlot */

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/**
 * @param {HTMLElement} el
 * @param {{ lines: { arm: string, key: string, label: string, dash?: boolean }[], format: (v: number) => string, min?: number, max?: number }} spec
 */
export function createChart(el, spec) {
  let plot = null;
  let data = [[], ...spec.lines.map(() => [])];
  let threshold = null;

  function build() {
    plot?.destroy();
    const grid = { stroke: css("--grid"), width: 1 };
    const axis = { stroke: css("--muted"), grid, ticks: { stroke: css("--grid"), width: 1 }, font: "11px system-ui, sans-serif" };
    const opts = {
      width: Math.max(el.clientWidth, 200),
      height: el.clientWidth < 420 ? 170 : 210,
      padding: [8, 8, 0, 0],
      legend: { show: false },
      cursor: { y: false, points: { size: 6 } },
      scales: { x: { time: true }, y: { range: (u, lo, hi) => yRange(lo, hi, spec, threshold) } },
      axes: [axis, { ...axis, size: 48, values: (u, ticks) => ticks.map((t) => spec.format(t)) }],
      series: [
        {},
        ...spec.lines.map((l) => ({
          label: l.label,
          stroke: css(l.arm === "canary" ? "--canary" : "--active"),
          width: l.dash ? 1.5 : 2,
          dash: l.dash ? [5, 4] : undefined,
          spanGaps: true,
          points: { show: false },
          fill: l.dash ? undefined : `${css(l.arm === "canary" ? "--canary" : "--active")}14`,
        })),
      ],
      hooks: { draw: [(u) => drawThreshold(u)] },
    };
    plot = new uPlot(opts, data, el);
  }

  // The alert rule's threshold, when one applies to this chart, as a dashed red line across the plot.
  function drawThreshold(u) {
    if (threshold === null) return;
    const y = Math.round(u.valToPos(threshold, "y", true));
    const { ctx, bbox } = u;
    ctx.save();
    ctx.strokeStyle = css("--firing");
    ctx.setLineDash([4, 4]);
    ctx.lineWidth = 1 * devicePixelRatio;
    ctx.beginPath();
    ctx.moveTo(bbox.left, y);
    ctx.lineTo(bbox.left + bbox.width, y);
    ctx.stroke();
    ctx.restore();
  }

  build();
  new ResizeObserver(() => plot && plot.width !== el.clientWidth && plot.setSize({ width: Math.max(el.clientWidth, 200), height: el.clientWidth < 420 ? 170 : 210 })).observe(el);

  return {
    /** @param {Map<string, Map<number, object>>} series arm → (t seconds → point) */
    update(series) {
      const ts = new Set();
      for (const points of series.values()) for (const t of points.keys()) ts.add(t);
      const x = [...ts].sort((a, b) => a - b);
      data = [x, ...spec.lines.map((l) => x.map((t) => series.get(l.arm)?.get(t)?.[l.key] ?? null))];
      plot.setData(data);
    },
    setThreshold(value) {
      threshold = value;
      plot.redraw(false, false);
    },
    rebuild: build,
  };
}

function yRange(lo, hi, spec, threshold) {
  let min = spec.min ?? Math.min(0, lo ?? 0);
  let max = Math.max(hi ?? 0, threshold ?? 0);
  if (spec.max !== undefined) max = Math.max(spec.max, max);
  if (max <= min) max = min + 1;
  return [min, max * 1.08];
}
