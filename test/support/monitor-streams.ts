// Test-only: synthetic drift-log rows and a monitor over an in-memory alert store with a manual clock.
import { alertRule, type AlertRuleConfig } from "@tether/shared/schemas/alerts";
import type { z } from "zod";
import { AlertBus, type AlertEvent } from "../../apps/gateway/src/monitor/alert-bus";
import type { AlertStore } from "../../apps/gateway/src/monitor/alert-store";
import { MemoryAlertStore } from "../../apps/gateway/src/monitor/memory-alert-store";
import { DriftMonitor } from "../../apps/gateway/src/monitor/monitor";
import type { DriftLogEntry, DriftSampleRow } from "../../apps/gateway/src/store/drift-store";
import { compileRule, type ReferenceStats } from "../../apps/gateway/src/monitor/rules";

export interface SyntheticRequest {
  at: number; // ms
  klMean: number;
  arm?: "active" | "canary";
  checkpoint?: string;
  klMax?: number;
  rejected?: number; // candidates refused before the accepted one
  fallback?: "reference" | "least_kl" | null;
  latencyMs?: number;
  sketch?: number[]; // percentile per layer 0..L−1 of the returned choice
}

/** The request row and its samples (one per candidate and layer) as the gateway would log them. */
export function syntheticRows(r: SyntheticRequest, id = `r${r.at}-${r.klMean}`): DriftLogEntry {
  const layers = r.sketch ? r.sketch.map((_, i) => i) : [-1];
  const samples: DriftSampleRow[] = [];
  const candidates = (r.rejected ?? 0) + 1;
  for (let c = 0; c < candidates; c++) {
    const returned = c === candidates - 1;
    for (const layer of layers) {
      samples.push({
        round: 0, candidate: c, layer, choiceIndex: returned ? 0 : null, klMax: returned ? (r.klMax ?? 2 * r.klMean) : 9, accepted: returned,
        klMean: returned ? r.klMean : 3, klSum: 10 * r.klMean, logRatio: 0,
        sketchPercentile: layer < 0 ? null : returned ? r.sketch![layer]! : 50,
      });
    }
  }
  return {
    request: {
      id, endpoint: "completions", model: "m", status: 200, createdAt: new Date(r.at), policyId: r.checkpoint ?? "pol", arm: r.arm ?? "active", guardMode: "hard",
      fallback: r.fallback ?? null, errorCode: null, klMean: r.klMean, totalMs: r.latencyMs ?? 10,
    },
    samples,
  };
}

export function rule(overrides: Partial<z.input<typeof alertRule>> & { name: string }): AlertRuleConfig {
  return alertRule.parse({ metric: "kl_mean", window: "1m", statistic: "mean", comparison: ">", threshold: 0.5, min_samples: 5, for: "30s", ...overrides });
}

/** A monitor with a manual clock; `events` collects everything published. */
export function testMonitor<S extends AlertStore = MemoryAlertStore>(rules: AlertRuleConfig[], options: { store?: S; references?: ReferenceStats; now?: number } = {}) {
  const clock = { t: options.now ?? 1_700_000_000_000, now() { return this.t; } };
  const bus = new AlertBus((e) => { throw e; });
  const events: AlertEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const store = (options.store ?? new MemoryAlertStore()) as S;
  const errors: unknown[] = [];
  const monitor = new DriftMonitor({
    rules: rules.map(compileRule), references: () => options.references ?? { eval: null, guardMaxKl: null, hasSketch: true }, store, bus, clock,
    logError: (_m, e) => void errors.push(e),
  });
  const feed = (r: SyntheticRequest) => {
    const { request, samples } = syntheticRows(r);
    monitor.observe(request, samples);
  };
  return { monitor, clock, bus, events, store, errors, feed };
}
