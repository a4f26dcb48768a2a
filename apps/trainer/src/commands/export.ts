// `tether-train export <ckpt>`: the checkpoint's ONNX decoder with KV cache and sketch outputs, and its
// sketch statistics, written into the checkpoint, whose manifest is then rehashed.
//
// 1) verify the checkpoint; read config.json, model.safetensors and the tokenizer
// 2) decoder graph: --onnx-variant standard | fused | auto (auto: each variant checked against the float64
//    reference forward pass and timed; the fastest passing one is kept — export/decoder.ts)
// 3) sketch outputs `sketch.{l}` (spec shared with --reference's sketch.json when given), structural check
//    (+ onnx.checker when Python's onnx is installed), written to onnx/model.onnx (+ model.onnx_data > 2 GB)
// 4) sketch.json from 256 calibration requests run through the written model (--data, else held-out base corpus)
// 4b) --quantize int8|int4: onnx/model_int8.onnx (or model_int4.onnx) beside it (export/quantize.ts), checked like the fp32 graph and measured
//     on held-out prompts against it and against --reference (export/quantize-eval.ts); out of tolerance → error
// 4c) eval.json, when the checkpoint has one: its sketch section (the policy's own held-out sketch percentiles, ranked
//     in --reference's sketch.json, else its own; export/eval-sketch.ts), written just before the rehash
// 5) generation_config.json if missing; onnx/export.json records the variant, opsets and the measurements
// 6) manifest.json rewritten with the sha256 of every file (onnx/* included) and verified
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ParameterError } from "@tether/shared/errors";
import { issueLines } from "@tether/shared/schemas/common";
import { manifest as manifestSchema, type Manifest } from "@tether/shared/schemas/manifest";
import type { TrainerConfig } from "@tether/shared/schemas/trainer-config";
import { hashDirectory, verifyCheckpoint } from "@tether/checkpoint/files";
import { quantileAt, type EvalSketch } from "@tether/shared/schemas/eval";
import { SketchReference, type SketchJson } from "@tether/shared/sketch/index";
import { calibrateSketch } from "../export/calibrate";
import { checkGraph, pythonOnnxAvailable, runOnnxChecker } from "../export/check-graph";
import { chooseDecoder, VARIANT_OPSETS, type OnnxVariant, type VariantReport } from "../export/decoder";
import { writeModel, type WriteModelOptions } from "../export/external-data";
import { evalSketchSection, heldOutRequests, readEvalJson, writeEvalSketch } from "../export/eval-sketch";
import { quantizeGraph, type QuantizedDtype } from "../export/quantize";
import { QUANTIZATION_TOLERANCE, measureQuantization, quantizationProblems, type QuantizationReport } from "../export/quantize-eval";
import { addSketchOutputs } from "../export/sketch-outputs";
import { calibrationSequences, DEFAULT_CALIBRATION_DATA, sketchSpecFor } from "../export/sketch-plan";
import { readCheckpointWeights } from "../export/weights";
import { fromHfConfig } from "../model/config";
import { readTokenizerDir } from "../tokenizer/tokenizer";

export interface ExportResult {
  dir: string;
  manifest: Manifest;
  variant: OnnxVariant;
  /** Files written under the checkpoint, relative ("onnx/model.onnx", "sketch.json", …). */
  written: string[];
  reports: VariantReport[];
}

/** onnx/export.json: how the graph was made (read by humans and by the gateway's engine choice). */
export interface ExportRecord {
  variant: OnnxVariant;
  opsets: { domain: string; version: number }[];
  ir_version: number;
  external_data: boolean;
  sketch: { layers: number[]; m: number; source: string; calibration_requests: number; calibration_data: string };
  variants: VariantReport[];
  onnxruntime_checked: boolean;
  onnx_checker: "passed" | "not installed";
  /** --quantize int8|int4: the weight-quantised graph and its measured cost. */
  quantized?: QuantizationReport;
}

/**
 * @example await exportCheckpoint(parseTrainerConfig({ command: "export", input: "models/demo/policy" }))
 */
export async function exportCheckpoint(cfg: TrainerConfig, log: (line: string) => void = console.error, o: WriteModelOptions = {}): Promise<ExportResult> {
  const started = Date.now();
  const dir = cfg.input;
  if (dir === undefined) throw new ParameterError("<ckpt>", "is required: tether-train export <checkpoint directory>");
  // 1) inputs
  // Export's own outputs are not checked: an interrupted export leaves them unlisted or changed, and
  // running export again must repair that (everything else is verified; the manifest is rehashed at the end).
  const before = verifyCheckpoint(dir, { regenerated: isExportOutput });
  const config = fromHfConfig(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")));
  const tok = readTokenizerDir(dir);
  log(`tether-train: export ${before.id} (${before.kind}, d=${config.hiddenSize}, ${config.numLayers} layers, vocab ${config.vocabSize})`);
  const weights = readCheckpointWeights(dir, config);

  // 2) decoder
  const { variant, model: decoder, reports } = await chooseDecoder(config, weights, cfg.onnxVariant, log);
  log(`tether-train: export: ${variant} variant${cfg.onnxVariant === "auto" ? " (auto: fastest that matches the reference)" : ""}`);

  // 3) sketch outputs, checks, write
  const { spec, source } = sketchSpecFor(config, cfg.reference);
  const model = addSketchOutputs(decoder, spec);
  const problems = checkGraph(model);
  if (problems.length) throw new Error(`export: the graph is malformed: ${problems.slice(0, 5).join("; ")}`);
  const modelPath = join(dir, "onnx", "model.onnx");
  const { external, initializerBytes } = writeModel(model, modelPath, o);
  log(`tether-train: export: wrote onnx/model.onnx (${(initializerBytes / 2 ** 20).toFixed(1)} MiB of weights${external ? " in onnx/model.onnx_data" : ""}), sketch layers [${spec.layers.join(", ")}], m=${spec.m}`);
  const checker = pythonOnnxAvailable() ? runOnnxChecker(modelPath) : "not installed";
  if (checker !== null && checker !== "not installed") throw new Error(`export: onnx.checker refused onnx/model.onnx: ${checker}`);

  // 4) sketch statistics
  const sequences = calibrationSequences(tok, config, cfg.seed, undefined, cfg.data);
  const sketch = await calibrateSketch(modelPath, config, spec, sequences);
  writeFileSync(join(dir, "sketch.json"), `${JSON.stringify(sketch)}\n`);
  log(`tether-train: export: sketch.json from ${sequences.length} calibration requests`);
  const quantized = cfg.quantize === "none" ? null : await exportQuantized(cfg.quantize, dir, model, config, sequences, cfg, o, log);
  for (const dtype of QUANTIZED_DTYPES) {
    if (dtype === quantized?.report.dtype) continue;
    for (const f of [quantizedFile(dtype), `${quantizedFile(dtype)}_data`]) rmSync(join(dir, "onnx", f), { force: true }); // stale: it would not match this model.onnx
  }
  const evalSketch = await heldOutSketch(dir, modelPath, config, tok, cfg.reference, sketch, log);

  // 5) side files
  const written = ["onnx/model.onnx", ...(external ? ["onnx/model.onnx_data"] : []), ...(quantized?.written ?? []), "sketch.json", "onnx/export.json"];
  if (!existsSync(join(dir, "generation_config.json"))) {
    const generation = { bos_token_id: config.bosTokenId, eos_token_id: config.eosTokenId, pad_token_id: tok.padId };
    writeFileSync(join(dir, "generation_config.json"), `${JSON.stringify(generation, null, 2)}\n`);
    written.push("generation_config.json");
  }
  const record: ExportRecord = {
    variant,
    opsets: VARIANT_OPSETS[variant].map((op) => ({ domain: op.domain ?? "", version: Number(op.version) })),
    ir_version: Number(model.irVersion),
    external_data: external,
    sketch: { layers: spec.layers, m: spec.m, source: source === "default" ? "default" : "reference", calibration_requests: sequences.length, calibration_data: cfg.data ?? DEFAULT_CALIBRATION_DATA },
    variants: reports,
    onnxruntime_checked: true,
    onnx_checker: checker === null ? "passed" : "not installed",
    ...(quantized ? { quantized: quantized.report } : {}),
  };
  writeFileSync(join(dir, "onnx", "export.json"), `${JSON.stringify(record, null, 2)}\n`);

  // 6) manifest (eval.json last: an interruption between it and the rehash is the shortest possible)
  if (evalSketch) {
    writeEvalSketch(dir, evalSketch.raw, evalSketch.sketch);
    written.push("eval.json");
  }
  const manifest = rehash(dir, before);
  log(`tether-train: export: done in ${((Date.now() - started) / 1000).toFixed(1)} s; manifest lists ${Object.keys(manifest.files).length} files`);
  return { dir, manifest, variant, written, reports };
}

const QUANTIZED_DTYPES: readonly QuantizedDtype[] = ["int8", "int4"];
const quantizedFile = (dtype: QuantizedDtype) => `model_${dtype}.onnx`;
const SCHEMES: Record<QuantizedDtype, string> = {
  int8: "weight-only, symmetric per output channel, DequantizeLinear → MatMul",
  int4: "weight-only, symmetric per block of 32 rows of a column, com.microsoft MatMulNBits (accuracy_level 4)",
};
const HELDOUT_SEQUENCES = 32; // of the calibration sequences: enough tokens for a stable mean KL, seconds to run

/** onnx/model_<dtype>.onnx from the fp32 model (sketch outputs included), checked, written and measured. */
async function exportQuantized(
  dtype: QuantizedDtype, dir: string, fp32: Parameters<typeof quantizeGraph>[0], config: ReturnType<typeof fromHfConfig>, sequences: number[][],
  cfg: TrainerConfig, o: WriteModelOptions, log: (line: string) => void,
): Promise<{ report: QuantizationReport; written: string[] }> {
  const file = quantizedFile(dtype);
  const { model, matrices, bytesBefore, bytesAfter } = quantizeGraph(fp32, dtype);
  const problems = checkGraph(model);
  if (problems.length) throw new Error(`export: the ${dtype} graph is malformed: ${problems.slice(0, 5).join("; ")}`);
  const path = join(dir, "onnx", file);
  const { external } = writeModel(model, path, o);
  const checker = pythonOnnxAvailable() ? runOnnxChecker(path) : "not installed";
  if (checker !== null && checker !== "not installed") throw new Error(`export: onnx.checker refused onnx/${file}: ${checker}`);
  const refPath = cfg.reference === undefined ? null : join(cfg.reference, "onnx", "model.onnx");
  const reference = refPath && existsSync(refPath) ? { id: JSON.parse(readFileSync(join(cfg.reference!, "manifest.json"), "utf8")).id as string, path: refPath } : undefined;
  const held = sequences.slice(0, HELDOUT_SEQUENCES);
  const m = await measureQuantization(join(dir, "onnx", "model.onnx"), path, config, held, reference);
  const failed = quantizationProblems(m, dtype);
  const { sequences: n, tokens, ...measured } = m;
  const report: QuantizationReport = {
    dtype, file: `onnx/${file}`, scheme: SCHEMES[dtype], matrices,
    weight_bytes: { fp32: bytesBefore, quantized: bytesAfter }, heldout: { sequences: n, tokens, data: cfg.data ?? DEFAULT_CALIBRATION_DATA },
    ...measured, tolerance: QUANTIZATION_TOLERANCE, passed: failed.length === 0, onnx_checker: checker === null ? "passed" : "not installed",
  };
  const ref = m.policy_reference_kl ? `; KL to ${m.policy_reference_kl.reference} ${m.policy_reference_kl.fp32.toExponential(3)} → ${m.policy_reference_kl.quantized.toExponential(3)} nats/token` : "";
  log(`tether-train: export: wrote onnx/${file} (${matrices} matrices, ${(bytesAfter / 2 ** 20).toFixed(1)} MiB vs ${(bytesBefore / 2 ** 20).toFixed(1)}); max |Δlogit| ${m.logits_max_abs_diff.toExponential(2)}, KL(${dtype} ‖ fp32) ${m.kl_quantized_fp32.mean.toExponential(2)} nats/token over ${tokens} held-out tokens${ref}`);
  if (failed.length) {
    rmSync(path, { force: true });
    rmSync(`${path}_data`, { force: true });
    throw new Error(`export: the ${dtype} graph is outside its tolerance (${failed.join("; ")}); onnx/${file} not kept`);
  }
  return { report, written: [`onnx/${file}`, ...(external ? [`onnx/${file}_data`] : [])] };
}

/**
 * 4c) eval.json's sketch section, or null (no eval.json, or held-out prompts export cannot rebuild: said in the log).
 * Ranked in the sketch.json the gateway scores this checkpoint's traffic in: --reference's, else its own.
 */
async function heldOutSketch(
  dir: string, modelPath: string, config: ReturnType<typeof fromHfConfig>, tok: ReturnType<typeof readTokenizerDir>,
  referenceDir: string | undefined, own: SketchJson, log: (line: string) => void,
): Promise<{ raw: Record<string, unknown>; sketch: EvalSketch } | null> {
  const ev = readEvalJson(dir);
  if (!ev) return null;
  const requests = heldOutRequests(ev.report, tok);
  if ("skip" in requests) {
    log(`tether-train: export: eval.json keeps no sketch section: ${requests.skip}`);
    return null;
  }
  const refPath = referenceDir === undefined ? null : join(referenceDir, "sketch.json");
  const rankedIn = refPath && existsSync(refPath) ? refPath : join(dir, "sketch.json");
  const reference = SketchReference.fromJson(rankedIn === refPath ? readFileSync(refPath, "utf8") : own);
  const sketch = await evalSketchSection(modelPath, config, reference, requests.prompts, requests.decode);
  const p99 = sketch.per_request_percentile.map(({ layer, distribution }) => `${layer}: ${quantileAt(distribution, 0.99).toFixed(1)}`).join(", ");
  log(`tether-train: export: eval.json sketch section from ${requests.prompts.length} held-out ${requests.dataset} requests ranked in ${rankedIn} (p99 percentile per layer ${p99})`);
  return { raw: ev.raw, sketch };
}

/** Files export writes and rewrites: onnx/* and sketch.json. */
function isExportOutput(path: string): boolean {
  return path.startsWith("onnx/") || path === "sketch.json";
}

/** manifest.json with every file's current sha256, validated, written and verified against the disk. */
function rehash(dir: string, before: Manifest): Manifest {
  const parsed = manifestSchema.safeParse({ ...before, files: hashDirectory(dir) });
  if (!parsed.success) throw new Error(`export: invalid manifest: ${issueLines(parsed.error).join("; ")}`);
  writeFileSync(join(dir, "manifest.json"), `${JSON.stringify(parsed.data, null, 2)}\n`);
  return verifyCheckpoint(dir);
}
