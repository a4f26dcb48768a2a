// What the exporter sketches and calibrates on: the sketch spec (shared with the reference when one is
// given, so policy and reference sketches use the same projections S_l) and the calibration sequences.
import { readSftJsonl } from "../data/jsonl";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { makeSketchSpec, parseSketchJson, type SketchSpec } from "@tether/shared/sketch/index";
import { BASE_DATASET, bundledDataset } from "../data/bundled";
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
 * last one is only a target): `--data` {"prompt","completion"} lines when given (the first n; use traffic
 * like what the gateway will serve), else seeded held-out base-corpus examples. Too-long examples are dropped.
 * @example calibrationSequences(tok, cfg, 42).length // 256
 */
export function calibrationSequences(tok: Tokenizer, c: ModelConfig, seed: number, n = CALIBRATION_EXAMPLES, data?: string): number[][] {
  const examples = data ? readSftJsonl(data).slice(0, n) : bundledDataset(BASE_DATASET, "heldout", seed, n);
  const { rows } = encodeExamples(examples, tok, { mode: "pretrain", maxLength: c.maxPositions, truncate: "drop" });
  return rows.map((r) => Array.from(r.ids.subarray(0, r.ids.length - 1)));
}
