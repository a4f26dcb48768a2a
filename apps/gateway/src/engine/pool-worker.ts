// An engine worker thread of the pool (engine/pool-node.ts): its own onnxruntime-node sessions (one intra-op
// thread each) for every model the pool has loaded, and whole prompt jobs run next to them: decode, sampling,
// the reference's scoring, drift stats and sketch scores (the same runGuard / runUnguarded as on the main
// thread, so the same seed gives the same tokens and KL). KV caches and logits stay here; the main thread gets
// text deltas, the outcomes and the ledger. A cancel message aborts the job between two graph runs.
import { parentPort, workerData } from "node:worker_threads";
import { StopSequences } from "@tether/shared/sampling/stop";
import { systemClock } from "../clock";
import type { ChoiceOutcome, PromptJob } from "../guard/job";
import { runInProcess } from "../guard/job-runner";
import { smokeGenerate } from "../serving/smoke";
import type { OnnxWeights } from "./checkpoint";
import type { DecodeSession } from "./engine";
import { OrtNodeEngine } from "./ort-node";
import { DeltaWriter, errorData, type FromWorker, type JobSpec, type OutcomeMessage, type ToWorker } from "./pool-protocol";

const port = parentPort!;
const { intraOpNumThreads } = workerData as { intraOpNumThreads: number };
const models = new Map<string, Promise<OrtNodeEngine>>();
const jobs = new Map<number, AbortController>();
const sessions = new Map<number, DecodeSession>();

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function model(key: string): Promise<OrtNodeEngine> {
  const engine = models.get(key);
  if (!engine) throw new Error(`engine worker: model ${key} is not loaded`);
  return engine;
}

// Loads and warms (one prefill + one step: ORT's first run is slow, and a broken graph is refused here). The
// main thread verified the directory's hashes before asking (EnginePool.load), so they are not computed again.
async function load(key: string, dir: string, weights: OnnxWeights): Promise<void> {
  const loading = OrtNodeEngine.load(dir, { intraOpNumThreads, weights, verified: true });
  models.set(key, loading);
  try {
    await smokeGenerate(await loading);
    post({ type: "loaded", key, error: null });
  } catch (e) {
    models.delete(key);
    void loading.then((engine) => engine.dispose()).catch(() => {});
    post({ type: "loaded", key, error: errorData(e) });
  }
}

function outcomeMessage(writer: DeltaWriter, o: ChoiceOutcome): OutcomeMessage {
  return { index: o.index, seq: writer.delta(o.sequence), drift: o.drift, source: o.source };
}

async function runJob(id: number, spec: JobSpec): Promise<void> {
  const controller = new AbortController();
  jobs.set(id, controller);
  const writer = new DeltaWriter();
  const timings = { queueMs: 0, generateMs: 0, guardMs: 0 };
  const ledger: PromptJob["ledger"] = [];
  try {
    const job: PromptJob = {
      policy: await model(spec.policy),
      reference: await model(spec.reference),
      prompt: spec.prompt,
      settings: { ...spec.settings, stop: new StopSequences(spec.settings.stop), eosIds: new Set(spec.settings.eosIds) },
      n: spec.n,
      firstChoice: spec.firstChoice,
      seed: spec.seed,
      signal: controller.signal,
      sketch: spec.sketch === null ? null : (await model(spec.sketch)).checkpoint.sketch,
      clock: systemClock,
      timings,
      ledger,
      onStep: spec.live ? (firstChoice, seqs) => post({ type: "step", id, firstChoice, seqs: seqs.map((s) => writer.delta(s)) }) : undefined,
      onChoice: spec.choices ? (o) => post({ type: "choice", id, outcome: outcomeMessage(writer, o) }) : undefined,
    };
    const outcomes = await runInProcess(job, spec.guard);
    post({ type: "done", id, outcomes: outcomes.map((o) => outcomeMessage(writer, o)), ledger, timings });
  } catch (e) {
    post({ type: "failed", id, error: errorData(e), aborted: controller.signal.aborted, ledger, timings });
  } finally {
    jobs.delete(id);
  }
}

// Single engine calls (the echo's logprobs, smoke generations of the registry): answered with their result.
async function call(id: number, work: () => Promise<unknown>, transfer: (value: unknown) => ArrayBuffer[] = () => []): Promise<void> {
  try {
    const value = await work();
    post({ type: "result", id, value }, transfer(value));
  } catch (e) {
    post({ type: "failed", id, error: errorData(e), aborted: false, ledger: [], timings: { queueMs: 0, generateMs: 0, guardMs: 0 } });
  }
}

const buffers = (arrays: readonly Float32Array[]) => arrays.map((a) => a.buffer as ArrayBuffer);
const copyStep = (out: { logits: Float32Array; sketch?: readonly Float32Array[] }) => ({ logits: out.logits.slice(), sketch: out.sketch?.map((s) => s.slice()) });

function session(id: number): DecodeSession {
  const s = sessions.get(id);
  if (!s) throw new Error(`engine worker: no decode session ${id}`);
  return s;
}

async function shutdown(id: number): Promise<void> {
  for (const c of jobs.values()) c.abort();
  for (const s of sessions.values()) s.close();
  const engines = await Promise.allSettled(models.values());
  models.clear();
  await Promise.allSettled(engines.map((r) => (r.status === "fulfilled" ? r.value.dispose() : undefined)));
  post({ type: "result", id, value: null });
}

port.on("message", (m: ToWorker) => {
  switch (m.type) {
    case "load":
      return void load(m.key, m.dir, m.weights);
    case "unload": {
      const engine = models.get(m.key);
      models.delete(m.key);
      return void engine?.then((e) => e.dispose()).catch(() => {});
    }
    case "job":
      return void runJob(m.id, m.spec);
    case "cancel":
      return void jobs.get(m.id)?.abort();
    case "score":
      return void call(m.id, async () => (await (await model(m.key)).score(m.prompt, m.completions)).logits.map((l) => l.slice()), (v) => buffers(v as Float32Array[]));
    case "open":
      return void call(m.id, async () => void sessions.set(m.id, await (await model(m.key)).startDecode(m.prompt, m.batchSize)));
    case "prefill":
      return void call(m.id, async () => copyStep(await session(m.session).prefill()), (v) => buffers([(v as { logits: Float32Array }).logits]));
    case "step":
      return void call(m.id, async () => copyStep(await session(m.session).step(m.tokens, m.live ?? undefined)), (v) => buffers([(v as { logits: Float32Array }).logits]));
    case "close":
      sessions.get(m.session)?.close();
      return void sessions.delete(m.session);
    case "shutdown":
      return void shutdown(m.id);
  }
});
