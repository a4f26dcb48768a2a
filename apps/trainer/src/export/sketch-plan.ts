// What the exporter sketches and calibrates on: the sketch spec (shared with the reference when one is
// given, so policy and reference sketches use the same projections S_l) and the calibration sequences.
import { readSftJsonl, type SftExample } from "../data/jsonl";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { makeSketchSpec, parseSketchJson, type SketchSpec } from "@tether/shared/sketch/index";
import { ParameterError } from "@tether/shared/errors";
import { BASE_DATASET, BUNDLED_DATASETS, bundledDataset, isBundledDatasetName } from "../data/bundled";
import { encodeExamples } from "../data/batches";
import type { ModelConfig } from "../model/config";
import type { Tokenizer } from "../tokenizer/tokenizer";

/** Calibration requests per export (held-out base-corpus examples). */
export const CALIBRATION_EXAMPLES = 256;

/**
 * Monitored residual positions: every block output 1 … L when L ≤ 4, else 4 evenly spaced ones ending at L.
 * @example defaultSketchLayers(24) // [6, 12, 18, 24]
 */
export function defaultSketchLayers(numLayers: number): number[] {
  if (numLayers <= 4) return Array.from({ length: numLayers }, (_, i) => i + 1);
  return [1, 2, 3, 4].map((k) => Math.round((numLayers * k) / 4));
}

/**
 * The reference's spec when `referenceDir` holds a sketch.json for the same width (policy and reference
 * then share S), else makeSketchSpec({ d, layers: defaultSketchLayers(L), seed: 0, m: min(128, d) }).
 * @example sketchSpecFor(cfg, "models/demo/reference").spec.layers
 */
export function sketchSpecFor(c: ModelConfig, referenceDir?: string): { spec: SketchSpec; source: string } {
  const path = referenceDir === undefined ? undefined : join(referenceDir, "sketch.json");
  if (path !== undefined && existsSync(path)) {
    const { spec } = parseSketchJson(readFileSync(path, "utf8"));
    if (spec.d !== c.hiddenSize) throw new Error(`--reference: ${path} sketches width ${spec.d}, this model has hidden_size ${c.hiddenSize}`);
    if (Math.max(...spec.layers) > c.numLayers) throw new Error(`--reference: ${path} monitors layer ${Math.max(...spec.layers)}, this model has ${c.numLayers}`);
    return { spec, source: path };
  }
  const spec = makeSketchSpec({ d: c.hiddenSize, layers: defaultSketchLayers(c.numLayers), seed: 0, m: Math.min(128, c.hiddenSize) });
  return { spec, source: "default" };
}

/**
 * Calibration requests rendered as in training (prompt ++ completion ++ eos, the tokens the model reads: the
 * last one is only a target), from `--data` (use traffic like what the gateway will serve):
 * - a JSONL file of {"prompt","completion"} lines (the first n);
 * - `bundled:<task>/<split>[,<task>/<split>…]`: seeded examples of bundled tasks, n split evenly between the parts
 *   and interleaved (e.g. `bundled:arithmetic/train,multiplication/train` for a policy fine-tuned on the second);
 * - nothing: seeded held-out base-corpus examples (`bundled:arithmetic/heldout`).
 * Too-long examples are dropped.
 * @example calibrationSequences(tok, cfg, 42).length // 256
 */
export function calibrationSequences(tok: Tokenizer, c: ModelConfig, seed: number, n = CALIBRATION_EXAMPLES, data?: string): number[][] {
  const examples = calibrationExamples(seed, n, data);
  const { rows } = encodeExamples(examples, tok, { mode: "pretrain", maxLength: c.maxPositions, truncate: "drop" });
  return rows.map((r) => Array.from(r.ids.subarray(0, r.ids.length - 1)));
}

/** What `--data` names as calibration examples (see calibrationSequences). */
export function calibrationExamples(seed: number, n: number, data = DEFAULT_CALIBRATION_DATA): SftExample[] {
  if (!data.startsWith(BUNDLED_PREFIX)) return readSftJsonl(data).slice(0, n);
  const parts = data.slice(BUNDLED_PREFIX.length).split(",").map((part) => {
    const [name, split] = part.split("/");
    if (name === undefined || !isBundledDatasetName(name) || (split !== "train" && split !== "heldout")) {
      throw new ParameterError("data", `"${part}" is not <task>/<split> with task one of ${BUNDLED_DATASETS.join(", ")} and split train or heldout`, data);
    }
    return bundledDataset(name, split, seed, Math.ceil(n / (data.split(",").length)));
  });
  const out: SftExample[] = [];
  for (let i = 0; out.length < n && parts.some((p) => i < p.length); i++) for (const p of parts) if (i < p.length && out.length < n) out.push(p[i]!);
  return out;
}

const BUNDLED_PREFIX = "bundled:";
/** The calibration set when `--data` is not given. */
export const DEFAULT_CALIBRATION_DATA = `${BUNDLED_PREFIX}${BASE_DATASET}/heldout`;
