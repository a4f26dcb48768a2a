// The seam between the registry (runtime-free) and the file system + ONNX Runtime (Node): where a client's
// path may point, and loading a verified checkpoint as an engine. serving/node-loader.ts implements it.
import type { EvalReport } from "@tether/shared/schemas/eval";
import type { Manifest } from "@tether/shared/schemas/manifest";
import type { SketchReference } from "@tether/shared/sketch/reference";
import type { InferenceEngine } from "../engine/engine";

/** A checkpoint directory verified (manifest hashes) and opened as an engine. */
export interface LoadedCheckpoint {
  id: string; // registry id (content-addressed, see registryId); engine.info.id is the same
  dir: string; // real path, symlinks resolved
  manifest: Manifest;
  engine: InferenceEngine;
  evalReport: EvalReport | null;
  sketch: SketchReference | null; // its own sketch.json
  tokenizerSha256: string; // sha256 of tokenizer.json, checked against the file by the manifest verification
}

export interface CheckpointLoader {
  /** A client's path → a directory inside the checkpoint root; throws HttpError (400/403) otherwise. */
  resolve(path: string): string;
  /** Verifies and opens a checkpoint; throws an Error whose message names the file and the problem. */
  load(dir: string): Promise<LoadedCheckpoint>;
}

/** sha256 of tokenizer.json as the (verified) file list records it. */
export function tokenizerSha256(manifest: Manifest): string {
  return manifest.files[manifest.tokenizer.file]?.sha256 ?? manifest.tokenizer.sha256;
}

/**
 * Content-addressed registry id: the manifest id when it is one already (the trainer names checkpoints
 * `<kind>-<command>-<first 10 hex of the weights' sha256>`), else `<manifest id>-<first 10 hex of
 * sha256(files)>` where files is the manifest's sorted "path sha256" lines. `digest` is sha256 hex of a string.
 * @example registryId(manifest, sha256Hex) // "policy-sft-c844c36d0a"
 */
export function registryId(manifest: Manifest, digest: (text: string) => string): string {
  const weights = manifest.files["model.safetensors"]?.sha256;
  const suffix = /-([0-9a-f]{10})$/.exec(manifest.id)?.[1];
  if (weights !== undefined && suffix === weights.slice(0, 10)) return manifest.id;
  const lines = Object.entries(manifest.files)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, f]) => `${path} ${f.sha256}`);
  return `${manifest.id.slice(0, 116)}-${digest(lines.join("\n")).slice(0, 10)}`;
}
