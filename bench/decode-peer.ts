// Decode throughput of the gateway's engine (OrtNodeEngine) against transformers.js (the inference peer) on
// the SAME exported weights and the same onnxruntime-node 1.30 build, both pinned to one intra-op thread:
// greedy generation of NEW_TOKENS tokens with no early stop from one PROMPT-token prompt, batch 1 and k = 4
// sequences of that prompt. Each figure is the median of REPEATS interleaved runs of a whole generation
// (prefill + NEW_TOKENS − 1 steps); both sides must produce the same tokens. Goals at batch 1: fp32 ≥ 2×,
// int8 ≥ 3× transformers.js on the fp32 weights (`export --quantize int8`'s onnx/model_int8.onnx, served with
// weights "int8"; its greedy tokens may differ from fp32's, so their agreement is printed instead of required).
// The machine is shared (other jobs, 2 cores): wall-clock medians swing, so the ratio of the fastest runs and
// of process CPU time per generation (all threads; one intra-op thread each, no spinning pool) are printed
// beside it, and a full GC runs before every timed generation.
//
// Checkpoints: the trainer's `tiny` and `small` preset shapes with seeded random weights (speed does not
// depend on their values) and the character tokenizer, exported twice: `auto` (the variant the export
// chooses, which our engine serves) and `standard` (what transformers.js is given, as the SPEC promises); our
// engine also runs the standard graph (ours-std), so runtime overhead and graph choice show separately.
// Also: the prompt run once and tiled to k rows (our default) vs run at batch k.
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Tensor, type PreTrainedModel } from "@huggingface/transformers";
import { sampleToken } from "@tether/shared/sampling/sample";
import { OrtNodeEngine } from "../apps/gateway/src/engine/ort-node";
import { initBackend } from "../apps/trainer/src/backend";
import { median } from "../apps/trainer/src/export/ort-decode";
import { loadPeer, writePeerCheckpoints, type Preset } from "./peer-checkpoints";

export const PROMPT = 16;
export const NEW_TOKENS = 64;
const BATCHES = [1, 4];
const REPEATS = 15;
const THREADS = 1;

/** Greedy tokens of `rows` copies of `prompt` from our engine: [rows][NEW_TOKENS]. */
export async function oursGenerate(engine: OrtNodeEngine, prompt: number[], rows: number): Promise<number[][]> {
  const V = engine.info.vocabSize;
  const out: number[][] = Array.from({ length: rows }, () => []);
  const session = await engine.startDecode(prompt, rows);
  try {
    let step = await session.prefill();
    const tokens = new Int32Array(rows);
    for (let t = 0; t < NEW_TOKENS; t++) {
      for (let b = 0; b < rows; b++) out[b]!.push((tokens[b] = sampleToken(step.logits.subarray(b * V, (b + 1) * V), { temperature: 0 }, 0)));
      if (t + 1 < NEW_TOKENS) step = await session.step(tokens);
    }
  } finally {
    session.close();
  }
  return out;
}

/** The same with transformers.js: a [rows, P] batch of the prompt, greedy, EOS disabled. */
export async function peerGenerate(model: PreTrainedModel, prompt: number[], rows: number): Promise<number[][]> {
  const P = prompt.length;
  const ids = new Tensor("int64", BigInt64Array.from({ length: rows * P }, (_, i) => BigInt(prompt[i % P]!)), [rows, P]);
  const mask = new Tensor("int64", new BigInt64Array(rows * P).fill(1n), [rows, P]);
  const out = (await model.generate({ input_ids: ids, attention_mask: mask, max_new_tokens: NEW_TOKENS, do_sample: false, eos_token_id: null } as never)) as Tensor;
  const flat = Array.from(out.data as BigInt64Array, Number);
  const width = flat.length / rows;
  return Array.from({ length: rows }, (_, b) => flat.slice(b * width + P, (b + 1) * width));
}

// A full garbage collection before each timed run, so one runtime's garbage is not collected on the other's clock.
setFlagsFromString("--expose-gc");
export const collectGarbage = runInNewContext("gc") as () => void;

/** Wall time and this process's CPU time (all threads) of one generation. */
async function timed(run: () => Promise<number[][]>): Promise<{ ms: number; cpuMs: number; tokens: number[][] }> {
  collectGarbage();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const tokens = await run();
  const cpu = process.cpuUsage(cpu0);
  return { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, tokens };
}

async function prefillMs(engine: OrtNodeEngine, prompt: number[], rows: number): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < REPEATS * 4; r++) {
    const t0 = performance.now();
    const session = await engine.startDecode(prompt, rows);
    await session.prefill();
    times.push(performance.now() - t0);
    session.close();
  }
  return median(times.slice(2));
}

async function benchPreset(preset: Preset, root: string): Promise<void> {
  // 1) one set of weights, exported as the export's own choice (ours) and as `standard` (transformers.js)
  const dirs = await writePeerCheckpoints(preset, root);
  // 2) transformers.js reads a temp copy of the standard folder, offline
  const { peer, close: closePeer } = await loadPeer(dirs.standard, preset, THREADS);
  const ours = await OrtNodeEngine.load(dirs.auto, { intraOpNumThreads: THREADS });
  const oursStandard = await OrtNodeEngine.load(dirs.standard, { intraOpNumThreads: THREADS });
  const oursInt8 = await OrtNodeEngine.load(dirs.auto, { intraOpNumThreads: THREADS, weights: "int8" });
  const batched = await OrtNodeEngine.load(dirs.auto, { intraOpNumThreads: THREADS, prefill: "batched" });
  const prompt = Array.from({ length: PROMPT }, (_, t) => 4 + ((t * 7) % 90));
  const runners: [string, (rows: number) => Promise<number[][]>][] = [
    ["ours", (rows) => oursGenerate(ours, prompt, rows)],
    ["ours-standard", (rows) => oursGenerate(oursStandard, prompt, rows)],
    ["peer", (rows) => peerGenerate(peer, prompt, rows)],
    ["ours-int8", (rows) => oursGenerate(oursInt8, prompt, rows)],
  ];
  const agree = { same: 0, all: 0 }; // int8 greedy tokens equal to fp32's
  try {
    // 3) interleaved repeats after one warm-up of each; every runner must give the same greedy tokens
    const wall = new Map<string, number[]>();
    const cpu = new Map<string, number[]>();
    const add = (m: Map<string, number[]>, key: string, ms: number) => m.set(key, [...(m.get(key) ?? []), ms]);
    for (let rep = -1; rep < REPEATS; rep++) {
      for (const rows of BATCHES) {
        let expected: string | null = null;
        for (const [name, run] of runners) {
          const r = await timed(() => run(rows));
          expected ??= JSON.stringify(r.tokens);
          if (name === "ours-int8") {
            const fp32 = JSON.parse(expected) as number[][];
            r.tokens.forEach((row, b) => row.forEach((t, i) => ((agree.all += 1), (agree.same += t === fp32[b]![i] ? 1 : 0))));
          } else if (JSON.stringify(r.tokens) !== expected) throw new Error(`decode-peer: ${preset} batch ${rows}: ${name} disagrees with ours on the greedy tokens`);
          if (rep >= 0) add(wall, `${name}/${rows}`, r.ms), add(cpu, `${name}/${rows}`, r.cpuMs);
        }
      }
    }
    // 4) tokens/s from the median wall time; ratios of median wall time, of the fastest run (the least disturbed
    //    by other jobs) and of median process CPU time
    const rate = (m: Map<string, number[]>, key: string, rows: number, pick = median) => (rows * NEW_TOKENS) / (pick(m.get(key)!) / 1000);
    const fastest = (xs: readonly number[]) => Math.min(...xs);
    for (const rows of BATCHES) {
      const [o, s, p, q] = ["ours", "ours-standard", "peer", "ours-int8"].map((n) => rate(wall, `${n}/${rows}`, rows)) as [number, number, number, number];
      const best = rate(wall, `ours/${rows}`, rows, fastest) / rate(wall, `peer/${rows}`, rows, fastest);
      const cpuRatio = rate(cpu, `ours/${rows}`, rows) / rate(cpu, `peer/${rows}`, rows);
      const cells = [preset.padEnd(6), ours.checkpoint.onnx.variant.padEnd(8), String(rows).padStart(5), o.toFixed(0).padStart(6), s.toFixed(0).padStart(8), q.toFixed(0).padStart(6), p.toFixed(0).padStart(8)];
      const ratios = [o / p, s / p, best, cpuRatio, q / p].map((r) => `${r.toFixed(2)}×`.padStart(8));
      console.log(`${cells.join(" ")} ${ratios.join(" ")}`);
    }
    const [tile, run] = [await prefillMs(ours, prompt, 4), await prefillMs(batched, prompt, 4)];
    console.log(`${preset.padEnd(6)} prefill of ${PROMPT} tokens for k = 4: run once + tile ${tile.toFixed(2)} ms, run at batch 4 ${run.toFixed(2)} ms`);
    console.log(`${preset.padEnd(6)} int8 greedy tokens equal to fp32's: ${((100 * agree.same) / agree.all).toFixed(1)}% · goals at batch 1: fp32 ≥ 2×, int8 ≥ 3× transformers.js`);
  } finally {
    await Promise.all([ours.dispose(), oursStandard.dispose(), oursInt8.dispose(), batched.dispose(), closePeer()]);
  }
}

export async function benchDecodePeer(): Promise<void> {
  await initBackend(); // the trainer's tfjs, only to write the checkpoints
  const root = mkdtempSync(join(tmpdir(), "tether-decode-peer-"));
  const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");
  console.log(`decode-peer · OrtNodeEngine vs transformers.js, onnxruntime-node 1.30 CPU, ${THREADS} intra-op thread · prompt ${PROMPT}, ${NEW_TOKENS} new tokens, median of ${REPEATS} · load ${load()}`);
  console.log("                       tokens/s (median)               ours / transformers.js");
  console.log("preset graph    batch   ours ours-std   int8     tfjs   median  std/std  fastest CPU time     int8");
  try {
    for (const preset of ["tiny", "small"] as const) await benchPreset(preset, root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  console.log(`decode-peer · load after ${load()}`);
}
