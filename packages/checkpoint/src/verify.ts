// Manifest verification without a runtime: parse manifest.json's text, fingerprint bytes with Web Crypto
// (crypto.subtle: Node ≥ 19, workerd, browsers), and compare what a checkpoint holds with what its manifest
// lists. files.ts (Node: streamed hashing of a directory) and the Worker's readers (bundled files, R2 objects)
// both end in assertFilesMatch, so a checkpoint is refused for the same reasons, in the same words, everywhere.
import { issueLines } from "@tether/shared/schemas/common";
import { manifest as manifestSchema, manifestFileProblems, type Manifest, type ManifestFile } from "@tether/shared/schemas/manifest";

/**
 * Parse and validate manifest.json; `path` names it in the one-line error.
 * @example const m = parseManifest("models/demo/policy/manifest.json", text);
 */
export function parseManifest(path: string, text: string | null): Manifest {
  if (text === null) throw new Error(`${path}: not found (is this a checkpoint directory?)`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${path}: ${issueLines(parsed.error).join("; ")}`);
  return parsed.data;
}

/**
 * Throws one line listing every difference between the manifest's files and the files `found` (size first,
 * then sha256; missing and unlisted files). `skip(path)` marks files left out on both sides.
 * @example assertFilesMatch("x/manifest.json", m, await fingerprintAll(files))
 */
export function assertFilesMatch(path: string, m: Manifest, found: Record<string, ManifestFile>, skip?: (file: string) => boolean): void {
  const listed = { files: Object.fromEntries(Object.entries(m.files).filter(([f]) => !skip?.(f))) };
  const present = Object.fromEntries(Object.entries(found).filter(([f]) => f !== "manifest.json" && !skip?.(f)));
  const problems = manifestFileProblems(listed, present);
  if (problems.length) throw new Error(`${path}: checkpoint files do not match the manifest: ${problems.join("; ")}`);
}

/** Lower-case hex of a digest. */
export function hex(digest: ArrayBuffer): string {
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * sha256 and size of bytes held in memory (Web Crypto).
 * @example await fingerprint(new TextEncoder().encode("abc")) // { sha256: "ba7816bf…", bytes: 3 }
 */
export async function fingerprint(bytes: Uint8Array): Promise<ManifestFile> {
  return { sha256: hex(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)), bytes: bytes.byteLength };
}
