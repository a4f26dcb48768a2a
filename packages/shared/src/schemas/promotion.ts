// The gateway's `promotion` and `api_keys` config: eval.json gates (eval.ts), where checkpoints may be
// registered from, how often replicas re-read the serving set, and the optional API keys of /v1/*.
import { z } from "zod";
import { int, text } from "./common";
import { promotionGates } from "./eval";

/**
 * @example promotionConfig.parse({ kl_budget: 0.5 }).sync_interval_ms // 1000
 */
export const promotionConfig = promotionGates.extend({
  // POST /admin/checkpoints only accepts directories inside this one (symlinks resolved). Default: the
  // served policy's parent directory, so `models/demo/*` next to the demo policy can be registered.
  checkpoint_root: text().optional(),
  // Replicas re-read the serving set from the checkpoints table this often. PostgreSQL also pushes every
  // change at once over LISTEN/NOTIFY; the poll is what PGlite uses and a safety net for a lost notification.
  // The api_keys table is re-read at most this often too (a revocation takes effect within about this).
  sync_interval_ms: int(50, 600_000).default(1000),
});
export type PromotionConfig = z.infer<typeof promotionConfig>;

/**
 * One API key of /v1/*: the secret itself (≥ 16 characters) or `sha256:<64 hex>` of it, so a config file
 * need not hold the secret. When any key is configured, /v1/* needs `Authorization: Bearer <key>`.
 */
export const apiKey = z
  .string({ error: "must be a string" })
  .refine((k) => /^sha256:[0-9a-f]{64}$/.test(k) || (k.length >= 16 && !k.startsWith("sha256:")), {
    error: "must be a secret of at least 16 characters or sha256:<64 lowercase hex digits> of one",
  });
export const apiKeys = z.array(apiKey).default([]);
