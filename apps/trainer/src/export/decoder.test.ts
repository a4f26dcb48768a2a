// The exported decoders against the trainer's tfjs forward pass (model/qwen2.ts) on the same weights and
// inputs: logits, residual stream values, and KV-cache decoding against one full pass.
import type * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../backend";
import type { ModelConfig } from "../model/config";
import { disposeParams } from "../model/params";
import { buildDecoder, chooseDecoder, type OnnxVariant } from "./decoder";
import { encodeModel, type onnx } from "./onnx-builder";
import { carryPast, createSession, runStep } from "./ort-decode";
import { maxDiff, outputData, positionsFromMask, randomModel, tfjsForward, tinyConfig, UNTIED_GQA, withHiddenOutputs } from "../../../../test/support/checkpoint-fixtures";

const TOL = 1e-4;

async function run(model: onnx.IModelProto, c: ModelConfig, ids: number[][], mask: number[][], positions = positionsFromMask(mask)) {
  const session = await createSession(encodeModel(model));
  try {
    return await runStep(session, c, { ids, mask, positions });
  } finally {
    await session.release();
  }
}

const CASES = [
  { label: "tiny, tied head", c: tinyConfig(), seed: 11 },
  { label: "untied head, 4 query heads on 1 kv head, 3 blocks", c: UNTIED_GQA, seed: 12 },
];

describe("exported ONNX decoder vs the tfjs forward pass", () => {
  beforeAll(async () => {
    await initBackend();
  });

  for (const { label, c, seed } of CASES) {
    const V = c.vocabSize;
    const tok = (i: number) => (i * 13 + 5) % V;
    // Row 0 is left-padded by 3 (pad id 0), row 1 is full.
    const ids = [[0, 0, 0, tok(1), tok(2), tok(3), tok(4), tok(5)], [1, 2, 3, 4, 5, 6, 7, 8].map(tok)];
    const leftMask = [[0, 0, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1]];
    const full = ids.map((r) => r.map(() => 1));
    const B = 2;
    const T = 8;

    it(`standard, left-padded batch: logits within ${TOL} at every position, padding included (${label})`, async () => {
      const { params, weights } = randomModel(c, seed);
      const ref = tfjsForward(params, c, ids, leftMask, positionsFromMask(leftMask));
      const got = outputData(await run(buildDecoder(c, weights, "standard"), c, ids, leftMask), "logits");
      const scale = Math.max(...Array.from(ref.logits, Math.abs));
      expect(scale).toBeGreaterThan(1); // the weights make the comparison meaningful
      expect(maxDiff(got, ref.logits, B, T, V)).toBeLessThanOrEqual(TOL);
      disposeParams(params);
    });

    it(`fused: unpadded and right-padded batches within ${TOL} at real tokens; left padding is not supported (${label})`, async () => {
      const { params, weights } = randomModel(c, seed);
      const model = buildDecoder(c, weights, "fused");
      const unpadded = tfjsForward(params, c, ids, full, positionsFromMask(full));
      expect(maxDiff(outputData(await run(model, c, ids, full), "logits"), unpadded.logits, B, T, V)).toBeLessThanOrEqual(TOL);
      // Right padding: row 0 holds 5 real tokens then 3 pads; positions run on through the pads.
      const rightIds = [[tok(1), tok(2), tok(3), tok(4), tok(5), 0, 0, 0], ids[1]!];
      const rightMask = [[1, 1, 1, 1, 1, 0, 0, 0], full[1]!];
      const positions = rightIds.map((r) => r.map((_, t) => t));
      const ref = tfjsForward(params, c, rightIds, rightMask, positions);
      const got = outputData(await run(model, c, rightIds, rightMask, positions), "logits");
      expect(maxDiff(got, ref.logits, B, T, V, (b, t) => rightMask[b]![t] === 1)).toBeLessThanOrEqual(TOL);
      // The documented limitation (graph-fused.ts): left-padded rows attend to their pads.
      const leftRef = tfjsForward(params, c, ids, leftMask, positionsFromMask(leftMask));
      const left = outputData(await run(model, c, ids, leftMask), "logits");
      expect(maxDiff(left, leftRef.logits, B, T, V, (b, t) => b === 0 && leftMask[b]![t] === 1)).toBeGreaterThan(1e-2);
      disposeParams(params);
    });

    it(`standard and fused agree within ${TOL} on the same unpadded inputs (${label})`, async () => {
      const { params, weights } = randomModel(c, seed + 100);
      const [a, b] = await Promise.all((["standard", "fused"] as const).map(async (v) => outputData(await run(buildDecoder(c, weights, v), c, ids, full), "logits")));
      expect(maxDiff(a!, b!, B, T, V)).toBeLessThanOrEqual(TOL);
      disposeParams(params);
    });

    it(`hidden_states.{l}, l = 0…${c.numLayers}, equal the tfjs residual stream (both variants, ${label})`, async () => {
      const { params, weights } = randomModel(c, seed + 200);
      const ref = tfjsForward(params, c, ids, full, positionsFromMask(full), true);
      for (const variant of ["standard", "fused"] as const) {
        const out = await run(withHiddenOutputs(buildDecoder(c, weights, variant), c), c, ids, full);
        for (let l = 0; l <= c.numLayers; l++) {
          expect(maxDiff(outputData(out, `hidden_states.${l}`), ref.hidden[l]!, B, T, c.hiddenSize), `${variant} hidden_states.${l}`).toBeLessThanOrEqual(TOL);
        }
      }
      disposeParams(params);
    });

    for (const variant of ["standard", "fused"] as const) {
      it(`${variant}: KV-cache decoding equals one full pass${variant === "standard" ? " (left-padded, prompt in two chunks)" : ""} (${label})`, async () => {
        const { params, weights } = randomModel(c, seed + 300);
        const mask = variant === "standard" ? leftMask : full;
        const positions = positionsFromMask(mask);
        const session = await createSession(encodeModel(buildDecoder(c, weights, variant)));
        const whole = outputData(await runStep(session, c, { ids, mask, positions }), "logits");
        // Prompt [0, 5) — in chunks [0, 3) + [3, 5) for standard — then one token per step.
        const chunks = variant === "standard" ? [[0, 3], [3, 5], [5, 6], [6, 7], [7, 8]] : [[0, 5], [5, 6], [6, 7], [7, 8]];
        let past: Record<string, ort.Tensor> | undefined;
        let worst = 0;
        for (const [from, to] of chunks as [number, number][]) {
          const slice = (rows: number[][]) => rows.map((r) => r.slice(from, to));
          const out = await runStep(session, c, { ids: slice(ids), mask: mask.map((r) => r.slice(0, to)), positions: slice(positions) }, past);
          const step = outputData(out, "logits");
          const S = to - from;
          const expected = Float32Array.from({ length: B * S * V }, (_, i) => {
            const [b, t, j] = [Math.floor(i / (S * V)), Math.floor(i / V) % S, i % V];
            return whole[(b * T + from + t) * V + j]!;
          });
          worst = Math.max(worst, maxDiff(step, expected, B, S, V, (b, t) => mask[b]![from + t] === 1));
          expect((out["present.0.key"] as ort.Tensor).dims).toEqual([B, c.numKvHeads, to, c.headDim]);
          past = carryPast(c, out);
        }
        expect(worst).toBeLessThanOrEqual(1e-5);
        const ref = tfjsForward(params, c, ids, mask, positions);
        expect(maxDiff(whole, ref.logits, B, T, V, (b, t) => mask[b]![t] === 1)).toBeLessThanOrEqual(TOL);
        await session.release();
        disposeParams(params);
      });
    }
  }

  it("auto keeps a variant that passes parity against the float64 reference and times both", async () => {
    const c = tinyConfig();
    const { params, weights } = randomModel(c, 5);
    const chosen = await chooseDecoder(c, weights, "auto");
    expect(chosen.reports.map((r) => r.variant)).toEqual(["standard", "fused"]);
    for (const r of chosen.reports) {
      expect(r.parityPassed).toBe(true);
      expect(r.stepMs).toBeGreaterThan(0);
    }
    expect(["standard", "fused"]).toContain(chosen.variant);
    const odd = { ...c, hiddenSize: 48, numHeads: 4, headDim: 12 } satisfies ModelConfig; // head_dim % 16 ≠ 0
    const small = randomModel(odd, 6);
    const fallback = await chooseDecoder(odd, small.weights, "auto");
    expect(fallback.variant satisfies OnnxVariant).toBe("standard");
    expect(fallback.reports[1]!.skipped).toMatch(/multiple of 16/);
    await expect(chooseDecoder(odd, small.weights, "fused")).rejects.toThrow(/onnxVariant "fused" is not available/);
    disposeParams(params);
    disposeParams(small.params);
  });
});
