// Choosing and building the exported decoder: `standard` (ai.onnx opset 17, any runtime, left padding) or
// `fused` (com.microsoft kernels, ONNX Runtime only, no left padding). `auto` builds each variant the model
// allows, checks its logits against the float64 reference forward pass (model/reference-forward.ts), times a
// few single-token decode steps on onnxruntime-node with one intra-op thread, and keeps the fastest that
// passes; ties (within 3%) go to standard, which more runtimes load.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ModelConfig } from "../model/config";
import { referenceLogits } from "../model/reference-forward";
import type { DecoderWeights } from "./decoder-io";
import { buildFusedDecoder, FUSED_OPSETS, fusedUnsupported } from "./graph-fused";
import { buildStandardDecoder, STANDARD_OPSETS } from "./graph-standard";
import { writeModel } from "./external-data";
import type { onnx } from "./onnx-builder";
import { createSession, runStep, timeDecode } from "./ort-decode";

export type OnnxVariant = "standard" | "fused";

export const VARIANT_OPSETS: Record<OnnxVariant, onnx.IOperatorSetIdProto[]> = { standard: STANDARD_OPSETS, fused: FUSED_OPSETS };

/** fp32 graph vs float64 reference: max |Δlogit| ≤ PARITY_RTOL · max(1, max |logit|). */
export const PARITY_RTOL = 1e-3;

/**
 * The decoder graph of one variant.
 * @example const model = buildDecoder(cfg, readCheckpointWeights(dir, cfg), "standard");
 */
export function buildDecoder(c: ModelConfig, w: DecoderWeights, variant: OnnxVariant): onnx.ModelProto {
  return variant === "fused" ? buildFusedDecoder(c, w) : buildStandardDecoder(c, w);
}

export interface VariantReport {
  variant: OnnxVariant;
  /** Max |logit − float64 reference| over a fixed sequence. */
  parityMaxAbsDiff: number;
  parityPassed: boolean;
  /** Median single-token decode step at batch 1 (ms), when timed. */
  stepMs?: number;
  /** Why the variant was not considered. */
  skipped?: string;
}

export interface ChosenDecoder {
  variant: OnnxVariant;
  model: onnx.ModelProto;
  reports: VariantReport[];
}

/**
 * Max |Δ| between the graph's logits and the float64 reference on one fixed sequence of up to 6 tokens
 * (one full pass, empty past), and the largest |reference logit|.
 */
export async function referenceParity(model: string | Uint8Array, c: ModelConfig, w: DecoderWeights): Promise<{ maxAbsDiff: number; scale: number }> {
  const T = Math.min(6, c.maxPositions);
  const ids = Array.from({ length: T }, (_, t) => (t * 7 + 3) % c.vocabSize);
  const ref = referenceLogits(w, c, ids);
  const session = await createSession(model);
  try {
    const r = await runStep(session, c, { ids: [ids], mask: [ids.map(() => 1)], positions: [ids.map((_, t) => t)] });
    const got = r.logits!.data as Float32Array;
    let maxAbsDiff = 0;
    let scale = 0;
    ref.forEach((row, t) => row.forEach((v, j) => {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(got[t * c.vocabSize + j]! - v));
      scale = Math.max(scale, Math.abs(v));
    }));
    return { maxAbsDiff, scale };
  } finally {
    await session.release();
  }
}

// Built, written to a scratch folder (external data when large) and measured there; the model itself is
// dropped so that only one copy of the weights' graph lives at a time.
async function evaluate(c: ModelConfig, w: DecoderWeights, variant: OnnxVariant, time: boolean): Promise<VariantReport> {
  const scratch = mkdtempSync(join(tmpdir(), "tether-export-"));
  try {
    const path = join(scratch, "model.onnx");
    writeModel(buildDecoder(c, w, variant), path);
    const { maxAbsDiff, scale } = await referenceParity(path, c, w);
    const report: VariantReport = { variant, parityMaxAbsDiff: maxAbsDiff, parityPassed: maxAbsDiff <= PARITY_RTOL * Math.max(1, scale) };
    if (time && report.parityPassed) {
      const session = await createSession(path);
      try {
        report.stepMs = (await timeDecode(session, c, { batch: 1, promptLength: Math.max(1, Math.min(16, c.maxPositions - 10)), steps: 8 })).stepMs;
      } finally {
        await session.release();
      }
    }
    return report;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Build the requested variant (checked against the reference) or, for "auto", the fastest passing one.
 * Throws when no candidate passes parity.
 * @example const { variant, model } = await chooseDecoder(cfg, weights, "auto");
 */
export async function chooseDecoder(c: ModelConfig, w: DecoderWeights, requested: OnnxVariant | "auto", log: (line: string) => void = () => {}): Promise<ChosenDecoder> {
  const candidates: OnnxVariant[] = requested === "auto" ? ["standard", "fused"] : [requested];
  const reports: VariantReport[] = [];
  for (const variant of candidates) {
    const unsupported = variant === "fused" ? fusedUnsupported(c) : null;
    if (unsupported && requested === "auto") {
      reports.push({ variant, parityMaxAbsDiff: NaN, parityPassed: false, skipped: unsupported });
      log(`tether-train: export: ${variant} skipped (${unsupported})`);
      continue;
    }
    const report = await evaluate(c, w, variant, requested === "auto");
    reports.push(report);
    const timing = report.stepMs === undefined ? "" : `, decode step ${report.stepMs.toFixed(2)} ms (batch 1, 1 thread)`;
    log(`tether-train: export: ${variant} max |Δlogit| vs float64 reference ${report.parityMaxAbsDiff.toExponential(2)}${report.parityPassed ? "" : " FAILS parity"}${timing}`);
  }
  const passing = reports.filter((r) => r.parityPassed);
  if (passing.length === 0) throw new Error(`export: no ONNX variant matches the reference forward pass (${reports.map((r) => `${r.variant}: ${r.skipped ?? r.parityMaxAbsDiff}`).join(", ")})`);
  const standard = passing.find((r) => r.variant === "standard");
  const fastest = passing.reduce((a, b) => ((b.stepMs ?? Infinity) < (a.stepMs ?? Infinity) ? b : a));
  const pick = standard && fastest.stepMs !== undefined && standard.stepMs !== undefined && fastest.stepMs > standard.stepMs / 1.03 ? standard : fastest;
  return { variant: pick.variant, model: buildDecoder(c, w, pick.variant), reports };
}
