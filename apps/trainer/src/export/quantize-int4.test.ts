// int4 weights (com.microsoft MatMulNBits) against independent computations: the packed blocks decoded here by
// hand (nibble order, the +8 offset, one scale per 32 rows of a column, zero padding past K) and a float64 product
// with the decoded weights, which ONNX Runtime's kernel must reproduce within its int8-activation error.
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { checkGraph } from "./check-graph";
import { DataType, encodeModel, GraphBuilder } from "./onnx-builder";
import { INT4_BLOCK, quantizeBlocks4, quantizeGraph } from "./quantize";

/** The weight (k, n) the blob encodes, decoded independently of quantizeBlocks4's loop. */
function decoded(blob: Uint8Array, scales: Float32Array, K: number, N: number): Float64Array {
  const blocks = Math.ceil(K / INT4_BLOCK);
  const w = new Float64Array(K * N);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const element = n * blocks * INT4_BLOCK + k; // row n of [N, blocks · 32] in element order
      const byte = blob[Math.floor(element / 2)]!;
      const nibble = element % 2 === 0 ? byte & 15 : byte >> 4;
      w[k * N + n] = (nibble - 8) * scales[n * blocks + Math.floor(k / INT4_BLOCK)]!;
    }
  }
  return w;
}

function randomMatrix(rng: Pcg32, length: number): Float32Array {
  return Float32Array.from({ length }, () => (rng.nextFloat() - 0.5) * (rng.nextFloat() < 0.05 ? 8 : 1)); // a few outliers
}

describe("quantizeBlocks4", () => {
  it("scales each block of 32 rows of a column by max |w| / 7, rounds to the nearest step and pads K with zeros", () => {
    const [K, N] = [70, 3]; // 3 blocks, the last one 6 rows long
    const w = randomMatrix(new Pcg32(5n), K * N);
    const { blob, scales, blocks } = quantizeBlocks4(w, K, N);
    expect(blocks).toBe(3);
    expect(blob.length).toBe((N * blocks * INT4_BLOCK) / 2);
    const back = decoded(blob, scales, K, N);
    for (let n = 0; n < N; n++) {
      for (let b = 0; b < blocks; b++) {
        let max = 0;
        for (let k = b * INT4_BLOCK; k < Math.min(K, (b + 1) * INT4_BLOCK); k++) max = Math.max(max, Math.abs(w[k * N + n]!));
        expect(scales[n * blocks + b]).toBe(Math.fround(max / 7));
      }
      for (let k = 0; k < K; k++) {
        const s = scales[n * blocks + Math.floor(k / INT4_BLOCK)]!;
        expect(Math.abs(back[k * N + n]! - w[k * N + n]!)).toBeLessThanOrEqual(s / 2 + 1e-7); // nearest step
      }
      // the padding rows 70…95 of the last block decode to 0 (nibble 8)
      for (let e = n * blocks * INT4_BLOCK + K; e < (n + 1) * blocks * INT4_BLOCK; e++) {
        expect(e % 2 === 0 ? blob[e >> 1]! & 15 : blob[e >> 1]! >> 4).toBe(8);
      }
    }
  });
});

describe("quantizeGraph(…, \"int4\")", () => {
  it("replaces a decoder MatMul by MatMulNBits whose product ONNX Runtime computes as the decoded weights give", async () => {
    const [K, N, rows] = [96, 40, 3];
    const rng = new Pcg32(9n);
    const w = randomMatrix(rng, K * N);
    const a = Float32Array.from({ length: rows * K }, () => rng.nextFloat() * 2 - 1);
    const g = new GraphBuilder("one-linear");
    const x = g.input("x", DataType.FLOAT, [rows, K]);
    g.op("MatMul", [x, g.initializer("/model/layers.0/mlp/down_proj/weight", w, [K, N])], "/model/layers.0/mlp/down_proj/MatMul", undefined, "y");
    g.output("y", DataType.FLOAT, [rows, N]);
    const { model, matrices } = quantizeGraph(g.model([{ domain: "", version: 17 }]), "int4");
    expect(matrices).toBe(1);
    expect(checkGraph(model)).toEqual([]);
    expect(model.graph!.node!.map((n) => `${n.domain}:${n.opType}`)).toEqual(["com.microsoft:MatMulNBits"]);
    expect(model.opsetImport!.map((o) => o.domain)).toContain("com.microsoft");

    const session = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1 });
    const y = (await session.run({ x: new ort.Tensor("float32", a, [rows, K]) })).y!.data as Float32Array;
    await session.release();
    const { blob, scales } = quantizeBlocks4(w, K, N);
    const wq = decoded(blob, scales, K, N);
    let maxErr = 0;
    let maxAbs = 0;
    let maxFromFp32 = 0;
    for (let r = 0; r < rows; r++) {
      for (let n = 0; n < N; n++) {
        let exact = 0; // float64, decoded int4 weights
        let fp32 = 0; // float64, the original weights
        for (let k = 0; k < K; k++) {
          exact += a[r * K + k]! * wq[k * N + n]!;
          fp32 += a[r * K + k]! * w[k * N + n]!;
        }
        maxErr = Math.max(maxErr, Math.abs(y[r * N + n]! - exact));
        maxFromFp32 = Math.max(maxFromFp32, Math.abs(exact - fp32));
        maxAbs = Math.max(maxAbs, Math.abs(exact));
      }
    }
    // accuracy_level 4 quantises the activations to int8 per block inside the kernel: ~1% of the output's scale
    expect(maxErr).toBeLessThanOrEqual(0.02 * maxAbs);
    expect(maxFromFp32).toBeGreaterThan(5 * maxErr); // the comparison can tell the int4 weights from the fp32 ones
  });
});
