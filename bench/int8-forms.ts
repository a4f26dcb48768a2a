// Which int8 form ONNX Runtime 1.30 runs fastest on CPU for a decoder's linear layers, and how accurate each is:
// L chained [1, 1, K]·[K, K] MatMuls with seeded random weights, batch 1, one intra-op thread, as
//   fp32 MatMul · DequantizeLinear(int8, per-column scale) → MatMul (what `export --quantize int8` writes; ORT
//   fuses it into MatMulNBits) · com.microsoft DynamicQuantizeMatMul (activations quantised per tensor) ·
//   com.microsoft MatMulNBits 8-bit and 4-bit (block 32) at accuracy_level 0 and 4.
// Prints the median time of 41 runs and max |y − y_fp32| / max |y_fp32|, with the load. `npm run bench -- int8-forms`
import { loadavg } from "node:os";
import * as ort from "onnxruntime-node";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { quantizeColumns } from "../apps/trainer/src/export/quantize";
import { DataType, encodeModel, GraphBuilder, type onnx } from "../apps/trainer/src/export/onnx-builder";

const K = 1024;
const FORMS = ["fp32", "dequantize-matmul", "dynamic-quantize-matmul", "nbits8", "nbits8-acc4", "nbits4-acc4"] as const;
type Form = (typeof FORMS)[number];

const bytes = (name: string, dataType: number, dims: number[], data: Int8Array | Uint8Array): onnx.ITensorProto => ({ name, dataType, dims, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });

// MatMulNBits' B: [N, K / block, block · bits / 8] unsigned with zero point 2^(bits−1), one scale per block.
function nbits(w: Float32Array, bits: 4 | 8, block = 32): { blob: Uint8Array; scales: Float32Array } {
  const blocks = K / block;
  const zp = 1 << (bits - 1);
  const scales = new Float32Array(K * blocks);
  const blob = new Uint8Array((K * K * bits) / 8);
  for (let n = 0; n < K; n++) for (let b = 0; b < blocks; b++) {
    let max = 0;
    for (let i = 0; i < block; i++) max = Math.max(max, Math.abs(w[(b * block + i) * K + n]!));
    const s = max / (zp - 1) || 1;
    scales[n * blocks + b] = s;
    for (let i = 0; i < block; i++) {
      const q = Math.max(0, Math.min(2 * zp - 1, Math.round(w[(b * block + i) * K + n]! / s) + zp));
      const at = (n * blocks + b) * block + i;
      if (bits === 8) blob[at] = q;
      else blob[at >> 1]! |= at & 1 ? q << 4 : q; // low nibble first
    }
  }
  return { blob, scales };
}

function build(form: Form, weights: Float32Array[]): Uint8Array {
  const g = new GraphBuilder("int8-forms");
  let x = g.input("x", DataType.FLOAT, [1, 1, K]);
  weights.forEach((w, l) => {
    const name = `/layers.${l}/MatMul`;
    if (form === "fp32") return void (x = g.op("MatMul", [x, g.initializer(`w${l}`, w, [K, K])], name));
    if (form.startsWith("nbits")) {
      const bits = form.startsWith("nbits8") ? 8 : 4;
      const { blob, scales } = nbits(w, bits);
      g.initializers.push(bytes(`b${l}`, DataType.UINT8, [K, K / 32, (32 * bits) / 8], blob));
      const attrs = { K, N: K, bits, block_size: 32, accuracy_level: form.endsWith("acc4") ? 4 : 0 };
      return void (x = g.node("MatMulNBits", [x, `b${l}`, g.initializer(`s${l}`, scales, [scales.length])], { name, domain: "com.microsoft", attrs })[0]!);
    }
    const { q, scale } = quantizeColumns(w, K, K);
    g.initializers.push(bytes(`q${l}`, DataType.INT8, [K, K], q));
    const s = g.initializer(`s${l}`, scale, [K]);
    if (form === "dynamic-quantize-matmul") return void (x = g.node("DynamicQuantizeMatMul", [x, `q${l}`, s], { name, domain: "com.microsoft" })[0]!);
    g.initializers.push(bytes(`z${l}`, DataType.INT8, [K], new Int8Array(K)));
    const dq = g.op("DequantizeLinear", [`q${l}`, s, `z${l}`], `/layers.${l}/DequantizeLinear`, { axis: 1 });
    x = g.op("MatMul", [x, dq], name);
  });
  g.output(x, DataType.FLOAT, [1, 1, K]);
  return encodeModel(g.model([{ domain: "", version: 17 }, { domain: "com.microsoft", version: 1 }]));
}

export async function benchInt8Forms(): Promise<void> {
  const rng = new Pcg32(11, 3);
  const uniform = (n: number, scale: number) => Float32Array.from({ length: n }, () => (rng.nextFloat() - 0.5) * scale);
  const input = new ort.Tensor("float32", uniform(K, 2), [1, 1, K]);
  const load = () => loadavg().map((v) => v.toFixed(2)).join(" ");
  console.log(`int8-forms · ${K}×${K} weights, batch 1, 1 intra-op thread, median of 41 · load ${load()}`);
  for (const layers of [1, 8]) {
    const weights = Array.from({ length: layers }, () => uniform(K * K, 0.1));
    let reference: Float32Array | null = null;
    for (const form of FORMS) {
      const session = await ort.InferenceSession.create(build(form, weights), { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: "all" });
      const run = async () => (await session.run({ x: input }))[session.outputNames[0]!]!.data as Float32Array;
      for (let i = 0; i < 5; i++) await run();
      const times: number[] = [];
      for (let i = 0; i < 41; i++) {
        const t0 = performance.now();
        await run();
        times.push(performance.now() - t0);
      }
      const y = await run();
      await session.release();
      reference ??= y;
      let err = 0;
      let max = 0;
      for (let i = 0; i < y.length; i++) (err = Math.max(err, Math.abs(y[i]! - reference[i]!))), (max = Math.max(max, Math.abs(reference[i]!)));
      times.sort((a, b) => a - b);
      console.log(`${String(layers).padStart(2)} layer(s)  ${form.padEnd(24)} ${times[20]!.toFixed(3).padStart(8)} ms   error ${(err / max).toExponential(2)}`);
    }
  }
  console.log(`int8-forms · load after ${load()}`);
}
