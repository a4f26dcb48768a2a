// What quantised (int8 or int4) weights cost, measured the way the drift guard measures drift: on held-out
// sequences (the export's calibration prompts, one full pass each, batch 1, one thread), the quantised and fp32
// graphs' logits at every position, and
//   KL(q ‖ fp32) per token = Σ_v p_q(v) (log p_q(v) − log p_fp32(v))      (shared sequenceKl)
//   the policy's KL to its reference, KL(π ‖ π_ref) per token, with π the fp32 and then the quantised graph
// The same tolerances for both widths: they state what serving may cost, not what a format can do.
// Tolerances (stated here, checked by export, recorded in onnx/export.json):
//   max |Δlogit| ≤ 0.05 · max(1, max |logit|),  mean KL(q ‖ fp32) ≤ 1e-2 nats/token,
//   |KL(π_int8 ‖ π_ref) − KL(π_fp32 ‖ π_ref)| ≤ max(1e-2, 0.05 · KL(π_fp32 ‖ π_ref)) nats/token.
// 1e-2 nats/token is far below the drift the guard exists to catch (the demo policy sits 0.43 nats/token from
// its reference) and above what int8 costs even on the seeded random test weights (~1e-3; the demo: 8e-4).
import { sequenceKl } from "@tether/shared/math/kl";
import type * as ort from "onnxruntime-node";
import type { ModelConfig } from "../model/config";
import { createSession, runStep } from "./ort-decode";
import type { QuantizedDtype } from "./quantize";

export const QUANTIZATION_TOLERANCE = { logits_rel: 0.05, kl_mean: 1e-2, policy_reference_kl_delta: 1e-2, policy_reference_kl_rel: 0.05 } as const;

/** onnx/export.json `quantized`: the quantised graph and what it was measured to cost. */
export interface QuantizationReport {
  dtype: QuantizedDtype;
  file: string;
  scheme: string;
  matrices: number;
  weight_bytes: { fp32: number; quantized: number };
  heldout: { sequences: number; tokens: number; data: string };
  logits_max_abs_diff: number;
  logits_max_abs: number;
  kl_quantized_fp32: { mean: number; max: number };
  /** Absent when export had no --reference with an exported graph. */
  policy_reference_kl?: { reference: string; fp32: number; quantized: number; delta: number };
  tolerance: typeof QUANTIZATION_TOLERANCE;
  passed: boolean;
  onnx_checker: "passed" | "not installed";
}

export type QuantizationMeasurement = Omit<QuantizationReport, "dtype" | "file" | "scheme" | "matrices" | "weight_bytes" | "tolerance" | "passed" | "heldout" | "onnx_checker"> & { sequences: number; tokens: number };

/**
 * @example const m = await measureQuantization("ckpt/onnx/model.onnx", "ckpt/onnx/model_int8.onnx", cfg, seqs, "ref/onnx/model.onnx");
 */
export async function measureQuantization(fp32Path: string, quantizedPath: string, c: ModelConfig, sequences: readonly number[][], reference?: { id: string; path: string }): Promise<QuantizationMeasurement> {
  const sessions = await Promise.all([fp32Path, quantizedPath, ...(reference ? [reference.path] : [])].map((p) => createSession(p)));
  const [fp32, int8, ref] = sessions as [ort.InferenceSession, ort.InferenceSession, ort.InferenceSession | undefined];
  const V = c.vocabSize;
  let tokens = 0;
  let maxDiff = 0;
  let maxAbs = 0;
  let klSum = 0;
  let klMax = 0;
  let refFp32 = 0;
  let refQ = 0;
  try {
    for (const ids of sequences) {
      const [a, b, r] = await Promise.all([fp32, int8, ref].map((s) => (s ? logitsOf(s, c, ids) : null)));
      for (let i = 0; i < a!.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(a![i]! - b![i]!));
        maxAbs = Math.max(maxAbs, Math.abs(a![i]!));
      }
      const kl = sequenceKl(b!, a!, V); // KL(q ‖ fp32) at each of the T positions
      klSum += kl.sum;
      klMax = Math.max(klMax, kl.max);
      if (r) {
        refFp32 += sequenceKl(a!, r, V).sum;
        refQ += sequenceKl(b!, r, V).sum;
      }
      tokens += ids.length;
    }
  } finally {
    await Promise.all(sessions.map((s) => s.release()));
  }
  const perToken = (x: number) => (tokens ? x / tokens : 0);
  const policyRef = reference ? { reference: reference.id, fp32: perToken(refFp32), quantized: perToken(refQ), delta: perToken(refQ - refFp32) } : undefined;
  return { sequences: sequences.length, tokens, logits_max_abs_diff: maxDiff, logits_max_abs: maxAbs, kl_quantized_fp32: { mean: perToken(klSum), max: klMax }, ...(policyRef ? { policy_reference_kl: policyRef } : {}) };
}

/** Whether a measurement is within QUANTIZATION_TOLERANCE; the reasons when not. */
export function quantizationProblems(m: QuantizationMeasurement, dtype: QuantizedDtype = "int8"): string[] {
  const t = QUANTIZATION_TOLERANCE;
  const problems: string[] = [];
  if (m.logits_max_abs_diff > t.logits_rel * Math.max(1, m.logits_max_abs)) problems.push(`max |Δlogit| ${m.logits_max_abs_diff.toExponential(2)} > ${t.logits_rel} · max(1, ${m.logits_max_abs.toFixed(2)})`);
  if (m.kl_quantized_fp32.mean > t.kl_mean) problems.push(`mean KL(${dtype} ‖ fp32) ${m.kl_quantized_fp32.mean.toExponential(2)} > ${t.kl_mean} nats/token`);
  const pr = m.policy_reference_kl;
  if (pr && Math.abs(pr.delta) > Math.max(t.policy_reference_kl_delta, t.policy_reference_kl_rel * pr.fp32)) problems.push(`KL to the reference moved by ${pr.delta.toExponential(2)} nats/token (fp32 ${pr.fp32.toExponential(3)})`);
  return problems;
}

// [T, V] logits of one unpadded sequence, one full pass with an empty past.
async function logitsOf(session: ort.InferenceSession, c: ModelConfig, ids: readonly number[]): Promise<Float32Array> {
  const out = await runStep(session, c, { ids: [[...ids]], mask: [ids.map(() => 1)], positions: [ids.map((_, t) => t)] });
  return out.logits!.data as Float32Array;
}
