import { describe, expect, it } from "vitest";
import { Pcg32 } from "./prng";

// Independent reference: PCG32 written directly from the paper with BigInt arithmetic.
function* pcg32BigInt(seed: bigint, stream: bigint) {
  const M = 6364136223846793005n;
  const mask = (1n << 64n) - 1n;
  const inc = ((BigInt.asUintN(64, stream) << 1n) | 1n) & mask;
  let state = 0n;
  state = (state * M + inc) & mask;
  state = (state + BigInt.asUintN(64, seed)) & mask;
  state = (state * M + inc) & mask;
  for (;;) {
    const old = state;
    state = (old * M + inc) & mask;
    const xorshifted = Number((((old >> 18n) ^ old) >> 27n) & 0xffffffffn);
    const rot = Number(old >> 59n);
    yield ((xorshifted >>> rot) | (xorshifted << (-rot & 31))) >>> 0;
  }
}

describe("Pcg32", () => {
  it("reproduces the pcg-c-basic demo output (seed 42, stream 54)", () => {
    const rng = new Pcg32(42, 54);
    const out = Array.from({ length: 6 }, () => rng.nextU32());
    expect(out).toEqual([0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e]);
  });

  it("matches a BigInt implementation for many seeds and streams, negative seeds included", () => {
    const seeds: (number | bigint)[] = [0, 1, -1, 123456789, Number.MAX_SAFE_INTEGER, -(2 ** 40), 2n ** 63n + 5n];
    for (const seed of seeds) {
      for (const stream of [0, 1, 7, 2 ** 31 + 3]) {
        const fast = new Pcg32(seed, stream);
        const slow = pcg32BigInt(BigInt(seed), BigInt(stream));
        for (let i = 0; i < 200; i++) expect(fast.nextU32()).toBe(slow.next().value);
      }
    }
  });

  it("floats are in [0, 1) with 53-bit resolution and the right moments", () => {
    const rng = new Pcg32(9);
    let sum = 0;
    let sumSq = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const u = rng.nextFloat();
      expect(u >= 0 && u < 1).toBe(true);
      sum += u;
      sumSq += u * u;
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(sumSq / n - 1 / 3)).toBeLessThan(0.005);
  });

  it("nextInt is uniform (chi-square, 9 d.o.f., below the 0.999 quantile 27.88)", () => {
    const rng = new Pcg32(3, 3);
    const counts = new Array(10).fill(0);
    const n = 50_000;
    for (let i = 0; i < n; i++) counts[rng.nextInt(10)]++;
    const chi2 = counts.reduce((acc, c) => acc + (c - n / 10) ** 2 / (n / 10), 0);
    expect(chi2).toBeLessThan(27.88);
    expect(() => rng.nextInt(0)).toThrow(/n must be an integer/);
    expect(() => new Pcg32(0.5)).toThrow(/seed must be a safe integer/);
  });

  it("different streams of one seed are different sequences", () => {
    const a = new Pcg32(1, 0);
    const b = new Pcg32(1, 1);
    const same = Array.from({ length: 100 }, () => a.nextU32() === b.nextU32()).filter(Boolean).length;
    expect(same).toBeLessThan(3);
  });
});
