// CheckpointLoader on Node: paths must resolve (symlinks included) inside the checkpoint root, and a
// checkpoint opens as an OrtNodeEngine (manifest hashes verified first) under its registry id.
import { createHash } from "node:crypto";
import { realpathSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { HttpError } from "../http/errors";
import type { InferenceEngine } from "../engine/engine";
import type { ServingCheckpoint } from "../engine/checkpoint";
import { OrtNodeEngine, type OrtNodeEngineOptions } from "../engine/ort-node";
import { registryId, tokenizerSha256, type CheckpointLoader, type LoadedCheckpoint } from "./checkpoint-loader";
import { withId } from "./served-policy";

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");

/** Opens a verified checkpoint directory as an engine: in process (OrtNodeEngine) or in the engine pool's workers. */
export type OpenEngine = (dir: string) => Promise<InferenceEngine & { checkpoint: ServingCheckpoint }>;

/**
 * @example const loader = nodeCheckpointLoader("models", { intraOpNumThreads: 1 }); await loader.load(loader.resolve("models/demo/policy"));
 */
export function nodeCheckpointLoader(root: string, options: OrtNodeEngineOptions = {}, open: OpenEngine = (dir) => OrtNodeEngine.load(dir, options)): CheckpointLoader {
  const realRoot = realpathSync(resolve(root));
  return {
    resolve(path) {
      if (path.includes("\0")) throw HttpError.of(400, "path must not contain NUL", "path", "invalid_value");
      let real: string;
      try {
        real = realpathSync(resolve(path)); // relative paths resolve as the gateway's own config paths do
      } catch {
        throw HttpError.of(400, `path ${JSON.stringify(path)} does not exist`, "path", "invalid_value");
      }
      const rel = relative(realRoot, real);
      if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
        throw HttpError.of(403, `path ${JSON.stringify(path)} is outside the checkpoint root (promotion.checkpoint_root); symlinks are followed before the check`, "path", "path_outside_root");
      }
      if (!statSync(real).isDirectory()) throw HttpError.of(400, `path ${JSON.stringify(path)} is not a checkpoint directory`, "path", "invalid_value");
      return real;
    },
    async load(dir): Promise<LoadedCheckpoint> {
      const engine = await open(dir);
      const c = engine.checkpoint;
      const id = registryId(c.manifest, sha256Hex);
      return {
        id,
        dir,
        manifest: c.manifest,
        engine: withId(engine, id),
        evalReport: c.evalReport,
        sketch: c.sketch,
        tokenizerSha256: tokenizerSha256(c.manifest),
      };
    },
  };
}
