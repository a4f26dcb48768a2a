// Checkpoint file fingerprints: sha256 + size of every file under a directory, and verification against
// manifest.json, so a torn copy or an edited weight file is refused before anything loads it. One
// implementation for the trainer (save, export, load) and the gateway (serve). Node only (node:fs,
// node:crypto), which is why it is not in packages/shared; the parsing and comparison it shares with the
// Worker's readers are in verify.ts. Files are hashed in 4 MiB chunks, so a multi-GB model.onnx_data is never
// held in memory.
import { createHash } from "node:crypto";
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import type { Manifest, ManifestFile } from "@tether/shared/schemas/manifest";
import { assertFilesMatch, parseManifest } from "./verify";

const CHUNK_BYTES = 4 << 20;

/** sha256 (hex) of a file, read in chunks. */
export function sha256File(path: string): string {
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
 * sha256 and byte size of every file below `dir` (except those `skip` names; default manifest.json), keyed
 * by "/"-separated relative path, in a stable order.
 * @example hashDirectory("models/demo/policy")["model.safetensors"].sha256
 */
export function hashDirectory(dir: string, skip: (path: string) => boolean = (p) => p === "manifest.json"): Record<string, ManifestFile> {
  const out: Record<string, ManifestFile> = {};
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const path = relative(dir, full).split(sep).join("/");
        if (!skip(path)) out[path] = { sha256: sha256File(full), bytes: statSync(full).size };
      }
    }
  };
  walk(dir);
  return out;
}

/**
 * Read and validate manifest.json, then check every listed file's size and hash; throws one line naming each
 * problem ("model.safetensors: sha256 …, manifest says …"). `regenerated(path)` marks files the caller is
 * about to rewrite (not checked either way).
 * @example const m = verifyCheckpoint("models/demo/reference");
 */
export function verifyCheckpoint(dir: string, { regenerated }: { regenerated?: (path: string) => boolean } = {}): Manifest {
  const path = join(dir, "manifest.json");
  let text: string | null;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`${path}: ${(e as Error).message}`);
    text = null;
  }
  const m = parseManifest(path, text);
  assertFilesMatch(path, m, hashDirectory(dir, (f) => f === "manifest.json" || regenerated?.(f) === true), regenerated);
  return m;
}
