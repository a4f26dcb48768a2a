// The drift guard's parameters in their three places: the gateway config (defaults), the request's
// `drift_guard` extension (partial overrides, or false), and the resolved values one request runs with.
//
// Acceptance (SPEC "KL-aware rejection sampling"): hard accepts the first candidate with
// kl_mean ≤ max_kl; soft accepts with probability min(1, exp(−(kl_mean − max_kl)/τ)).

import { z } from "zod";
import { ParameterError } from "../errors";
import { bool, ConfigError, int, oneOf, real } from "./common";
import { type EvalReport, quantileAt } from "./eval";

export const DRIFT_GUARD_MODES = ["hard", "soft"] as const;
export const DRIFT_GUARD_FALLBACKS = ["reference", "least_kl", "reject"] as const;
export type DriftGuardMode = (typeof DRIFT_GUARD_MODES)[number];
export type DriftGuardFallback = (typeof DRIFT_GUARD_FALLBACKS)[number];

const positive = real({ value: 0, exclusive: true });

/** Smallest default max_kl (nats/token) taken from eval.json: below it, KL differences are float32 rounding. */
export const KL_NOISE_FLOOR = 1e-6;

/** The gateway config's `drift_guard` section: defaults for every request. */
export const driftGuardConfig = z
  .strictObject({
    enabled: bool().default(true), // guard requests that do not say otherwise (KL is measured either way)
    // Threshold on a candidate's kl_mean (nats/token). When unset, it is the max_kl_percentile-th
    // percentile of eval.json's held-out per-request kl_mean, so a healthy policy is rarely rejected.
    max_kl: positive.optional(),
    max_kl_percentile: real({ value: 0, exclusive: true }, 100).default(99), // percent, (0, 100]
    candidates: int(1, 64).default(4), // k samples drawn per round, decoded as one batch
    max_rounds: int(1, 64).default(2), // rounds of k before the fallback
    mode: oneOf(DRIFT_GUARD_MODES).default("hard"),
    soft_temperature: positive.optional(), // τ (nats/token) of soft mode; default 0.1 · max_kl
    fallback: oneOf(DRIFT_GUARD_FALLBACKS).default("reference"), // answer from the reference: always within the guard
    // Whether a request may send drift_guard: false or raise max_kl above the default. Off: requests
    // can only tighten the guard, so a client cannot opt out of what the operator configured.
    allow_disable: bool().default(false),
  });
export type DriftGuardConfig = z.infer<typeof driftGuardConfig>;

/**
 * The request extension `drift_guard`: `false` (off, where config allows), `true` or absent (config
 * defaults), or a partial object overriding them. Unknown keys are rejected: a typo in a safety
 * setting must not silently fall back to defaults.
 */
export const driftGuardRequest = z.union(
  [
    z.boolean(),
    z
      .strictObject({
        max_kl: positive.optional(), // nats/token
        candidates: int(1).optional(), // upper bound from config limits.max_candidates
        max_rounds: int(1).optional(), // upper bound from config limits.max_rounds
        mode: oneOf(DRIFT_GUARD_MODES).optional(),
        fallback: oneOf(DRIFT_GUARD_FALLBACKS).optional(),
      }),
  ],
  { error: "must be false, true or an object { max_kl, candidates, max_rounds, mode, fallback }" },
);
export type DriftGuardRequest = z.infer<typeof driftGuardRequest>;

/** Guard parameters after config, eval.json and the request are combined. */
export type ResolvedDriftGuard =
  | { enabled: false }
  | {
      enabled: true;
      maxKl: number; // nats/token
      candidates: number;
      maxRounds: number;
      mode: DriftGuardMode;
      softTemperature: number; // τ, nats/token
      fallback: DriftGuardFallback;
    };

/** Config defaults with max_kl made concrete; computed once when a policy is loaded. */
export type DriftGuardDefaults = Omit<Extract<ResolvedDriftGuard, { enabled: true }>, "enabled"> & {
  enabled: boolean;
  allowDisable: boolean;
  /** Where maxKl came from, for /admin and logs. */
  maxKlSource: "config" | `eval.json p${number}`;
};

/**
 * Turns the config section into concrete defaults, taking max_kl from eval.json when not configured.
 * Throws a ConfigError when neither is available.
 * @example driftGuardDefaults(config.drift_guard, evalReport) // { maxKl: 0.031, maxKlSource: "eval.json p99", … }
 */
export function driftGuardDefaults(cfg: DriftGuardConfig, ev: EvalReport | null): DriftGuardDefaults {
  let maxKl = cfg.max_kl;
  let maxKlSource: DriftGuardDefaults["maxKlSource"] = "config";
  if (maxKl === undefined) {
    if (!ev) throw new ConfigError("gateway config", ["drift_guard.max_kl: is required when the policy has no eval.json to take a percentile from"]);
    maxKl = quantileAt(ev.kl.per_request_kl_mean, cfg.max_kl_percentile / 100);
    maxKlSource = `eval.json p${cfg.max_kl_percentile}`;
    // A policy equal to its reference measures kl_mean ≈ 0; float32 logits give KLs of ~1e-7 even then,
    // so a threshold below this floor would reject pure rounding noise.
    maxKl = Math.max(maxKl, KL_NOISE_FLOOR);
  }
  return {
    enabled: cfg.enabled,
    allowDisable: cfg.allow_disable,
    maxKl,
    maxKlSource,
    candidates: cfg.candidates,
    maxRounds: cfg.max_rounds,
    mode: cfg.mode,
    softTemperature: cfg.soft_temperature ?? 0.1 * maxKl,
    fallback: cfg.fallback,
  };
}

/**
 * The guard one request runs with. Throws ParameterError (param "drift_guard…", for a 400) when the
 * request asks for more than the gateway allows.
 * @example resolveDriftGuard(defaults, { candidates: 2 }, { max_candidates: 8, max_rounds: 4 })
 */
export function resolveDriftGuard(
  defaults: DriftGuardDefaults,
  request: DriftGuardRequest | undefined,
  limits: { max_candidates: number; max_rounds: number },
): ResolvedDriftGuard {
  if (request === false) {
    if (!defaults.allowDisable) throw new ParameterError("drift_guard", "cannot be false on this gateway (drift_guard.allow_disable is off)");
    return { enabled: false };
  }
  if (request === undefined || request === true) {
    if (request === undefined && !defaults.enabled) return { enabled: false };
    return clamp(defaults, {}, limits);
  }
  return clamp(defaults, request, limits);
}

function clamp(
  d: DriftGuardDefaults,
  r: Exclude<DriftGuardRequest, boolean>,
  limits: { max_candidates: number; max_rounds: number },
): ResolvedDriftGuard {
  const candidates = r.candidates ?? Math.min(d.candidates, limits.max_candidates);
  const maxRounds = r.max_rounds ?? Math.min(d.maxRounds, limits.max_rounds);
  if (candidates > limits.max_candidates) throw new ParameterError("drift_guard.candidates", `must be ≤ ${limits.max_candidates}`, candidates);
  if (maxRounds > limits.max_rounds) throw new ParameterError("drift_guard.max_rounds", `must be ≤ ${limits.max_rounds}`, maxRounds);
  const maxKl = r.max_kl ?? d.maxKl;
  if (maxKl > d.maxKl && !d.allowDisable) {
    throw new ParameterError("drift_guard.max_kl", `must be ≤ ${d.maxKl} (requests may only tighten the guard here)`, maxKl);
  }
  return {
    enabled: true,
    maxKl,
    candidates,
    maxRounds,
    mode: r.mode ?? d.mode,
    // τ scales with the threshold, so a tightened max_kl keeps the same relative softness.
    softTemperature: d.softTemperature * (maxKl / d.maxKl),
    fallback: r.fallback ?? d.fallback,
  };
}
