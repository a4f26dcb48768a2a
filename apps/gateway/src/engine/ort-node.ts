// The InferenceEngine on onnxruntime-node (CPU): a verified checkpoint directory, one InferenceSession, the
// runtime-independent engine of ort-engine.ts. The only gateway file that imports onnxruntime-node.
import * as ort from "onnxruntime-node";
import type { OnnxWeights } from "./checkpoint";
import { loadNodeCheckpoint } from "./checkpoint-node";
import { OrtEngine, type OrtEngineOptions } from "./ort-engine";
import type { OrtRunner, OrtTensor, OrtTensorFactory } from "./ort-runtime";

export interface OrtNodeEngineOptions extends OrtEngineOptions {
  /**
   * Threads one graph run may use (default: ONNX Runtime's choice, the physical cores). Pin it when
   * benchmarking or when several engines share a small machine: 2 threads on a busy 2-core box swung timings 3×.
   */
  intraOpNumThreads?: number;
  /** "int8": serve onnx/model_int8.onnx (`export --quantize int8`) instead of onnx/model.onnx. */
  weights?: OnnxWeights;
}

const nodeTensors: OrtTensorFactory = {
  float32: (data, dims) => new ort.Tensor("float32", data, dims),
  int64: (data, dims) => new ort.Tensor("int64", data, dims),
};

function nodeRunner(session: ort.InferenceSession): OrtRunner {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    run: async (feeds, fetches) => (await session.run(feeds as Record<string, ort.Tensor>, [...fetches])) as Record<string, OrtTensor>,
    release: () => session.release(),
  };
}

/**
 * @example
 * const engine = await OrtNodeEngine.load("models/demo/policy", { intraOpNumThreads: 1 });
 * engine.checkpoint.evalReport; // eval.json, for the drift guard's default max_kl
 * await engine.dispose();
 */
export class OrtNodeEngine extends OrtEngine {
  /** Verifies the checkpoint (manifest hashes first), then opens onnx/model.onnx (or model_int8.onnx). */
  static async load(dir: string, options: OrtNodeEngineOptions = {}): Promise<OrtNodeEngine> {
    const threads = options.intraOpNumThreads;
    if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) throw new RangeError(`intraOpNumThreads must be an integer ≥ 1 (got ${threads})`);
    const checkpoint = await loadNodeCheckpoint(dir, options.weights);
    const session = await ort.InferenceSession.create(checkpoint.onnx.path, {
      ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
      interOpNumThreads: 1, // the graph is one chain of layers: nothing runs in parallel between nodes
      executionMode: "sequential",
      graphOptimizationLevel: "all",
    });
    try {
      return new OrtNodeEngine(checkpoint, nodeRunner(session), nodeTensors, options);
    } catch (e) {
      await session.release();
      throw e;
    }
  }
}
