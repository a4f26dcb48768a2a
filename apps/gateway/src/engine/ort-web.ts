// The InferenceEngine on onnxruntime-web (WebAssembly, one thread): the same OrtEngine core as ort-node.ts,
// so decoding, scoring and the drift guard above it are the same code in workerd and in Node. The model comes
// as bytes through a CheckpointReader (bundled files or R2 objects), verified against its manifest first.
//
// workerd refuses to compile WebAssembly from bytes at run time: the entry imports the .wasm as a compiled
// WebAssembly.Module (wrangler's CompiledWasm) and useOrtWasmModule() makes onnxruntime-web instantiate that.
import * as ort from "onnxruntime-web/wasm";
import { loadServingCheckpoint } from "./checkpoint";
import type { CheckpointReader } from "./checkpoint-reader";
import { OrtEngine, type OrtEngineOptions } from "./ort-engine";
import type { OrtRunner, OrtTensor, OrtTensorFactory } from "./ort-runtime";

const webTensors: OrtTensorFactory = {
  float32: (data, dims) => new ort.Tensor("float32", data, dims),
  int64: (data, dims) => new ort.Tensor("int64", data, dims),
};

function webRunner(session: ort.InferenceSession): OrtRunner {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    run: async (feeds, fetches) => (await session.run(feeds as Record<string, ort.Tensor>, [...fetches])) as Record<string, OrtTensor>,
    release: () => session.release(),
  };
}

let wasmModule: WebAssembly.Module | null = null;

/**
 * Makes onnxruntime-web run `module` (ort-wasm-simd-threaded.wasm, compiled by the platform) on one thread.
 * Its Emscripten loader calls WebAssembly.instantiate(bytes, imports); the placeholder bytes are swapped for
 * the module, and the result keeps the { instance, module } shape the loader expects.
 * @example import wasm from "onnxruntime-web/ort-wasm-simd-threaded.wasm"; useOrtWasmModule(wasm);
 */
export function useOrtWasmModule(module: WebAssembly.Module): void {
  ort.env.wasm.numThreads = 1; // workerd has no SharedArrayBuffer workers; one request's CPU is one thread
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmBinary = new Uint8Array(8); // tells ORT not to fetch the .wasm itself
  if (wasmModule !== null) return void (wasmModule = module);
  wasmModule = module;
  const instantiate = WebAssembly.instantiate.bind(WebAssembly) as (source: unknown, imports?: WebAssembly.Imports) => Promise<unknown>;
  const swapped = async (source: unknown, imports?: WebAssembly.Imports): Promise<unknown> => {
    if (source instanceof WebAssembly.Module || wasmModule === null) return instantiate(source, imports);
    const instance = await instantiate(wasmModule, imports);
    return { instance, module: wasmModule };
  };
  (WebAssembly as { instantiate: unknown }).instantiate = swapped;
}

/**
 * @example
 * useOrtWasmModule(wasm);
 * const engine = await OrtWebEngine.load(new BundledCheckpointReader("models/demo/policy", files));
 */
export class OrtWebEngine extends OrtEngine {
  /** Verifies the checkpoint (manifest hashes first), then opens onnx/model.onnx from its bytes. */
  static async load(reader: CheckpointReader, options: OrtEngineOptions = {}): Promise<OrtWebEngine> {
    const checkpoint = await loadServingCheckpoint(reader);
    const bytes = await reader.read("onnx/model.onnx");
    if (bytes === null) throw new Error(`${checkpoint.onnx.path}: not found`);
    if ("onnx/model.onnx_data" in checkpoint.manifest.files) {
      // Only graphs over 2 GB are exported with external data: far past a Worker's 128 MB of memory.
      throw new Error(`${checkpoint.onnx.path}: weights in onnx/model.onnx_data (a graph over 2 GB) cannot load in a Worker (128 MB of memory)`);
    }
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: ["wasm"],
      executionMode: "sequential",
      graphOptimizationLevel: "all",
    });
    try {
      return new OrtWebEngine(checkpoint, webRunner(session), webTensors, options);
    } catch (e) {
      await session.release();
      throw e;
    }
  }
}
