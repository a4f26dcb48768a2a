// Decoder weights as plain Float32Arrays by Hugging Face name: from a checkpoint's model.safetensors (the
// exporter never needs tfjs) or from in-memory tfjs params (tests, benchmarks).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeSafetensors, toFloat32 } from "@tether/shared/io/safetensors";
import type { ModelConfig } from "../model/config";
import { parameterSpecs, type Params } from "../model/params";
import type { DecoderWeights } from "./decoder-io";

/**
 * Every parameter of `config` from `<dir>/model.safetensors` (bf16/fp16 widened to fp32), shapes checked.
 * @example const w = readCheckpointWeights("models/demo/policy", config);
 */
export function readCheckpointWeights(dir: string, config: ModelConfig): DecoderWeights {
  const path = join(dir, "model.safetensors");
  const file = decodeSafetensors(new Uint8Array(readFileSync(path)));
  const out = new Map<string, Float32Array>();
  for (const spec of parameterSpecs(config)) {
    const raw = file.tensors.get(spec.name);
    if (!raw) throw new Error(`${path}: missing tensor ${spec.name}`);
    if (raw.shape.join(",") !== spec.shape.join(",")) throw new Error(`${path}: ${spec.name} has shape [${raw.shape}], config.json implies [${spec.shape}]`);
    out.set(spec.name, toFloat32(raw));
  }
  return out;
}

/**
 * The values of tfjs params (copied out of the backend).
 * @example const w = weightsFromParams(initParams(cfg, 1));
 */
export function weightsFromParams(params: Params): DecoderWeights {
  return new Map([...params].map(([name, v]) => [name, v.dataSync() as Float32Array]));
}
