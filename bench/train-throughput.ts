// Training throughput of the tfjs Qwen2 trainer next to the PyTorch anchor, tokens/s at batch 16 × 64:
// tiny and small, plain CE (a pretrain step) and CE + β·exact KL to a frozen reference (an sft step, the
// reference's forward included), with --workers 1 (in-process) and 2 (data parallel over worker threads),
// all through the trainer's own step code (train/batch-grads.ts, parallel/data-parallel.ts, AdamW).
// Median of timed steps after a warm-up; the variants are interleaved so load hits them alike.
// Three figures per row, because the machine is shared:
//   wall        what this run got at the printed load;
//   CPU         CPU time of the whole process, every thread (user + system): the work of a step;
//   idle est.   what a step would take on idle cores: (CPU − serial)/N + serial, where serial is the part only
//               the main thread runs (AdamW, the gradient sum, publishing weights) while replicas wait.
// Ratios are tokens/s over the anchor's (1 thread): "wall" = this run (the goal's figure on an idle machine),
// "CPU" = one core doing all the work, "idle" = the estimate.
// Rerun with `npm run bench -- train`.
import { cpus, loadavg } from "node:os";
import { initBackend } from "../apps/trainer/src/backend";
import { countParams } from "../apps/trainer/src/model/params";
import { DataParallel, physicalCores } from "../apps/trainer/src/parallel/data-parallel";
import { batchGrads, type RowBatch, type StepObjective } from "../apps/trainer/src/train/batch-grads";
import * as tf from "@tensorflow/tfjs";
import { makeRig, median, VOCAB, type BenchRig } from "./train-step";

/**
 * The anchor: PyTorch 1.13 on this kind of CPU, 1 thread, OpenBLAS, the same Qwen2-style decoder
 * (RMSNorm, RoPE, GQA, SwiGLU, tied embeddings), batch 16 × 64 tokens, AdamW, one fixed batch; "with KL"
 * adds a no-grad forward of a frozen reference and the exact per-token KL over the full vocabulary.
 * Measured once for issue 13 (see /work/shared/ENVIRONMENT.md, "Measured since"); Debian's python3-torch
 * uses the reference BLAS and is 7–17× slower, so it is not rerun here.
 */
export const PYTORCH_ANCHOR: Record<"tiny" | "small", { plain: number; kl: number }> = {
  tiny: { plain: 41_700, kl: 29_700 }, // d64/2L, 0.10M parameters
  small: { plain: 3_570, kl: 2_550 }, // d256/4L, 3.0M parameters
};

const B = 16;
const T = 64;
const OBJECTIVES: Record<"plain" | "kl", StepObjective> = {
  plain: { kind: "pretrain" },
  kl: { kind: "sft", beta: 0.1, klOn: "task", kl: "reverse", klMix: 0.5 },
};

interface StepTime {
  wall: number;
  cpu: number;
  serial: number;
}

/** The rig's fixed batch (ids (7i) mod V, targets shifted by 7, every position scored) as row arrays. */
function rowBatch(): RowBatch {
  return {
    inputIds: Int32Array.from({ length: B * T }, (_, i) => (i * 7) % VOCAB),
    targetIds: Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 7) % VOCAB),
    lossMask: new Float32Array(B * T).fill(1),
    attentionMask: new Int32Array(B * T).fill(1),
    shape: [B, T],
  };
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

async function step(rig: BenchRig, dp: DataParallel | null, kind: "plain" | "kl", task: RowBatch): Promise<StepTime> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const objective = OBJECTIVES[kind];
  const { grads } = dp
    ? await dp.grads(objective, { task })
    : batchGrads({ policy: rig.policy, reference: rig.reference, config: rig.c }, objective, { task }, rig.adam.trainable());
  const a0 = process.cpuUsage();
  rig.adam.apply(grads, 1e-4);
  tf.dispose(Object.values(grads));
  const adam = cpuMs(process.cpuUsage(a0));
  return { wall: performance.now() - t0, cpu: cpuMs(process.cpuUsage(c0)), serial: adam + (dp ? dp.lastSerialCpuMs : 0) };
}

export async function benchTrain(): Promise<void> {
  const backend = await initBackend();
  const load0 = loadavg();
  console.log(
    `train throughput · backend ${backend} · batch ${B}×${T} · ${cpus().length} logical / ${physicalCores()} physical cores · load ${load0.map((x) => x.toFixed(2)).join(" ")}`,
  );
  console.log("preset  params  KL  workers │ wall ms  tok/s │ CPU ms  tok/CPU-s │ serial  idle est. ms  tok/s │ PyTorch 1 thr  ratio wall  ratio CPU  ratio idle");
  const task = rowBatch();
  for (const preset of ["tiny", "small"] as const) {
    const rig = makeRig(preset, B, T);
    const dp = await DataParallel.start({ workers: 2, backend, config: rig.c, policy: rig.policy, reference: rig.reference, trainable: [...rig.adam.m.keys()] });
    // Warm-up rounds first: the trainer's hand-assembled wasm kernels start on V8's baseline compiler and the
    // optimised code takes over after a few steps (tiny's first 4–5 interleaved steps run ~2× slower).
    const [warmup, steps] = preset === "tiny" ? [6, 10] : [2, 3];
    const times = new Map<string, StepTime[]>();
    try {
      for (let s = 0; s < warmup + steps; s++) {
        for (const kind of ["plain", "kl"] as const) {
          for (const workers of [1, 2]) {
            const t = await step(rig, workers === 2 ? dp : null, kind, task);
            const key = `${kind}/${workers}`;
            if (s >= warmup) times.set(key, [...(times.get(key) ?? []), t]);
          }
        }
      }
    } finally {
      await dp.close();
    }
    for (const kind of ["plain", "kl"] as const) {
      for (const workers of [1, 2]) {
        const ts = times.get(`${kind}/${workers}`)!;
        const [wall, cpu, serial] = [median(ts.map((t) => t.wall)), median(ts.map((t) => t.cpu)), median(ts.map((t) => t.serial))];
        const idle = (cpu - serial) / workers + serial;
        const tps = (ms: number) => (B * T) / (ms / 1000);
        const anchor = PYTORCH_ANCHOR[preset][kind];
        const n = (x: number, w: number) => Math.round(x).toString().padStart(w);
        console.log(
          `${preset.padEnd(7)} ${(countParams(rig.c) / 1e6).toFixed(2)}M  ${(kind === "kl" ? "yes" : "no").padEnd(3)} ${String(workers).padStart(7)} │${n(wall, 8)} ${n(tps(wall), 6)} │${n(cpu, 7)} ${n(tps(cpu), 10)} │${n(serial, 7)} ${n(idle, 13)} ${n(tps(idle), 6)} │${n(anchor, 14)} ${(tps(wall) / anchor).toFixed(2).padStart(10)}× ${(tps(cpu) / anchor).toFixed(2).padStart(9)}× ${(tps(idle) / anchor).toFixed(2).padStart(10)}×`,
        );
      }
    }
    rig.dispose();
  }
  console.log(`load after ${loadavg().map((x) => x.toFixed(2)).join(" ")} (wall-clock figures at a load above the core count measure the machine's other jobs)`);
}
