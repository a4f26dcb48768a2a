// sketch.json: the activation-sketch spec of a checkpoint and its reference statistics per monitored layer
// (packages/shared/src/sketch explains the projection, the pooled score and its reference distribution).

import { z } from "zod";

const finite = z.number(); // zod 4 numbers reject NaN and ±Infinity

/** How S, the normalisation and the pooling are defined; enough to regenerate S bit for bit. */
export const SketchSpecSchema = z.strictObject({
  /** Generation recipe of S (see sketch/projection.ts); bump when the recipe changes. */
  projection: z.literal("pcg32-sparse-sign-v1"),
  /** PCG32 seed; layer l uses stream l, i.e. Pcg32(seed, l). */
  seed: z.int(),
  /** Sketch width (rows of S). */
  m: z.int().min(1),
  /** Model hidden size (columns of S). */
  d: z.int().min(1),
  /** Fraction of non-zero entries of S, in (0, 1]; 1/√d is the usual choice. */
  density: z.number().gt(0).lte(1),
  /**
   * Monitored residual-stream positions, ascending: 0 = embedding output, l = output of decoder layer l
   * (1-based). Hugging Face's `output_hidden_states` agrees except at l = L, where it applies the final norm;
   * here l = L is the residual stream BEFORE `model.norm` (the exported graph's `hidden_states.{L}`).
   */
  layers: z
    .array(z.int().min(0))
    .min(1)
    .refine((ls) => ls.every((l, k) => k === 0 || l > ls[k - 1]), "must be strictly ascending (no duplicates)"),
  /** x̂ = x / √(mean(x²) + eps) per token, no learned gain. */
  normalisation: z.literal("rms"),
  /** Per-request vector = masked mean of the per-token sketches over the sequence. */
  pooling: z.literal("mean"),
  /** ε inside the RMS normalisation. */
  eps: z.number().min(0),
  /** ε added to each reference variance in the drift-score denominator. */
  varianceEps: z.number().min(0),
});

/** One t-digest centroid. */
export const CentroidSchema = z.strictObject({ mean: finite, n: z.number().gt(0) });

/** A serialised QuantileSummary (sketch/quantiles.ts): centroids ascending by mean, counts summing to count. */
export const DigestSchema = z
  .strictObject({
    delta: z.number().gt(0).lt(1),
    count: z.int().min(1),
    min: finite,
    max: finite,
    centroids: z.array(CentroidSchema).min(1),
  })
  .superRefine((dg, ctx) => {
    const total = dg.centroids.reduce((acc, c) => acc + c.n, 0);
    if (total !== dg.count) {
      ctx.addIssue({ code: "custom", path: ["count"], message: `must equal the centroid total ${total} (got ${dg.count})` });
    }
    const k = dg.centroids.findIndex((c, i) => i > 0 && c.mean < dg.centroids[i - 1].mean);
    if (k > 0) ctx.addIssue({ code: "custom", path: ["centroids", k, "mean"], message: "centroids must be ascending by mean" });
    const first = dg.centroids[0].mean;
    const last = dg.centroids[dg.centroids.length - 1].mean;
    if (dg.min > first) ctx.addIssue({ code: "custom", path: ["min"], message: `must be ≤ the first centroid mean ${first}` });
    if (dg.max < last) ctx.addIssue({ code: "custom", path: ["max"], message: `must be ≥ the last centroid mean ${last}` });
  });

/** Reference distribution of the per-request drift score of one layer. */
export const ScoreSummarySchema = z
  .strictObject({
    /** Calibration requests scored. */
    count: z.int().min(1),
    /** Human-readable quantile table (q ascending), derived from the digest. */
    quantiles: z.array(z.strictObject({ q: z.number().min(0).max(1), value: finite })).min(1),
    /** The digest the gateway turns scores into percentiles with. */
    digest: DigestSchema,
  })
  .superRefine((s, ctx) => {
    if (s.digest.count !== s.count) {
      ctx.addIssue({ code: "custom", path: ["digest", "count"], message: `must equal score.count ${s.count} (got ${s.digest.count})` });
    }
    s.quantiles.forEach((row, k) => {
      const prev = s.quantiles[k - 1];
      if (prev !== undefined && (row.q <= prev.q || row.value < prev.value)) {
        ctx.addIssue({ code: "custom", path: ["quantiles", k], message: "q must ascend strictly and value must not decrease" });
      }
    });
  });

/** Reference statistics of one monitored layer, over pooled calibration-request sketches. */
export const LayerStatsSchema = z.strictObject({
  layer: z.int().min(0),
  /** Calibration requests behind mean/variance. */
  count: z.int().min(2),
  /** Per-coordinate mean μ of the pooled request sketch, length m. */
  mean: z.array(finite),
  /** Per-coordinate unbiased sample variance σ² of the pooled request sketch, length m. */
  variance: z.array(z.number().min(0)),
  score: ScoreSummarySchema,
});

/** sketch.json. */
export const SketchJsonSchema = z
  .strictObject({
    version: z.literal(1),
    spec: SketchSpecSchema,
    layers: z.array(LayerStatsSchema).min(1),
  })
  .superRefine((doc, ctx) => {
    const { m, layers } = doc.spec;
    doc.layers.forEach((entry, k) => {
      if (entry.mean.length !== m) {
        ctx.addIssue({ code: "custom", path: ["layers", k, "mean"], message: `length must equal spec.m = ${m} (got ${entry.mean.length})` });
      }
      if (entry.variance.length !== m) {
        ctx.addIssue({ code: "custom", path: ["layers", k, "variance"], message: `length must equal spec.m = ${m} (got ${entry.variance.length})` });
      }
      if (entry.layer !== layers[k]) {
        const why = layers.includes(entry.layer) ? "is out of order" : "is not in spec.layers";
        ctx.addIssue({ code: "custom", path: ["layers", k, "layer"], message: `layer ${entry.layer} ${why}; expected ${layers[k] ?? "no entry"} (spec.layers = [${layers.join(", ")}])` });
      }
    });
    if (doc.layers.length !== layers.length) {
      ctx.addIssue({ code: "custom", path: ["layers"], message: `must have one entry per spec.layers (${layers.length}), got ${doc.layers.length}` });
    }
  });

export type SketchSpec = z.infer<typeof SketchSpecSchema>;
export type LayerStats = z.infer<typeof LayerStatsSchema>;
export type SketchJson = z.infer<typeof SketchJsonSchema>;

/** A sketch.json that failed validation; `issues` lists "path: message" lines. */
export class SketchJsonError extends Error {
  override readonly name = "SketchJsonError";

  constructor(readonly issues: string[]) {
    super(`invalid sketch.json:\n  ${issues.join("\n  ")}`);
  }
}

/**
 * Parse and validate sketch.json (text or an already-parsed object); throws {@link SketchJsonError} naming
 * every offending field, e.g. "layers[0].mean: length must equal spec.m = 64 (got 63)".
 * @example
 * const sketch = parseSketchJson(await readFile("models/demo/policy/sketch.json", "utf8"));
 * sketch.spec.layers; // e.g. [6, 12, 18]
 */
export function parseSketchJson(input: string | unknown): SketchJson {
  let value: unknown = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch (err) {
      throw new SketchJsonError([`(root): not valid JSON: ${(err as Error).message}`]);
    }
  }
  const result = SketchJsonSchema.safeParse(value);
  if (!result.success) {
    throw new SketchJsonError(result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`));
  }
  return result.data;
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(root)";
  return path
    .map((key, k) => (typeof key === "number" ? `[${key}]` : `${k === 0 ? "" : "."}${String(key)}`))
    .join("");
}
