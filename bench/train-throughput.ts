// Training throughput of the tfjs Qwen2 trainer next to the PyTorch anchor, tokens/s at batch 16 × 64:
// tiny and small, plain CE and CE + β·exact KL to a frozen reference (its forward pass included).
// Median of timed steps after warm-up; the two variants of a preset are interleaved so load hits both.
// Two clocks: wall time, and the CPU time of this single-threaded process (user + system), which is what a
// step costs one idle core and stays comparable to the 1-thread anchor on a machine shared with other jobs
// (it still grows somewhat under load: caches and the sibling hyperthread are shared). Rerun with
// `npm run bench -- train`.
import { cpus, loadavg } from "node:os";
import { initBackend } from "../apps/trainer/src/backend";
import { countParams } from "../apps/trainer/src/model/params";
import { makeRig, median, timed, trainStep } from "./train-step";

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

export async function benchTrain(steps = 6): Promise<void> {
  const backend = await initBackend();
  const load0 = loadavg();
  console.log(`train throughput · backend ${backend} · batch ${B}×${T} · load ${load0.map((x) => x.toFixed(2)).join(" ")} on ${cpus().length} cores`);
  console.log("preset  params  KL   wall ms  tokens/s  │ CPU ms  tokens/CPU-s  PyTorch (1 thread)  ratio (CPU)");
  for (const preset of ["tiny", "small"] as const) {
    const rig = makeRig(preset, B, T);
    const times: Record<"plain" | "kl", { cpu: number; wall: number }[]> = { plain: [], kl: [] };
    for (let s = 0; s < steps + 1; s++) {
      for (const kind of ["plain", "kl"] as const) {
        const t = timed(() => trainStep(rig, kind === "kl"));
        if (s >= 1) times[kind].push(t); // step 0 warms up both
      }
    }
    for (const kind of ["plain", "kl"] as const) {
      const wall = median(times[kind].map((t) => t.wall));
      const cpu = median(times[kind].map((t) => t.cpu));
      const tpsCpu = (B * T) / (cpu / 1000);
      const anchor = PYTORCH_ANCHOR[preset][kind];
      console.log(
        `${preset.padEnd(7)} ${(countParams(rig.c) / 1e6).toFixed(2)}M  ${(kind === "kl" ? "yes" : "no").padEnd(4)}${wall.toFixed(0).padStart(8)} ${Math.round((B * T) / (wall / 1000)).toString().padStart(9)}  │${cpu.toFixed(0).padStart(7)} ${Math.round(tpsCpu).toString().padStart(13)} ${anchor.toString().padStart(19)} ${(tpsCpu / anchor).toFixed(2).padStart(11)}×`,
      );
    }
    rig.dispose();
  }
  console.log(`load after ${loadavg().map((x) => x.toFixed(2)).join(" ")} (wall-clock figures at a load above the core count measure the machine's other jobs)`);
}
