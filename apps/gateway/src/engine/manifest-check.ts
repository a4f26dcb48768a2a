// Serving-side integrity check of a checkpoint directory: manifest.json parsed with the shared schema, every
// file's size and sha256 recomputed and compared (manifestFileProblems), so a torn copy or an edited weight
// file is refused before ONNX Runtime reads it. Node only (node:fs, node:crypto).
//
// Same rules as the trainer's checkpoint/files.ts (which the gateway cannot import: apps/trainer pulls in
// TensorFlow.js); files are hashed in 4 MiB chunks so a multi-GB model.onnx_data is never held in memory.
import { createHash } from "node:crypto";
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { issueLines } from "@tether/shared/schemas/common";
import { manifest as manifestSchema, manifestFileProblems, type Manifest, type ManifestFile } from "@tether/shared/schemas/manifest";

const CHUNK_BYTES = 4 << 20;

/** sha256 (hex) of a file, read in chunks. */
export function sha256OfFile(path: string): string {
  const hash = createHash("sha256");
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  const fd = openSync(path, "r");
  try {
    for (let n = readSync(fd, buffer, 0, CHUNK_BYTES, null); n > 0; n = readSync(fd, buffer, 0, CHUNK_BYTES, null)) {
      hash.update(buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/**
 * Size and sha256 of every file below `dir` except manifest.json, keyed by "/"-separated relative path.
 * @example fingerprintDirectory("models/demo/policy")["onnx/model.onnx"].bytes
 */
export function fingerprintDirectory(dir: string): Record<string, ManifestFile> {
  const out: Record<string, ManifestFile> = {};
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const full = join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const path = relative(dir, full).split(sep).join("/");
        if (path !== "manifest.json") out[path] = { sha256: sha256OfFile(full), bytes: statSync(full).size };
      }
    }
  };
  walk(dir);
  return out;
}

/**
 * Parse `<dir>/manifest.json` and check every file against it; throws one line naming the file and each
 * problem ("model.safetensors: sha256 …, manifest says …"). Returns the validated manifest.
 * @example const manifest = verifyManifest("models/demo/reference"); manifest.id
 */
export function verifyManifest(dir: string): Manifest {
  const path = join(dir, "manifest.json");
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    throw new Error(`${path}: ${missing ? "not found (is this a checkpoint directory?)" : (e as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${path}: ${issueLines(parsed.error).join("; ")}`);
  const problems = manifestFileProblems(parsed.data, fingerprintDirectory(dir));
  if (problems.length) throw new Error(`${path}: checkpoint files do not match the manifest (refusing to serve): ${problems.join("; ")}`);
  return parsed.data;
}
