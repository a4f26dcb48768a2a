// Tests for the sparse sign projection: determinism, the documented recipe, density, scale and JL distances.
import { describe, expect, it } from "vitest";
import { Pcg32 } from "../sampling/prng";
import {
  createLayerProjections,
  createProjection,
  project,
  projectBlock,
  rmsNormalise,
  rmsNormaliseRows,
  sketchTokens,
  toDense,
  toDenseTransposed,
  type SparseProjection,
} from "./projection";

// Standard normal draws from a seeded generator (Box–Muller).
function gaussians(rng: Pcg32, n: number, mean = 0, sd = 1): Float64Array {
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const u = 1 - rng.nextFloat();
    out[k] = mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
  }
  return out;
}

// The recipe of the module header, written as a plain dense loop: S[i][j] from Pcg32(seed, layer) draws.
function plainLoopDense(seed: number, layer: number, m: number, d: number, p: number): Float64Array {
  const rng = new Pcg32(seed, layer);
  const threshold = Math.min(2 ** 32, Math.round(p * 2 ** 32));
  const s = Math.fround(1 / Math.sqrt(p * d));
  const S = new Float64Array(m * d);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < d; j++) {
      const u = rng.nextU32();
      S[i * d + j] = u < threshold ? (u % 2 === 0 ? s : -s) : 0;
    }
  }
  return S;
}

function nonZeros(S: SparseProjection): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let i = 0; i < S.m; i++) {
    for (let k = S.rowPtr[i]; k < S.rowPtr[i + 1]; k++) out.push([i, S.colIdx[k], Math.sign(S.values[k])]);
  }
  return out;
}

describe("createProjection", () => {
  it("follows the documented recipe: known answer and a plain-loop reimplementation", () => {
    const S = createProjection({ seed: 42, m: 4, d: 16, density: 0.25, layer: 3 });
    // Computed once with plainLoopDense's recipe (Pcg32(42, 3), threshold 2^30, parity → sign); hard-coded so a
    // change of generation order, of the sign rule or of Pcg32 itself is caught.
    expect(nonZeros(S)).toEqual([
      [0, 1, 1], [0, 3, 1], [0, 8, 1], [1, 0, 1], [1, 8, 1], [1, 9, -1], [1, 14, 1], [1, 15, 1],
      [2, 0, 1], [2, 5, -1], [2, 6, -1], [2, 14, 1], [3, 1, 1], [3, 2, 1], [3, 10, -1], [3, 11, -1],
    ]);
    expect(S.scale).toBe(0.5); // 1/√(0.25·16)

    for (const [seed, layer, m, d, p] of [[7, 0, 8, 50, 0.1], [123456789, 5, 3, 97, 1], [-3, 2, 5, 33, 0.01]]) {
      const dense = toDense(createProjection({ seed, m, d, density: p, layer }));
      expect(Array.from(dense)).toEqual(Array.from(plainLoopDense(seed, layer, m, d, p)));
    }
  });

  it("is identical for identical parameters and differs across seeds and layers", () => {
    const params = { seed: 9, m: 32, d: 256, density: 1 / 16, layer: 1 };
    const a = toDense(createProjection(params));
    const b = toDense(createProjection({ ...params }));
    expect(a).toEqual(b);
    const otherSeed = toDense(createProjection({ ...params, seed: 10 }));
    const otherLayer = toDense(createProjection({ ...params, layer: 2 }));
    const agree = (x: Float32Array, y: Float32Array) => x.reduce((acc, v, k) => acc + (v !== 0 && v === y[k] ? 1 : 0), 0);
    // Independent matrices share a non-zero of equal sign at about m·d·p²/2 = 16 positions, out of 512 non-zeros.
    expect(agree(a, otherSeed)).toBeLessThan(60);
    expect(agree(a, otherLayer)).toBeLessThan(60);
    const perLayer = createLayerProjections({ seed: 9, m: 32, d: 256, density: 1 / 16, layers: [1, 4] });
    expect(toDense(perLayer[0])).toEqual(a);
    expect(perLayer[1].layer).toBe(4);
  });

  it("has density ≈ p and balanced signs (binomial, 5σ)", () => {
    const m = 256;
    const d = 1024;
    const p = 1 / 32;
    const S = createProjection({ seed: 2024, m, d, density: p });
    const nnz = S.values.length;
    const trials = m * d;
    expect(Math.abs(nnz - trials * p)).toBeLessThan(5 * Math.sqrt(trials * p * (1 - p)));
    const positives = S.values.filter((v) => v > 0).length;
    expect(Math.abs(2 * positives - nnz)).toBeLessThan(5 * Math.sqrt(nnz)); // #pos − #neg ~ ±√nnz
    expect(S.values.every((v) => Math.abs(v) === Math.fround(1 / Math.sqrt(p * d)))).toBe(true);
  });

  it("rejects invalid parameters naming them", () => {
    const ok = { seed: 1, m: 4, d: 8, density: 0.5 };
    expect(() => createProjection({ ...ok, m: 0 })).toThrow(/^m must be an integer ≥ 1 \(got 0\)/);
    expect(() => createProjection({ ...ok, d: 2.5 })).toThrow(/^d must/);
    expect(() => createProjection({ ...ok, density: 0 })).toThrow(/^density must be in \(0, 1\]/);
    expect(() => createProjection({ ...ok, density: 1.5 })).toThrow(/^density/);
    expect(() => createProjection({ ...ok, seed: 2 ** 60 })).toThrow(/^seed must be a safe integer/);
    expect(() => createProjection({ ...ok, layer: -1 })).toThrow(/^layer/);
  });
});

describe("rmsNormalise", () => {
  it("divides by √(mean(x²) + ε)", () => {
    const x = [3, -4, 0, 12]; // mean(x²) = 169/4
    const eps = 0.75;
    const expected = x.map((v) => v / Math.sqrt(169 / 4 + eps));
    expect(Array.from(rmsNormalise(x, eps))).toEqual(expected);
    const rows = rmsNormaliseRows([...x, 1, 1, 1, 1], 4, eps);
    expect(Array.from(rows.subarray(0, 4))).toEqual(expected);
    expect(Array.from(rows.subarray(4))).toEqual([1, 1, 1, 1].map((v) => v / Math.sqrt(1 + eps)));
    expect(() => rmsNormalise(x, -1)).toThrow(/^eps/);
  });
});

describe("project", () => {
  it("equals a float64 dense matmul with S [m, d] and with Sᵀ [d, m], exactly", () => {
    const m = 24;
    const d = 300;
    const S = createProjection({ seed: 5, m, d, density: 0.07, layer: 2 });
    const dense = toDense(S);
    const denseT = toDenseTransposed(S);
    const T = 3;
    const X = gaussians(new Pcg32(11), T * d, 0.5, 3); // [T, d]
    const Y = projectBlock(S, X); // [T, m]
    for (let t = 0; t < T; t++) {
      const x = X.subarray(t * d, (t + 1) * d);
      const y = project(S, x);
      for (let i = 0; i < m; i++) {
        let viaS = 0;
        let viaST = 0;
        for (let j = 0; j < d; j++) {
          viaS += dense[i * d + j] * x[j];
          viaST += x[j] * denseT[j * m + i];
        }
        expect(y[i]).toBe(viaS);
        expect(y[i]).toBe(viaST);
        expect(Y[t * m + i]).toBe(viaS);
      }
    }
    const sketched = sketchTokens(S, X, 1e-6);
    expect(Array.from(sketched)).toEqual(Array.from(projectBlock(S, rmsNormaliseRows(X, d, 1e-6))));
    expect(() => project(S, new Float64Array(d - 1))).toThrow(/^x.length must equal d = 300/);
  });

  it("gives E[y_i²] ≈ 1 for normalised inputs at any d (Monte Carlo over 24 seeds × m rows)", () => {
    const m = 128;
    for (const d of [64, 1024]) {
      const p = 1 / Math.sqrt(d);
      // x deliberately off scale (mean 3, sd 7) so that a missing normalisation would show as E[y²] ≈ 58.
      const xhat = rmsNormalise(gaussians(new Pcg32(d), d, 3, 7), 1e-6);
      let sumSq = 0;
      let sum4 = 0;
      const seeds = 24;
      for (let seed = 0; seed < seeds; seed++) {
        const y = project(createProjection({ seed, m, d, density: p }), xhat);
        for (const v of y) {
          sumSq += v * v;
          sum4 += v ** 4;
        }
      }
      const n = seeds * m; // independent rows given x
      const mean = sumSq / n;
      const sd = Math.sqrt((sum4 / n - mean * mean) / n);
      // E_S[y_i²] = mean(x̂²) = 1 − ε/(mean(x²)+ε) exactly; 5 standard errors (≈ 0.15 here; a wrong s gives p).
      expect(Math.abs(mean - 1)).toBeLessThan(5 * sd);
      expect(sd).toBeLessThan(0.04);
    }
  });

  it("preserves pairwise distances (JL): (d/m)·‖S(x̂−ẑ)‖² / ‖x̂−ẑ‖² within ±30% for 190 pairs", () => {
    const m = 512;
    const d = 1024;
    const S = createProjection({ seed: 77, m, d, density: 1 / 32 });
    const rng = new Pcg32(78);
    // Vectors share a common component so that distances vary; each is RMS-normalised first.
    const common = gaussians(rng, d);
    const xs = Array.from({ length: 20 }, (_, k) => {
      const noise = gaussians(rng, d, 0, 0.2 + 0.1 * k);
      return rmsNormalise(common.map((c, j) => c + noise[j]), 1e-6);
    });
    const ys = xs.map((x) => project(S, x));
    const ratios: number[] = [];
    for (let a = 0; a < xs.length; a++) {
      for (let b = a + 1; b < xs.length; b++) {
        let inX = 0;
        let inY = 0;
        for (let j = 0; j < d; j++) inX += (xs[a][j] - xs[b][j]) ** 2;
        for (let i = 0; i < m; i++) inY += (ys[a][i] - ys[b][i]) ** 2;
        ratios.push(((d / m) * inY) / inX);
      }
    }
    // Each ratio has sd ≈ √(2/m) ≈ 0.0625, so ±30% is ≈ 4.8σ; a wrong scale (s = 1/√d) would give ratios ≈ p.
    for (const r of ratios) expect(Math.abs(r - 1)).toBeLessThan(0.3);
    const meanRatio = ratios.reduce((acc, r) => acc + r, 0) / ratios.length;
    expect(Math.abs(meanRatio - 1)).toBeLessThan(0.05);
  });
});
