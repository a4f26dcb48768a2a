// Where a batch-1 decode step's time goes: our engine (the export's auto graph at fp32, and its int8 form) vs
// transformers.js (the standard graph, fp32) on decode-peer's `small` checkpoint (bench/peer-checkpoints.ts), one
// intra-op thread each. `npm run bench -- decode-profile`
//   1) per generated token (a greedy generation of NEW_TOKENS tokens after a PROMPT-token prompt, median of REPEATS
//      interleaved runs): wall and process CPU time, the part spent inside InferenceSession.run (ONNX Runtime: JS
//      feeds → graph → outputs as JS tensors) and the part outside it (the caller's JavaScript: feeds, cache
//      bookkeeping, logits, sampling);
//   2) ours: what turning outputs into JS tensors costs: run() fetching every output minus run() fetching only
//      `logits` (the graph still computes the rest), at a fixed past of PAST tokens, CPU time per run;
//   3) ONNX Runtime's kernel time per operator type (its own profiler, which adds a fixed cost per node, so the
//      shares are read, not the µs), and the MatMul share turned into µs of the measured run time;
//   4) what the decode-peer goals (fp32 ≥ 2×, int8 ≥ 3× transformers.js) leave for our whole step.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import type { PreTrainedModel } from "@huggingface/transformers";
import { OrtNodeEngine } from "../apps/gateway/src/engine/ort-node";
import type { OrtTensor } from "../apps/gateway/src/engine/ort-runtime";
import { initBackend } from "../apps/trainer/src/backend";
import { median } from "../apps/trainer/src/export/ort-decode";
import { collectGarbage, NEW_TOKENS, oursGenerate, peerGenerate, PROMPT } from "./decode-peer";
import { loadPeer, writePeerCheckpoints } from "./peer-checkpoints";

const PRESET = "small";
const REPEATS = 15;
const PAST = 48; // cached tokens in the fixed-feed runs of 2) and 3): the middle of a 16 + 64 generation
const PROFILED_RUNS = 200;

interface RunClock {
  ms: number; // wall time inside run(), summed
  calls: number;
}

/** Wraps `target.run` so the wall time spent inside it is summed into the returned clock. */
function clockRuns(target: { run: (...args: never[]) => Promise<unknown> }): RunClock {
  const clock = { ms: 0, calls: 0 };
  const inner = target.run.bind(target) as (...args: unknown[]) => Promise<unknown>;
  (target as { run: (...args: unknown[]) => Promise<unknown> }).run = async (...args) => {
    const t0 = performance.now();
    try {
      return await inner(...args);
    } finally {
      clock.ms += performance.now() - t0;
      clock.calls++;
    }
  };
  return clock;
}

/** Decode feeds at batch 1 over a fixed past of PAST tokens (the cache holds arbitrary values). */
function fixedFeeds(engine: OrtNodeEngine): Record<string, OrtTensor> {
  const { layers, kvHeads, headDim } = engine.kv;
  const past: Record<string, OrtTensor> = {};
  for (let i = 0; i < layers; i++) {
    for (const kind of ["key", "value"]) past[`past_key_values.${i}.${kind}`] = engine.tensors.float32(Float32Array.from({ length: kvHeads * PAST * headDim }, (_, j) => Math.sin(i + j)), [1, kvHeads, PAST, headDim]);
  }
  return engine.feeds(new BigInt64Array([7n]), 1, PAST, past);
}

/** CPU µs per run() of `engine` fetching `fetches`, median of interleaved batches. */
async function cpuPerRun(engine: OrtNodeEngine, sets: readonly (readonly string[])[]): Promise<number[]> {
  const feeds = fixedFeeds(engine);
  const samples = sets.map(() => [] as number[]);
  for (let rep = 0; rep < 30; rep++) {
    for (const [k, fetches] of sets.entries()) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < 20; i++) await engine.runner.run(feeds, fetches);
      const c = process.cpuUsage(c0);
      samples[k]!.push((c.user + c.system) / 20);
    }
  }
  return samples.map(median);
}

/** ONNX Runtime's profiler on `file`: kernel µs per run by operator type, and its model_run µs. */
async function kernelProfile(file: string, engine: OrtNodeEngine, dir: string, tag: string): Promise<{ byOp: Map<string, number>; runUs: number; nodes: number }> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all", enableProfiling: true, profileFilePrefix: join(dir, tag) });
  const feeds = fixedFeeds(engine) as Record<string, ort.Tensor>;
  for (let i = 0; i < PROFILED_RUNS; i++) await session.run(feeds);
  session.endProfiling();
  await session.release();
  const name = readdirSync(dir).find((f) => f.startsWith(tag) && f.endsWith(".json"));
  if (!name) throw new Error(`decode-profile: ONNX Runtime wrote no profile for ${tag} in ${dir}`);
  const events = JSON.parse(readFileSync(join(dir, name), "utf8")) as { cat?: string; name: string; dur: number; args?: { op_name?: string } }[];
  const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run");
  const byOp = new Map<string, number>();
  const nodes = new Set<string>();
  for (const e of events) {
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
    const op = e.args?.op_name ?? "?";
    byOp.set(op, (byOp.get(op) ?? 0) + e.dur / runs.length);
    nodes.add(e.name);
  }
  return { byOp, runUs: runs.reduce((s, e) => s + e.dur, 0) / runs.length, nodes: nodes.size };
}

export async function benchDecodeProfile(): Promise<void> {
  await initBackend(); // the trainer's tfjs, only to write the checkpoints
  const root = mkdtempSync(join(tmpdir(), "tether-decode-profile-"));
  const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");
  console.log(`decode-profile · ${PRESET} preset, batch 1, 1 intra-op thread, prompt ${PROMPT} + ${NEW_TOKENS} tokens, median of ${REPEATS} interleaved · load ${load()}`);
  const dirs = await writePeerCheckpoints(PRESET, root);
  const { peer, close: closePeer } = await loadPeer(dirs.standard, PRESET, 1);
  const fp32 = await OrtNodeEngine.load(dirs.auto, { intraOpNumThreads: 1 });
  const int8 = await OrtNodeEngine.load(dirs.auto, { intraOpNumThreads: 1, weights: "int8" });
  try {
    // 1) per generated token, inside and outside run()
    const peerSession = (peer as unknown as { sessions: Record<string, { run: (...args: never[]) => Promise<unknown> }> }).sessions.model!;
    const prompt = Array.from({ length: PROMPT }, (_, t) => 4 + ((t * 7) % 90));
    const sides: [string, RunClock, () => Promise<number[][]>][] = [
      [`ours fp32 (${fp32.checkpoint.onnx.variant})`, clockRuns(fp32.runner), () => oursGenerate(fp32, prompt, 1)],
      ["ours int8", clockRuns(int8.runner), () => oursGenerate(int8, prompt, 1)],
      ["transformers.js (standard)", clockRuns(peerSession), () => peerGenerate(peer as PreTrainedModel, prompt, 1)],
    ];
    const per = sides.map(() => ({ wall: [] as number[], cpu: [] as number[], inRun: [] as number[] }));
    for (let rep = -1; rep < REPEATS; rep++) {
      for (const [k, [, clock, generate]] of sides.entries()) {
        collectGarbage();
        clock.ms = 0;
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await generate();
        const wall = performance.now() - t0;
        const c = process.cpuUsage(c0);
        if (rep < 0) continue;
        per[k]!.wall.push((1000 * wall) / NEW_TOKENS);
        per[k]!.cpu.push((c.user + c.system) / NEW_TOKENS);
        per[k]!.inRun.push((1000 * clock.ms) / NEW_TOKENS);
      }
    }
    console.log("µs per generated token          wall    CPU   in run()   outside run()");
    const rows = per.map((p) => ({ wall: median(p.wall), cpu: median(p.cpu), inRun: median(p.inRun) }));
    rows.forEach((r, k) => console.log(`${sides[k]![0].padEnd(28)} ${r.wall.toFixed(0).padStart(6)} ${r.cpu.toFixed(0).padStart(6)} ${r.inRun.toFixed(0).padStart(10)} ${(r.wall - r.inRun).toFixed(0).padStart(15)}`));

    // 2) outputs → JS tensors
    for (const [name, engine] of [["fp32", fp32], ["int8", int8]] as const) {
      const [all, logits] = (await cpuPerRun(engine, [engine.decodeFetches, ["logits"]])) as [number, number];
      console.log(`ours ${name}: run() at past ${PAST}, CPU µs: all ${engine.decodeFetches.length} outputs ${all.toFixed(0)}, logits only ${logits.toFixed(0)} → converting the other ${engine.decodeFetches.length - 1} (present.*, sketch.*) costs ${(all - logits).toFixed(0)} µs`);
    }

    // 3) kernel time by operator
    const files: [string, string, OrtNodeEngine][] = [["fp32", join(dirs.auto, "onnx", "model.onnx"), fp32], ["int8", join(dirs.auto, "onnx", "model_int8.onnx"), int8], ["tjs-standard", join(dirs.standard, "onnx", "model.onnx"), fp32]];
    const matmulShare = new Map<string, number>();
    for (const [tag, file, engine] of files) {
      const { byOp, runUs, nodes } = await kernelProfile(file, engine, root, `ort-profile-${tag}`);
      const kernels = [...byOp.values()].reduce((a, b) => a + b, 0);
      const mm = (byOp.get("MatMul") ?? 0) + (byOp.get("MatMulNBits") ?? 0) + (byOp.get("FusedMatMul") ?? 0);
      matmulShare.set(tag, mm / kernels);
      const top = [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 7).map(([op, us]) => `${op} ${((100 * us) / kernels).toFixed(0)}%`);
      console.log(`kernels ${tag.padEnd(12)} ${nodes} nodes, profiled run ${runUs.toFixed(0)} µs, kernels ${kernels.toFixed(0)} µs: ${top.join(", ")}`);
    }

    // 4) the goals' budget
    const [ours, ours8, tjs] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
    const mmFp32 = matmulShare.get("fp32")! * ours.inRun;
    const mmInt8 = matmulShare.get("int8")! * ours8.inRun;
    console.log(
      `goals: fp32 ≥ 2× needs ours ≤ ${(tjs.wall / 2).toFixed(0)} µs/token (now ${ours.wall.toFixed(0)}; its MatMuls ≈ ${mmFp32.toFixed(0)}), ` +
        `int8 ≥ 3× needs ≤ ${(tjs.wall / 3).toFixed(0)} (now ${ours8.wall.toFixed(0)}; its MatMulNBits ≈ ${mmInt8.toFixed(0)}) · ratios now ${(tjs.wall / ours.wall).toFixed(2)}× / ${(tjs.wall / ours8.wall).toFixed(2)}× · load ${load()}`,
    );
  } finally {
    await Promise.all([fp32.dispose(), int8.dispose(), closePeer()]);
    rmSync(root, { recursive: true, force: true });
  }
}
