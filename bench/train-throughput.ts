// Training throughput of the tfjs Qwen2 trainer next to the PyTorch anchor, tokens/s at batch 16 × 64:
// tiny and small, plain CE and CE + β·exact KL to a frozen reference (its forward pass included).
// Median of timed steps after warm-up; the two variants of a preset are interleaved so load hits both.
// Rerun with `npm run bench -- train`.
import { cpus, loadavg } from "node:os";
import { initBackend } from "../apps/trainer/src/backend";
import { countParams } from "../apps/trainer/src/model/params";
import { makeRig, median, trainStep } from "./train-step";

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
  console.log("preset  params  KL    ms/step   tokens/s   PyTorch   ratio");
  for (const preset of ["tiny", "small"] as const) {
    const rig = makeRig(preset, B, T);
    const times: Record<"plain" | "kl", number[]> = { plain: [], kl: [] };
    for (let s = 0; s < steps + 1; s++) {
      for (const kind of ["plain", "kl"] as const) {
        const t0 = performance.now();
        trainStep(rig, kind === "kl");
        if (s >= 1) times[kind].push(performance.now() - t0); // step 0 warms up both
      }
    }
    for (const kind of ["plain", "kl"] as const) {
      const ms = median(times[kind]);
      const tps = (B * T) / (ms / 1000);
      const anchor = PYTORCH_ANCHOR[preset][kind];
      console.log(
        `${preset.padEnd(7)} ${(countParams(rig.c) / 1e6).toFixed(2)}M  ${(kind === "kl" ? "yes" : "no").padEnd(4)} ${ms.toFixed(1).padStart(8)}  ${Math.round(tps).toString().padStart(9)}  ${anchor.toString().padStart(8)}  ${(tps / anchor).toFixed(2).padStart(5)}×`,
      );
    }
    rig.dispose();
  }
  console.log(`load after ${loadavg().map((x) => x.toFixed(2)).join(" ")} (ratios below 1 core's share are the machine, not the trainer: rerun idle)`);
}
