// Checkpoint file fingerprints: sha256 + size of every file under a directory, and verification against
// manifest.json (a torn copy or an edited weight file is refused before anything loads it).
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { manifest as manifestSchema, manifestFileProblems, type Manifest, type ManifestFile } from "@tether/shared/schemas/manifest";
import { issueLines } from "@tether/shared/schemas/common";

/**
 * sha256 and byte size of every file below `dir`, keyed by "/"-separated relative path.
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

export function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/**
 * Read and validate manifest.json, then check every listed file's size and hash; throws one message
 * listing each problem. `regenerated(path)` marks files the caller is about to rewrite (not checked).
 * @example const m = verifyCheckpoint("models/demo/reference");
 */
export function verifyCheckpoint(dir: string, { regenerated }: { regenerated?: (path: string) => boolean } = {}): Manifest {
  const path = join(dir, "manifest.json");
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "not found (is this a checkpoint directory?)" : (e as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${path}: ${issueLines(parsed.error).join("; ")}`);
  // `regenerated` files (export's outputs, when export runs again) are left out of the comparison both ways.
  const listed = { ...parsed.data, files: Object.fromEntries(Object.entries(parsed.data.files).filter(([f]) => !regenerated?.(f))) };
  const problems = manifestFileProblems(listed, hashDirectory(dir, (f) => f === "manifest.json" || regenerated?.(f) === true));
  if (problems.length) throw new Error(`${dir}: checkpoint files do not match manifest.json: ${problems.join("; ")}`);
  return parsed.data;
}
