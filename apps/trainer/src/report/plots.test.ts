// Tests for the sweep plots: real PNG files (signature, IHDR size, non-blank pixels decoded independently
// with zlib) and SVGs with the axis titles and one line per run.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMetrics, runCurves } from "./metrics";
import { klVsRewardSpec, klVsStepSpec, renderSvg, retentionVsBetaSpec, rewardVsStepSpec, writePlots } from "./plots";
import { syntheticSweep } from "./synthetic";
import { PLOT_FILES, type RunCurves } from "./types";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const { runs, metrics } = syntheticSweep({ betas: [0, 0.5, 2], steps: 40 });
const curves = new Map<string, RunCurves>(runs.map((r) => [r.id, runCurves(parseMetrics(metrics.get(r.id)!), r.command)]));

/** Decode an 8-bit RGBA, non-interlaced PNG's pixels (filters 0–4 per the PNG spec, §9). */
function decodeRgba(png: Buffer): { width: number; height: number; pixels: Uint8Array } {
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  expect([png[24], png[25], png[28]]).toEqual([8, 6, 0]); // bit depth 8, colour type RGBA, no interlace
  const idat: Buffer[] = [];
  for (let off = 8; off < png.length; ) {
    const len = png.readUInt32BE(off);
    if (png.toString("latin1", off + 4, off + 8) === "IDAT") idat.push(png.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 4;
  expect(raw.length).toBe(height * (stride + 1));
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let x = 0; x < stride; x++) {
      const a = x >= 4 ? px[y * stride + x - 4]! : 0;
      const b = y > 0 ? px[(y - 1) * stride + x]! : 0;
      const c = x >= 4 && y > 0 ? px[(y - 1) * stride + x - 4]! : 0;
      const p = a + b - c;
      const pred = [0, a, b, (a + b) >> 1, Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c][filter]!;
      px[y * stride + x] = (raw[y * (stride + 1) + 1 + x]! + pred) & 0xff;
    }
  }
  return { width, height, pixels: px };
}

describe("writePlots", () => {
  let paths: Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), "tether-plots-"));
  beforeAll(async () => {
    paths = await writePlots(dir, runs, curves);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the four named PNGs", () => {
    expect(Object.keys(paths).sort()).toEqual(["klVsReward", "klVsStep", "retentionVsBeta", "rewardVsStep"]);
    for (const [name, path] of Object.entries(paths)) expect(path.endsWith(PLOT_FILES[name as keyof typeof PLOT_FILES])).toBe(true);
  });

  it("each is a non-blank RGBA PNG at 2× the SVG size", async () => {
    const svg = await renderSvg(klVsStepSpec(runs, curves));
    const svgWidth = Number(/width="(\d+(?:\.\d+)?)"/.exec(svg)![1]);
    for (const path of Object.values(paths)) {
      const png = readFileSync(path);
      expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
      const { width, height, pixels } = decodeRgba(png);
      expect(width).toBeGreaterThanOrEqual(1000);
      expect(height).toBeGreaterThanOrEqual(600);
      let ink = 0;
      for (let i = 0; i < pixels.length; i += 4) if (pixels[i]! + pixels[i + 1]! + pixels[i + 2]! < 600) ink++;
      const share = ink / (width * height);
      expect(share).toBeGreaterThan(0.005); // text, axes, lines were drawn
      expect(share).toBeLessThan(0.5); // white background, not a filled block
    }
    expect(decodeRgba(readFileSync(paths.klVsStep!)).width).toBe(Math.round(2 * svgWidth));
  });
});

/** Number of line paths drawn (each vega line mark container holds one path per series). */
const linePaths = (svg: string): number =>
  (svg.match(/<g class="mark-line role-mark[^"]*"[^>]*>(?:(?!<\/g>).)*<\/g>/g) ?? []).reduce((n, g) => n + (g.match(/<path/g) ?? []).length, 0);

describe("plot SVGs", () => {
  it("KL vs step: axis titles with units and one line per run", async () => {
    const svg = await renderSvg(klVsStepSpec(runs, curves));
    expect(svg).toContain("mean token KL (nats/token)");
    expect(svg).toContain("training step");
    expect(svg).toContain("held-out KL (eval lines)");
    expect(linePaths(svg)).toBe(runs.length);
  });

  it("reward vs step: accuracy axis for SFT and one line per run", async () => {
    const svg = await renderSvg(rewardVsStepSpec(runs, curves));
    expect(svg).toContain("new-task accuracy (fraction)");
    expect(linePaths(svg)).toBe(runs.length);
  });

  it("final KL vs reward: one point and one β label per run", async () => {
    const svg = await renderSvg(klVsRewardSpec(runs));
    expect(svg).toContain("final held-out KL (nats/token)");
    for (const b of ["β=0", "β=0.5", "β=2"]) expect(svg).toContain(`>${b}<`);
  });

  it("retention vs β: symlog axis ticks at the swept βs, two measures", async () => {
    const svg = await renderSvg(retentionVsBetaSpec(runs));
    expect(svg).toContain("β (KL coefficient, symlog scale)");
    expect(svg).toContain("base retention");
    expect(linePaths(svg)).toBe(2);
  });
});
