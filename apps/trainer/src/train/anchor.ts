// Loading the frozen reference and the policy it anchors, with the compatibility checks that make a
// KL between them meaningful: same architecture, same tokenizer byte for byte.
import { join } from "node:path";
import { existsSync } from "node:fs";
import type { TrainerConfig } from "@tether/shared/schemas/trainer-config";
import { loadCheckpoint, type LoadedCheckpoint } from "../checkpoint/save-load";
import { readTokenizerDir, type Tokenizer } from "../tokenizer/tokenizer";

export interface AnchoredPair {
  reference: LoadedCheckpoint;
  policy: LoadedCheckpoint;
  tokenizer: Tokenizer;
}

/**
 * Reference (frozen) and policy (trainable; --init, else a copy of the reference).
 * @example const { reference, policy, tokenizer } = loadAnchoredPair(cfg);
 */
export function loadAnchoredPair(cfg: TrainerConfig): AnchoredPair {
  const refDir = cfg.reference!;
  if (!existsSync(join(refDir, "manifest.json"))) throw new Error(`--reference: ${refDir} is not a checkpoint directory (no manifest.json)`);
  const reference = loadCheckpoint(refDir, { trainable: false });
  const policy = loadCheckpoint(cfg.init ?? refDir, { trainable: true });
  const a = reference.manifest.architecture;
  const b = policy.manifest.architecture;
  const mismatched = (Object.keys(a) as (keyof typeof a)[]).filter((k) => a[k] !== b[k]);
  if (mismatched.length) {
    throw new Error(`--init: architecture differs from the reference in ${mismatched.map((k) => `${k} (${b[k]} vs ${a[k]})`).join(", ")}`);
  }
  if (reference.manifest.tokenizer.sha256 !== policy.manifest.tokenizer.sha256) {
    throw new Error("--init: tokenizer.json differs from the reference's (a KL between different vocabularies is meaningless)");
  }
  return { reference, policy, tokenizer: readTokenizerDir(refDir) };
}
