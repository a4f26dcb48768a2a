// Where the serving side reads a checkpoint's files from, whatever holds them: a directory
// (checkpoint-node.ts), files bundled into the Worker (checkpoint-bundled.ts), an R2 bucket (checkpoint-r2.ts).
// checkpoint.ts parses a checkpoint through this seam only, so it loads in Node and in workerd alike.
import type { Manifest } from "@tether/shared/schemas/manifest";

/**
 * @example
 * const reader = new NodeCheckpointReader("models/demo/policy");
 * await reader.verify(); // manifest.json parsed, every file's size and sha256 checked
 * const text = new TextDecoder().decode((await reader.read("config.json"))!);
 */
export interface CheckpointReader {
  /** Where the checkpoint lives ("models/demo/policy", "r2://tether-models/big/policy"): ServingCheckpoint.dir. */
  readonly location: string;
  /** How messages (and engines that open files by name) name one file, e.g. join(dir, name) for a directory. */
  where(name: string): string;
  /** Whether a file exists ("/"-separated path relative to the checkpoint), without reading it. */
  exists(name: string): Promise<boolean>;
  /** The file's bytes, or null when it does not exist. */
  read(name: string): Promise<Uint8Array | null>;
  /** Reads manifest.json and checks every file's size and sha256 against it; one-line errors naming each problem. */
  verify(): Promise<Manifest>;
}
