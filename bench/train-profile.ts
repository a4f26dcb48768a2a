// `npm run bench -- train-profile`: where a training step's time goes, per phase and per kernel, for tiny and
// small at 16×64. Phases are medians of separately timed pieces (data, forward, backward, AdamW, the KL
// extra); kernels come from tf.profile over one whole step (wasm times each kernel on the host clock).
// The summary in bench/train-profile.md was made with this script.
import * as tf from "@tensorflow/tfjs";
import { loadavg } from "node:os";
import { initBackend } from "../apps/trainer/src/backend";
import { forward } from "../apps/trainer/src/model/qwen2";
import { crossEntropy } from "../apps/trainer/src/train/losses";
import { makeRig, median, timed, trainStep, VOCAB, type BenchRig } from "./train-step";

const SHAPES: ["tiny" | "small", number, number][] = [["tiny", 16, 64], ["small", 16, 64]];

// CPU milliseconds of this (single-threaded) process: what a phase costs an idle core, even on a shared machine.
const timeIt = (f: () => void): number => timed(f).cpu;

function phases(r: BenchRig, reps: number): Record<string, number> {
  const [B, T] = r.ids.shape;
  const out: Record<string, number[]> = { data: [], forward: [], "forward+backward": [], adamw: [], "step (CE)": [], "step (CE+KL)": [] };
  for (let i = 0; i < reps; i++) {
    out.data!.push(timeIt(() => {
      const ids = Int32Array.from({ length: B * T }, (_, j) => (j * 7) % VOCAB);
      tf.dispose([tf.tensor2d(ids, [B, T], "int32"), tf.tensor2d(ids, [B, T], "int32"), tf.ones([B, T])]);
    }));
    out.forward!.push(timeIt(() => tf.tidy(() => crossEntropy(forward(r.policy, r.c, r.ids).logits, r.targets, r.mask).dataSync())));
    let grads: tf.NamedTensorMap = {};
    out["forward+backward"]!.push(timeIt(() => {
      const res = tf.variableGrads(() => crossEntropy(forward(r.policy, r.c, r.ids).logits, r.targets, r.mask), r.adam.trainable());
      res.value.dataSync();
      res.value.dispose();
      grads = res.grads;
    }));
    out.adamw!.push(timeIt(() => r.adam.apply(grads, 1e-4)));
    tf.dispose(Object.values(grads));
    out["step (CE)"]!.push(timeIt(() => trainStep(r, false)));
    out["step (CE+KL)"]!.push(timeIt(() => trainStep(r, true)));
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, median(v)]));
}

async function kernels(r: BenchRig, withKl: boolean): Promise<{ rows: [string, number, number][]; total: number; count: number }> {
  const info = await tf.profile(() => { trainStep(r, withKl); });
  const by = new Map<string, [number, number]>();
  // tf.customGrad's wrappers ("forward", "unnamed scope") time the kernels they contain, which are listed too.
  for (const k of info.kernels.filter((x) => x.name !== "forward" && x.name !== "unnamed scope")) {
    const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    const [n, t] = by.get(k.name) ?? [0, 0];
    by.set(k.name, [n + 1, t + ms]);
  }
  const rows = [...by.entries()].map(([name, [n, t]]) => [name, n, t] as [string, number, number]).sort((a, b) => b[2] - a[2]);
  return { rows, total: rows.reduce((s, x) => s + x[2], 0), count: rows.reduce((s, x) => s + x[1], 0) };
}

export async function profileTrain(reps = 5): Promise<void> {
  const backend = await initBackend();
  console.log(`train profile · backend ${backend} · load ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  for (const [preset, B, T] of SHAPES) {
    const r = makeRig(preset, B, T);
    for (let i = 0; i < 2; i++) { trainStep(r, false); trainStep(r, true); }
    const p = phases(r, reps);
    console.log(`\n## ${preset} ${B}×${T} — phases (median of ${reps}, CPU ms)`);
    const fwd = p.forward!, fb = p["forward+backward"]!;
    const kl = p["step (CE+KL)"]! - p["step (CE)"]!;
    for (const [k, v] of Object.entries({ data: p.data!, forward: fwd, backward: fb - fwd, adamw: p.adamw!, "KL extra (ref fwd + exact KL + its grad)": kl, "step (CE)": p["step (CE)"]!, "step (CE+KL)": p["step (CE+KL)"]! })) {
      console.log(`  ${k.padEnd(42)} ${v.toFixed(1).padStart(8)}`);
    }
    for (const withKl of [false, true]) {
      const k = await kernels(r, withKl);
      console.log(`\n  kernels, one step ${withKl ? "CE+KL" : "CE"}: ${k.count} kernel calls, ${k.total.toFixed(1)} wall ms inside kernels`);
      console.log("  kernel              calls   ms     share");
      for (const [name, n, t] of k.rows.slice(0, 14)) {
        console.log(`  ${name.padEnd(18)} ${String(n).padStart(6)} ${t.toFixed(1).padStart(7)} ${((100 * t) / k.total).toFixed(1).padStart(6)}%`);
      }
    }
    r.dispose();
  }
  console.log(`\nload after: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
}
