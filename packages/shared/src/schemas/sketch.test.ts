// Tests for the sketch.json schema: a hand-written valid document and rejections that name the field.
import { describe, expect, it } from "vitest";
import { SketchJsonError, parseSketchJson, type SketchJson } from "./sketch";

// Written by hand (not by the builder) so the schema is checked against the documented shape.
function validDoc(): SketchJson {
  const layer = (index: number) => ({
    layer: index,
    count: 3,
    mean: [0.1, -0.2],
    variance: [1.5, 0.25],
    score: {
      count: 3,
      quantiles: [
        { q: 0, value: 0.2 },
        { q: 0.5, value: 0.9 },
        { q: 1, value: 2.4 },
      ],
      digest: {
        delta: 0.01,
        count: 3,
        min: 0.2,
        max: 2.4,
        centroids: [
          { mean: 0.2, n: 1 },
          { mean: 0.9, n: 1 },
          { mean: 2.4, n: 1 },
        ],
      },
    },
  });
  return {
    version: 1,
    spec: {
      projection: "pcg32-sparse-sign-v1",
      seed: 42,
      m: 2,
      d: 16,
      density: 0.25,
      layers: [2, 5],
      normalisation: "rms",
      pooling: "mean",
      eps: 1e-6,
      varianceEps: 1e-6,
    },
    layers: [layer(2), layer(5)],
  };
}

function messageOf(input: unknown): string {
  try {
    parseSketchJson(input);
  } catch (err) {
    expect(err).toBeInstanceOf(SketchJsonError);
    return (err as Error).message;
  }
  throw new Error("expected parseSketchJson to throw");
}

describe("parseSketchJson", () => {
  it("accepts a valid document, as object or text", () => {
    expect(parseSketchJson(validDoc())).toEqual(validDoc());
    expect(parseSketchJson(JSON.stringify(validDoc()))).toEqual(validDoc());
  });

  it("rejects a vector whose length is not spec.m", () => {
    const doc = validDoc();
    doc.layers[1].variance = [1, 2, 3];
    expect(messageOf(doc)).toMatch(/layers\[1\]\.variance: length must equal spec\.m = 2 \(got 3\)/);
  });

  it("rejects a layer that is not in spec.layers, and a missing one", () => {
    const doc = validDoc();
    doc.layers[1].layer = 4;
    expect(messageOf(doc)).toMatch(/layers\[1\]\.layer: layer 4 is not in spec\.layers/);
    const short = validDoc();
    short.layers.pop();
    expect(messageOf(short)).toMatch(/layers: must have one entry per spec\.layers \(2\), got 1/);
  });

  it("rejects density 0 and other out-of-range spec fields, naming them", () => {
    const doc = validDoc();
    doc.spec.density = 0;
    expect(messageOf(doc)).toMatch(/spec\.density: /);
    const bad = validDoc() as unknown as { spec: Record<string, unknown> };
    bad.spec.m = 0;
    bad.spec.layers = [5, 2];
    bad.spec.pooling = "max";
    const message = messageOf(bad);
    expect(message).toMatch(/spec\.m: /);
    expect(message).toMatch(/spec\.layers: must be strictly ascending/);
    expect(message).toMatch(/spec\.pooling: /);
  });

  it("rejects inconsistent digests and unknown fields", () => {
    const doc = validDoc();
    doc.layers[0].score.digest.centroids[2].n = 2;
    expect(messageOf(doc)).toMatch(/layers\[0\]\.score\.digest\.count: must equal the centroid total 4/);
    const extra = { ...validDoc(), comment: "hi" };
    expect(messageOf(extra)).toMatch(/comment/);
    expect(messageOf("{not json")).toMatch(/^invalid sketch\.json:\n {2}\(root\): not valid JSON/);
  });
});
