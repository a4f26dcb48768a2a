import { describe, expect, it } from "vitest";
import { BetaController, RATIO_ETA } from "./beta-controller";

describe("β controllers", () => {
  it("fixed keeps β", () => {
    const c = new BetaController({ kind: "fixed", beta: 0.3, klTarget: 1, horizon: 1, window: 2 });
    for (let i = 0; i < 5; i++) expect(c.update({ kl: 10 * i, reward: i, samples: 16 })).toBe(0.3);
  });

  it("target follows Ziegler's formula, including the ±0.2 clip", () => {
    const c = new BetaController({ kind: "target", beta: 0.1, klTarget: 0.05, horizon: 1000, window: 2 });
    // KL = 0.06 → e = 0.2 exactly at the clip edge; n = 16: β = 0.1·(1 + 0.2·16/1000)
    expect(c.update({ kl: 0.06, reward: 0, samples: 16 })).toBeCloseTo(0.1 * (1 + (0.2 * 16) / 1000), 15);
    const b1 = c.beta;
    // KL = 0.5 → e = 9 clipped to 0.2
    expect(c.update({ kl: 0.5, reward: 0, samples: 16 })).toBeCloseTo(b1 * (1 + (0.2 * 16) / 1000), 15);
    const b2 = c.beta;
    // KL = 0.045 → e = −0.1
    expect(c.update({ kl: 0.045, reward: 0, samples: 32 })).toBeCloseTo(b2 * (1 - (0.1 * 32) / 1000), 15);
    // KL = 0 → e = −1 clipped to −0.2
    const b3 = c.beta;
    expect(c.update({ kl: 0, reward: 0, samples: 10 })).toBeCloseTo(b3 * (1 - (0.2 * 10) / 1000), 15);
  });

  it("target converges β upward while KL stays above target and downward below", () => {
    const up = new BetaController({ kind: "target", beta: 0.1, klTarget: 0.1, horizon: 100, window: 2 });
    for (let i = 0; i < 50; i++) up.update({ kl: 0.2, reward: 0, samples: 10 });
    expect(up.beta).toBeCloseTo(0.1 * 1.02 ** 50, 12);
  });

  it("ratio tightens when KL grows faster than reward, loosens otherwise (hand-computed)", () => {
    const c = new BetaController({ kind: "ratio", beta: 1, klTarget: 1, horizon: 1, window: 4 });
    // window of 4: older half KL (0.1, 0.1) → newer (0.2, 0.2): g_KL = 0.1/(0.1+1e-3);
    // reward older (1, 1) → newer (1.1, 1.1): g_R = 0.1/(1+1e-3)
    const steps = [
      [0.1, 1],
      [0.1, 1],
      [0.2, 1.1],
    ];
    for (const [kl, reward] of steps) expect(c.update({ kl: kl!, reward: reward!, samples: 1 })).toBe(1); // window not full
    const gKl = 0.1 / 0.101;
    const gR = 0.1 / 1.001;
    expect(c.update({ kl: 0.2, reward: 1.1, samples: 1 })).toBeCloseTo(Math.exp(RATIO_ETA * Math.min(1, gKl - gR)), 12);
    // reward now grows much faster than KL → β falls
    const loosen = new BetaController({ kind: "ratio", beta: 1, klTarget: 1, horizon: 1, window: 2 });
    loosen.update({ kl: 0.1, reward: 0.1, samples: 1 });
    expect(loosen.update({ kl: 0.1, reward: 0.5, samples: 1 })).toBeCloseTo(Math.exp(-RATIO_ETA), 12);
  });

  it("state round-trips and bad options name the parameter", () => {
    const c = new BetaController({ kind: "ratio", beta: 0.5, klTarget: 1, horizon: 1, window: 3 });
    c.update({ kl: 0.1, reward: 0.2, samples: 1 });
    const d = new BetaController({ kind: "ratio", beta: 9, klTarget: 1, horizon: 1, window: 3 });
    d.restore(c.state());
    expect(d.state()).toEqual(c.state());
    expect(() => new BetaController({ kind: "fixed", beta: -1, klTarget: 1, horizon: 1, window: 2 })).toThrow(/beta must be ≥ 0/);
    expect(() => new BetaController({ kind: "target", beta: 1, klTarget: 0, horizon: 1, window: 2 })).toThrow(/kl_target must be > 0/);
  });
});
