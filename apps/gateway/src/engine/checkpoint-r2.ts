// CheckpointReader over an R2 bucket (the Worker's larger models): the checkpoint's files are the objects
// under `<prefix>/`, as `wrangler r2 object put` or `rclone copy models/x r2:bucket/x` leave them. verify()
// streams every object through a sha256 DigestStream (no object is held in memory for hashing) and
// remembers its etag; read() then asks R2 for exactly that version, so a file replaced after the check is
// refused instead of served unverified.
import type { R2Bucket, R2Object } from "@cloudflare/workers-types/index.ts";
import { assertFilesMatch, hex, parseManifest } from "@tether/checkpoint/verify";
import type { Manifest, ManifestFile } from "@tether/shared/schemas/manifest";
import type { CheckpointReader } from "./checkpoint-reader";

/** workerd's incremental digest (crypto.DigestStream); absent from Node's and the DOM's typings. */
declare const crypto: Crypto & { DigestStream: new (algorithm: string) => WritableStream<ArrayBufferView> & { digest: Promise<ArrayBuffer> } };

/**
 * @example
 * const reader = new R2CheckpointReader(env.MODELS, "small/policy", "tether-models");
 * const engine = await OrtWebEngine.load(reader); // r2://tether-models/small/policy
 */
export class R2CheckpointReader implements CheckpointReader {
  readonly location: string;
  private readonly prefix: string;
  private readonly verified = new Map<string, string>(); // file → etag hashed by verify()

  constructor(
    private readonly bucket: R2Bucket,
    prefix: string,
    bucketName = "bucket",
  ) {
    this.prefix = prefix.replace(/^\/+|\/+$/g, "");
    this.location = `r2://${bucketName}/${this.prefix}`;
  }

  where(name: string): string {
    return `${this.location}/${name}`;
  }

  async exists(name: string): Promise<boolean> {
    return (await this.bucket.head(this.key(name))) !== null;
  }

  async read(name: string): Promise<Uint8Array | null> {
    const etag = this.verified.get(name);
    const object = await this.bucket.get(this.key(name), etag === undefined ? {} : { onlyIf: { etagMatches: etag } });
    if (object === null) return null;
    if (!("body" in object)) throw new Error(`${this.where(name)}: changed in R2 after its hash was verified`);
    return new Uint8Array(await object.arrayBuffer());
  }

  async verify(): Promise<Manifest> {
    const path = this.where("manifest.json");
    const text = await this.bucket.get(this.key("manifest.json"));
    const manifest = parseManifest(path, text === null ? null : await text.text());
    const found: Record<string, ManifestFile> = {};
    for (const object of await this.list()) {
      const name = object.key.slice(this.prefix.length + 1);
      if (name === "manifest.json") continue;
      const hashed = await this.hash(object.key, object.etag);
      if (hashed === null) throw new Error(`${this.where(name)}: changed in R2 while the checkpoint was being verified`);
      found[name] = hashed;
      this.verified.set(name, object.etag);
    }
    assertFilesMatch(path, manifest, found);
    return manifest;
  }

  private key(name: string): string {
    return `${this.prefix}/${name}`;
  }

  /** Every object under the prefix (R2 lists at most 1000 per call). */
  private async list(): Promise<R2Object[]> {
    const objects: R2Object[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.bucket.list({ prefix: `${this.prefix}/`, ...(cursor === undefined ? {} : { cursor }) });
      objects.push(...page.objects);
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor !== undefined);
    return objects;
  }

  /** sha256 and size of one object version, streamed; null when it is no longer that version. */
  private async hash(key: string, etag: string): Promise<ManifestFile | null> {
    const object = await this.bucket.get(key, { onlyIf: { etagMatches: etag } });
    if (object === null || !("body" in object)) return null;
    const digest = new crypto.DigestStream("SHA-256");
    await (object.body as unknown as ReadableStream<Uint8Array>).pipeTo(digest);
    return { sha256: hex(await digest.digest), bytes: object.size };
  }
}
