// CheckpointReader over files held in memory: the demo pair bundled into the Worker (wrangler [[rules]]
// import them as Data, byte for byte). Verified like a directory: every file's size and sha256 (Web Crypto)
// against manifest.json, through @tether/checkpoint/verify.
import { assertFilesMatch, fingerprint, parseManifest } from "@tether/checkpoint/verify";
import type { Manifest, ManifestFile } from "@tether/shared/schemas/manifest";
import type { CheckpointReader } from "./checkpoint-reader";

/**
 * @example
 * import config from "../../../../models/demo/policy/config.json"; // an ArrayBuffer under the Data rule
 * const reader = new BundledCheckpointReader("models/demo/policy", { "config.json": config, … });
 */
export class BundledCheckpointReader implements CheckpointReader {
  private readonly files: ReadonlyMap<string, Uint8Array>;

  /** `files`: "/"-separated path in the checkpoint → its bytes (manifest.json included). */
  constructor(
    readonly location: string,
    files: Record<string, ArrayBuffer | Uint8Array>,
  ) {
    this.files = new Map(Object.entries(files).map(([name, data]) => [name, data instanceof Uint8Array ? data : new Uint8Array(data)]));
  }

  where(name: string): string {
    return `${this.location}/${name}`;
  }

  async exists(name: string): Promise<boolean> {
    return this.files.has(name);
  }

  async read(name: string): Promise<Uint8Array | null> {
    return this.files.get(name) ?? null;
  }

  async verify(): Promise<Manifest> {
    const path = this.where("manifest.json");
    const text = this.files.get("manifest.json");
    const manifest = parseManifest(path, text === undefined ? null : new TextDecoder().decode(text));
    const found: Record<string, ManifestFile> = {};
    for (const [name, bytes] of this.files) if (name !== "manifest.json") found[name] = await fingerprint(bytes);
    assertFilesMatch(path, manifest, found);
    return manifest;
  }
}
