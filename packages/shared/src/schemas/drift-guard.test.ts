import { describe, expect, it } from "vitest";
import { ParameterError } from "../errors";
import { ConfigError } from "./common";
import { driftGuardConfig, driftGuardDefaults, driftGuardRequest, KL_NOISE_FLOOR, resolveDriftGuard } from "./drift-guard";
import { evalReport } from "./eval";
import { policyEval } from "../../../../test/support/schema-documents";

const ev = evalReport.parse(policyEval()); // p95 = 0.09, p99 = 0.15, max = 0.19
const limits = { max_candidates: 8, max_rounds: 4 };

describe("driftGuardDefaults", () => {
  it("takes max_kl from eval.json's 99th percentile by default, τ = 0.1·max_kl", () => {
    const d = driftGuardDefaults(driftGuardConfig.parse({}), ev);
    expect(d).toMatchObject({ enabled: true, allowDisable: false, candidates: 4, maxRounds: 2, mode: "hard", fallback: "reference" });
    expect(d.maxKl).toBeCloseTo(0.15, 15);
    expect(d.maxKlSource).toBe("eval.json p99");
    expect(d.softTemperature).toBeCloseTo(0.015, 15);
  });

  it("interpolates other percentiles and prefers an explicit max_kl", () => {
    // between q 0.95 (0.09) and 0.99 (0.15): 0.09 + 0.5·0.06 = 0.12
    expect(driftGuardDefaults(driftGuardConfig.parse({ max_kl_percentile: 97 }), ev).maxKl).toBeCloseTo(0.12, 12);
    const d = driftGuardDefaults(driftGuardConfig.parse({ max_kl: 0.5, soft_temperature: 0.2 }), null);
    expect(d).toMatchObject({ maxKl: 0.5, maxKlSource: "config", softTemperature: 0.2 });
  });

  it("fails clearly without max_kl or eval.json, and floors a zero-KL policy's threshold", () => {
    expect(() => driftGuardDefaults(driftGuardConfig.parse({}), null)).toThrow(ConfigError);
    expect(() => driftGuardDefaults(driftGuardConfig.parse({}), null)).toThrow(/drift_guard\.max_kl: is required when the policy has no eval\.json/);
    const zero = { ...ev, kl: { mean_token_kl: 0, per_request_kl_mean: { count: 200, mean: 0, min: 0, max: 0, quantiles: [] } } };
    expect(driftGuardDefaults(driftGuardConfig.parse({}), zero).maxKl).toBe(KL_NOISE_FLOOR);
  });

  it("validates its ranges", () => {
    expect(driftGuardConfig.safeParse({ max_kl_percentile: 0 }).success).toBe(false);
    expect(driftGuardConfig.safeParse({ max_kl_percentile: 100 }).success).toBe(true);
    expect(driftGuardConfig.safeParse({ candidates: 0 }).success).toBe(false);
    expect(driftGuardConfig.safeParse({ max_kl: 0 }).success).toBe(false);
    expect(driftGuardConfig.safeParse({ fallback: "random" }).success).toBe(false);
  });
});

describe("resolveDriftGuard", () => {
  const defaults = driftGuardDefaults(driftGuardConfig.parse({ max_kl: 0.2 }), ev);

  it("uses the defaults when the request says nothing or true", () => {
    const expected = { enabled: true, maxKl: 0.2, candidates: 4, maxRounds: 2, mode: "hard", fallback: "reference" };
    expect(resolveDriftGuard(defaults, undefined, limits)).toMatchObject(expected);
    expect(resolveDriftGuard(defaults, true, limits)).toMatchObject(expected);
  });

  it("applies partial overrides and scales τ with a tightened max_kl", () => {
    const g = resolveDriftGuard(defaults, driftGuardRequest.parse({ max_kl: 0.1, candidates: 8, mode: "soft", fallback: "least_kl" }), limits);
    expect(g).toMatchObject({ enabled: true, maxKl: 0.1, candidates: 8, maxRounds: 2, mode: "soft", fallback: "least_kl" });
    if (g.enabled) expect(g.softTemperature).toBeCloseTo(0.01, 15);
  });

  it("refuses to disable or loosen the guard unless allowed, naming the parameter", () => {
    expect(() => resolveDriftGuard(defaults, false, limits)).toThrow(ParameterError);
    expect(() => resolveDriftGuard(defaults, false, limits)).toThrow(/^drift_guard cannot be false/);
    expect(() => resolveDriftGuard(defaults, { max_kl: 0.3 }, limits)).toThrow("drift_guard.max_kl must be ≤ 0.2 (requests may only tighten the guard here) (got 0.3)");
    const open = { ...defaults, allowDisable: true };
    expect(resolveDriftGuard(open, false, limits)).toEqual({ enabled: false });
    expect(resolveDriftGuard(open, { max_kl: 0.3 }, limits)).toMatchObject({ maxKl: 0.3 });
  });

  it("enforces the gateway limits", () => {
    expect(() => resolveDriftGuard(defaults, { candidates: 9 }, limits)).toThrow("drift_guard.candidates must be ≤ 8 (got 9)");
    expect(() => resolveDriftGuard(defaults, { max_rounds: 5 }, limits)).toThrow("drift_guard.max_rounds must be ≤ 4 (got 5)");
    // a config default above the limit is clamped rather than failing every request
    expect(resolveDriftGuard({ ...defaults, candidates: 16 }, undefined, limits)).toMatchObject({ candidates: 8 });
  });

  it("stays off for requests that do not ask when the config disables it", () => {
    const off = { ...defaults, enabled: false };
    expect(resolveDriftGuard(off, undefined, limits)).toEqual({ enabled: false });
    expect(resolveDriftGuard(off, { candidates: 2 }, limits)).toMatchObject({ enabled: true, candidates: 2 });
  });
});

describe("driftGuardRequest", () => {
  it("accepts false, true and partial objects; rejects unknown keys and bad values", () => {
    expect(driftGuardRequest.parse(false)).toBe(false);
    expect(driftGuardRequest.parse({})).toEqual({});
    expect(driftGuardRequest.safeParse({ max_k1: 0.1 }).success).toBe(false);
    expect(driftGuardRequest.safeParse({ candidates: 0 }).success).toBe(false);
    expect(driftGuardRequest.safeParse({ mode: "gentle" }).success).toBe(false);
    expect(driftGuardRequest.safeParse("off").success).toBe(false);
  });
});
