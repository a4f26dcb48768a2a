// TensorFlow.js backend selection: tfjs-node-gpu, else tfjs-node, else wasm, else the pure-JS cpu backend.
// The native bindings are optionalDependencies whose install downloads libtensorflow; offline they are
// absent and their dynamic import rejects (any error, not only ERR_MODULE_NOT_FOUND), so we fall back.
// The GPU image sets TETHER_REQUIRE_GPU=1: there a missing binding is an error, not a silent 50× slowdown,
// unless TETHER_ALLOW_CPU=1 says the fallback is wanted.
import * as tf from "@tensorflow/tfjs";
import { installLayoutKernels } from "./model/wasm-layout";

export type BackendName = "tensorflow-gpu" | "tensorflow" | "wasm" | "cpu";

let chosen: BackendName | null = null;

/**
 * Initialise the fastest available backend once and return its name (printed by every command).
 * @example const name = await initBackend(); // "wasm" on a machine without libtensorflow
 */
export async function initBackend(prefer?: BackendName, env: Record<string, string | undefined> = process.env): Promise<BackendName> {
  if (chosen) return chosen;
  if (prefer === undefined && env.TETHER_REQUIRE_GPU === "1" && env.TETHER_ALLOW_CPU !== "1") {
    const failure = await gpuBindingFailure();
    if (failure !== null) {
      throw new Error(`TETHER_REQUIRE_GPU=1 but @tensorflow/tfjs-node-gpu did not load (${failure}); set TETHER_ALLOW_CPU=1 to train on the CPU`);
    }
  }
  const order: BackendName[] = prefer ? [prefer] : ["tensorflow-gpu", "tensorflow", "wasm", "cpu"];
  for (const name of order) {
    if (await tryBackend(name)) {
      chosen = name;
      return name;
    }
  }
  throw new Error(`no TensorFlow.js backend could be initialised (tried ${order.join(", ")})`);
}

/** Why the GPU binding cannot be imported, or null when it loads. */
async function gpuBindingFailure(): Promise<string | null> {
  try {
    await import("@tensorflow/tfjs-node-gpu" as string);
    return null;
  } catch (e) {
    return (e as Error).message.split("\n")[0] ?? String(e);
  }
}

async function tryBackend(name: BackendName): Promise<boolean> {
  try {
    if (name === "tensorflow-gpu") await import("@tensorflow/tfjs-node-gpu" as string);
    if (name === "tensorflow") await import("@tensorflow/tfjs-node" as string);
    if (name === "wasm") await import("@tensorflow/tfjs-backend-wasm");
    const backend = name === "tensorflow-gpu" ? "tensorflow" : name;
    if (!(await tf.setBackend(backend))) return false;
    await tf.ready();
    if (name === "wasm") {
      // The wasm module installs handlers that rethrow and exit with code 7 plus ~30 KB of minified
      // source; restore Node's normal reporting.
      process.removeAllListeners("uncaughtException");
      process.removeAllListeners("unhandledRejection");
      installLayoutKernels();
    }
    return true;
  } catch {
    return false;
  }
}
