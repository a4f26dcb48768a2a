// CheckpointReader over files held in memory: the demo pair bundled into the Worker (wrangler [[rules]]
// import them as Data, byte for byte). Verified like a directory: every file's size and sha256 (Web Crypto)
// against manifest.json, through @tether/checkpoint/verify. A bundle may leave out files serving never reads
// (`notBundled`, e.g. model.safetensors: the ONNX graph is what runs); only those names may be absent, and a
// file that is bundled is checked whatever its name.
import { assertFilesMatch, fingerprint, parseManifest } from "@tether/checkpoint/verify";
import type { Manifest, ManifestFile } from "@tether/shared/schemas/manifest";
import type { CheckpointReader } from "./checkpoint-reader";

/**
 * @example
 * import config from "../../../../models/demo/policy/config.json"; // an ArrayBuffer under the Data rule
 * const reader = new BundledCheckpointReader("models/demo/policy", { "config.json": config, … }, ["model.safetensors"]);
 */
export class BundledCheckpointReader implements CheckpointReader {
  private readonly files: ReadonlyMap<string, Uint8Array>;
  private readonly notBundled: ReadonlySet<string>;

  /**
   * `files`: "/"-separated path in the checkpoint → its bytes (manifest.json included). `notBundled`: files the
   * manifest may list that were deliberately left out of the bundle (a missing manifest.json or ONNX graph is
   * still refused: the loader reads both).
   */
  constructor(
    readonly location: string,
    files: Record<string, ArrayBuffer | Uint8Array>,
    notBundled: readonly string[] = [],
  ) {
    this.files = new Map(Object.entries(files).map(([name, data]) => [name, data instanceof Uint8Array ? data : new Uint8Array(data)]));
    this.notBundled = new Set(notBundled);
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
    // a name in notBundled is left out of the comparison only when it really is absent
    assertFilesMatch(path, manifest, found, (name) => this.notBundled.has(name) && !this.files.has(name));
    return manifest;
  }
}
