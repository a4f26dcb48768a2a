// CheckpointReader over a checkpoint directory (Node): files read with node:fs, integrity checked by
// @tether/checkpoint/files (hashed in chunks, so a multi-GB model.onnx_data never sits in memory).
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { verifyCheckpoint } from "@tether/checkpoint/files";
import { parseManifest } from "@tether/checkpoint/verify";
import type { Manifest } from "@tether/shared/schemas/manifest";
import { loadServingCheckpoint, type OnnxWeights, type ServingCheckpoint } from "./checkpoint";
import type { CheckpointReader } from "./checkpoint-reader";

/** @example await loadServingCheckpoint(new NodeCheckpointReader("models/demo/policy")) */
export class NodeCheckpointReader implements CheckpointReader {
  /** `verified`: this process has already hashed the directory against its manifest; verify() only parses it. */
  constructor(
    readonly location: string,
    private readonly verified = false,
  ) {}

  where(name: string): string {
    return join(this.location, ...name.split("/"));
  }

  async exists(name: string): Promise<boolean> {
    return existsSync(this.where(name));
  }

  async read(name: string): Promise<Uint8Array | null> {
    try {
      return await readFile(this.where(name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  }

  async verify(): Promise<Manifest> {
    if (!this.verified) return verifyCheckpoint(this.location);
    const path = this.where("manifest.json");
    return parseManifest(path, existsSync(path) ? await readFile(path, "utf8") : null);
  }
}

/**
 * Verify and read a checkpoint directory. `verified`: skip hashing, because this process already verified the
 * directory (the engine pool's threads load what its main thread checked; a multi-GB model is hashed once, not
 * once per thread).
 * @example const ckpt = await loadNodeCheckpoint("models/demo/policy"); ckpt.onnx.path // "models/demo/policy/onnx/model.onnx"
 */
export function loadNodeCheckpoint(dir: string, weights: OnnxWeights = "fp32", { verified = false }: { verified?: boolean } = {}): Promise<ServingCheckpoint> {
  return loadServingCheckpoint(new NodeCheckpointReader(dir, verified), weights);
}
