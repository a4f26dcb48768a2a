// The InferenceEngine on onnxruntime-node (CPU): a verified checkpoint directory, one ONNX Runtime session, the
// runtime-independent engine of ort-engine.ts. The only gateway file that imports onnxruntime-node.
//
// The session is onnxruntime-node's native one (dist/binding.js), called directly: the public InferenceSession
// wraps the same object but defers every run() to a fresh setImmediate, one event-loop turn per graph call, which
// cost 16–19 µs of CPU per decode step at batch 1 (4% of an int8, 2.5% of an fp32 small-preset step, measured A/B
// in one process: docs/performance.md section 4). Runs still yield to the event loop, once YIELD_MS have passed
// since this thread's last turn, so HTTP, SSE, /healthz and aborts wait at most YIELD_MS plus one run.
import * as ort from "onnxruntime-node";
import { binding, initOrt, type Binding } from "onnxruntime-node/dist/binding.js";
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
  /** "int8" / "int4": serve onnx/model_int8.onnx / model_int4.onnx (`export --quantize …`) instead of onnx/model.onnx. */
  weights?: OnnxWeights;
  /** The caller has verified the directory's hashes in this process (engine pool workers): do not hash it again. */
  verified?: boolean;
}

const nodeTensors: OrtTensorFactory = {
  float32: (data, dims) => new ort.Tensor("float32", data, dims),
  int64: (data, dims) => new ort.Tensor("int64", data, dims),
};

/** Longest time a thread runs graphs without giving the event loop a turn. */
const YIELD_MS = 2;
let lastTurn = performance.now(); // per thread: each worker_thread has its own module instance

const eventLoopTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The native session of `path` with the public API's options (the binding parses the same object). */
function loadNative(path: string, options: ort.InferenceSession.SessionOptions): Binding.InferenceSession {
  initOrt();
  const session = new binding.InferenceSession();
  session.loadModel(path, options);
  return session;
}

function nodeRunner(session: Binding.InferenceSession): OrtRunner {
  let released = false;
  return {
    inputNames: session.inputMetadata.map((m) => m.name),
    outputNames: session.outputMetadata.map((m) => m.name),
    run: async (feeds, fetches) => {
      if (performance.now() - lastTurn >= YIELD_MS) {
        await eventLoopTurn();
        lastTurn = performance.now();
      }
      if (released) throw new Error("the ONNX Runtime session was released");
      const wanted: Record<string, null> = {};
      for (const name of fetches) wanted[name] = null;
      return session.run(feeds as Record<string, ort.Tensor>, wanted, {}) as Record<string, OrtTensor>;
    },
    release: async () => {
      if (released) return;
      released = true;
      session.dispose();
    },
  };
}

/**
 * @example
 * const engine = await OrtNodeEngine.load("models/demo/policy", { intraOpNumThreads: 1 });
 * engine.checkpoint.evalReport; // eval.json, for the drift guard's default max_kl
 * await engine.dispose();
 */
export class OrtNodeEngine extends OrtEngine {
  /** Verifies the checkpoint (manifest hashes first), then opens onnx/model.onnx (or model_int8.onnx / model_int4.onnx). */
  static async load(dir: string, options: OrtNodeEngineOptions = {}): Promise<OrtNodeEngine> {
    const threads = options.intraOpNumThreads;
    if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) throw new RangeError(`intraOpNumThreads must be an integer ≥ 1 (got ${threads})`);
    const checkpoint = await loadNodeCheckpoint(dir, options.weights, { verified: options.verified });
    await eventLoopTurn(); // loading is synchronous (as it is under the public API's setImmediate)
    const runner = nodeRunner(loadNative(checkpoint.onnx.path, {
      ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
      interOpNumThreads: 1, // the graph is one chain of layers: nothing runs in parallel between nodes
      executionMode: "sequential",
      graphOptimizationLevel: "all",
    }));
    try {
      return new OrtNodeEngine(checkpoint, runner, nodeTensors, options);
    } catch (e) {
      await runner.release();
      throw e;
    }
  }
}
