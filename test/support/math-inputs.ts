// Seeded test inputs shared by the math tests (not shipped code: imported only by *.test.ts).
import { Pcg32 } from "../../packages/shared/src/sampling/prng";

/** Standard normal draws by Box–Muller from a seeded PCG32. */
export function gaussians(n: number, seed: number, scale = 1): Float64Array {
  const rng = new Pcg32(seed, 7);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - rng.nextFloat(); // (0, 1]
    const u2 = rng.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = scale * r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = scale * r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** Naive float64 softmax straight from the definition (no max shift): only for moderate logits. */
export function naiveSoftmax(x: ArrayLike<number>): number[] {
  const e = Array.from(x, Math.exp);
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/** KL(P‖Q) = Σ p log(p/q) from the definition, on naive probabilities. */
export function naiveKl(pLogits: ArrayLike<number>, qLogits: ArrayLike<number>): number {
  const p = naiveSoftmax(pLogits);
  const q = naiveSoftmax(qLogits);
  return p.reduce((acc, pi, i) => (pi > 0 ? acc + pi * Math.log(pi / q[i]!) : acc), 0);
}
