// One data-parallel replica (a worker thread with its own TensorFlow.js and backend): a copy of the policy
// and of the frozen reference, rebuilt from shared weights; per step it computes its shard's loss and
// gradients with train/batch-grads.ts and writes them into its gradient buffer. Errors go back as messages.
import { parentPort } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../backend";
import type { Params } from "../model/params";
import { batchGrads } from "../train/batch-grads";
import type { InitMessage, ReplyMessage, StepMessage } from "./protocol";

const port = parentPort;
if (!port) throw new Error("replica-worker.ts runs only as a worker thread (parallel/data-parallel.ts starts it)");

let state: { init: InitMessage; policy: Params; reference: Params | null; trainable: tf.Variable[]; offsets: Map<string, [number, number]> } | null = null;

const reply = (m: ReplyMessage) => port.postMessage(m);

/** Float32 views of the buffer, one per parameter, in spec order. */
function layout(specs: InitMessage["specs"]): Map<string, [number, number]> {
  const offsets = new Map<string, [number, number]>();
  let at = 0;
  for (const s of specs) {
    const size = s.shape.reduce((a, b) => a * b, 1);
    offsets.set(s.name, [at, size]);
    at += size;
  }
  return offsets;
}

function paramsFrom(buffer: SharedArrayBuffer, init: InitMessage, offsets: Map<string, [number, number]>, trainable: boolean): Params {
  const all = new Float32Array(buffer);
  const params: Params = new Map();
  for (const s of init.specs) {
    const [at, size] = offsets.get(s.name)!;
    params.set(s.name, tf.variable(tf.tensor(all.slice(at, at + size), s.shape), trainable));
  }
  return params;
}

async function start(init: InitMessage): Promise<void> {
  await initBackend(init.backend);
  const offsets = layout(init.specs);
  const policy = paramsFrom(init.weights, init, offsets, true);
  const reference = init.reference ? paramsFrom(init.reference, init, offsets, false) : null;
  const trainable = init.trainable.map((name) => policy.get(name)!);
  state = { init, policy, reference, trainable, offsets };
  reply({ type: "ready", rank: init.rank });
}

function step(m: StepMessage): void {
  const s = state!;
  const weights = new Float32Array(s.init.weights);
  // The main thread wrote this step's weights before posting the message.
  for (const name of s.init.trainable) {
    const [at, size] = s.offsets.get(name)!;
    const v = s.policy.get(name)!;
    tf.tidy(() => v.assign(tf.tensor(weights.slice(at, at + size), v.shape)));
  }
  const { grads, values } = batchGrads({ policy: s.policy, reference: s.reference, config: s.init.config }, m.objective, m.batch, s.trainable);
  const out = new Float32Array(s.init.grads);
  let at = 0;
  for (const v of s.trainable) {
    const g = grads[v.name];
    if (g) out.set(g.dataSync() as Float32Array, at);
    else out.fill(0, at, at + v.size); // not reached from the loss: zero gradient
    at += v.size;
  }
  tf.dispose(Object.values(grads));
  reply({ type: "done", id: m.id, values });
}

port.on("message", (m: InitMessage | StepMessage) => {
  const id = m.type === "step" ? m.id : null;
  const fail = (e: unknown) => reply({ type: "failed", id, message: e instanceof Error ? e.message : String(e) });
  if (m.type === "init") start(m).catch(fail);
  else {
    try {
      step(m);
    } catch (e) {
      fail(e);
    }
  }
});
