// --freeze: per-layer gradient scales α_l ∈ [0, 1]. The trainer multiplies block l's gradients by α_l
// (0 = frozen, 1 = trained normally, in between = a slower learning rate for that block).
//
// Grammar:  spec  := entry ("," entry)*
//           entry := target ":" scale          e.g. "0:0,1:0.1,*:1"  or  "0-5:0,*:1"
//           target:= layer | layer "-" layer | "*"   (ranges inclusive; "*" = every layer not named)

import { ParameterError } from "../errors";

/** Parsed --freeze: explicit scales for some layers and one scale for the rest. */
export interface FreezeSpec {
  /** Layer index (as a decimal string, so the object is plain JSON) → α in [0, 1]. */
  layers: Record<string, number>;
  /** α for every layer not in `layers` ("*"); 1 when the spec has no "*". */
  rest: number;
}

/** No freezing: every layer trains at full rate. */
export const NO_FREEZE: FreezeSpec = Object.freeze({ layers: Object.freeze({}) as Record<string, number>, rest: 1 });

const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const LAYER = /^\d+$/;

function fail(entry: string, requirement: string): never {
  throw new ParameterError("freeze", `entry ${JSON.stringify(entry)}: ${requirement}`);
}

/**
 * Parses a --freeze value. Errors name the offending entry.
 * @example parseFreezeSpec("0:0,1:0.1,*:1") // { layers: { "0": 0, "1": 0.1 }, rest: 1 }
 * @example parseFreezeSpec("0-2:0")         // { layers: { "0": 0, "1": 0, "2": 0 }, rest: 1 }
 */
export function parseFreezeSpec(text: string): FreezeSpec {
  if (text.trim() === "") throw new ParameterError("freeze", 'must not be empty (e.g. "0:0,1:0.1,*:1")');
  const layers: Record<string, number> = {};
  const setBy: Record<string, string> = {};
  let rest: number | undefined;
  for (const raw of text.split(",")) {
    const entry = raw.trim();
    const colon = entry.indexOf(":");
    if (colon < 0) fail(entry, "must be <layer>:<scale>, <from>-<to>:<scale> or *:<scale>");
    const target = entry.slice(0, colon).trim();
    const scaleText = entry.slice(colon + 1).trim();
    const scale = DECIMAL.test(scaleText) ? Number(scaleText) : NaN;
    if (!(scale >= 0 && scale <= 1)) fail(entry, "scale must be a number in [0, 1]");
    if (target === "*") {
      if (rest !== undefined) fail(entry, '"*" is given twice');
      rest = scale;
      continue;
    }
    const [from, to = from, extra] = target.split("-").map((s) => s.trim());
    if (extra !== undefined || !LAYER.test(from ?? "") || !LAYER.test(to ?? "")) {
      fail(entry, "layer must be a non-negative integer, a range <from>-<to> or *");
    }
    const lo = Number(from);
    const hi = Number(to);
    if (lo > hi) fail(entry, `range start must be ≤ its end (${lo} > ${hi})`);
    if (hi >= 4096) fail(entry, "layer index must be < 4096");
    for (let l = lo; l <= hi; l++) {
      const key = String(l);
      if (key in layers) fail(entry, `layer ${l} is already set by ${JSON.stringify(setBy[key])}`);
      layers[key] = scale;
      setBy[key] = entry;
    }
  }
  return { layers, rest: rest ?? 1 };
}

/**
 * The scale of each of `numLayers` blocks. Throws when the spec names a layer the model lacks,
 * since that is almost always a spec written for another preset.
 * @example freezeScales(parseFreezeSpec("0:0,*:0.5"), 3) // [0, 0.5, 0.5]
 */
export function freezeScales(spec: FreezeSpec, numLayers: number): number[] {
  for (const key of Object.keys(spec.layers)) {
    if (Number(key) >= numLayers) {
      throw new ParameterError("freeze", `names layer ${key} but the model has ${numLayers} layers (0–${numLayers - 1})`);
    }
  }
  return Array.from({ length: numLayers }, (_, l) => spec.layers[String(l)] ?? spec.rest);
}

/**
 * The canonical text of a spec (runs of equal scales collapsed into ranges), parseable again.
 * @example formatFreezeSpec({ layers: { "0": 0, "1": 0, "2": 0.1 }, rest: 1 }) // "0-1:0,2:0.1,*:1"
 */
export function formatFreezeSpec(spec: FreezeSpec): string {
  const keys = Object.keys(spec.layers).map(Number).sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < keys.length; ) {
    const start = keys[i]!;
    const scale = spec.layers[String(start)]!;
    let end = start;
    while (i + 1 < keys.length && keys[i + 1] === end + 1 && spec.layers[String(end + 1)] === scale) end = keys[++i]!;
    parts.push(`${start === end ? start : `${start}-${end}`}:${scale}`);
    i++;
  }
  parts.push(`*:${spec.rest}`);
  return parts.join(",");
}
