// Seeded PRNG shared by trainer, gateway and browser: PCG32 (O'Neill 2014, "pcg32" = PCG-XSH-RR 64/32),
// in pure 32-bit integer arithmetic so the stream is bit-identical on Node, workerd and every browser.
//
// State s ∈ Z/2^64, increment c odd (selects one of 2^63 independent streams):
//   s_{n+1} = s_n · 6364136223846793005 + c   (mod 2^64)
//   out_n   = rotr32( uint32(((s_n >> 18) ⊕ s_n) >> 27), s_n >> 59 )
// Seeding follows pcg32_srandom_r(initstate, initseq): s = 0; c = 2·initseq + 1; step; s += initstate; step.
// Known answer (pcg-c-basic demo): seed 42, stream 54 → 0xa15c02b7, 0x7b47f409, 0xba1d3330, …
//
// 64-bit values are kept as (hi, lo) uint32 pairs; no BigInt on the hot path.

const MUL_HI = 0x5851f42d; // 6364136223846793005 = 0x5851F42D_4C957F2D
const MUL_LO = 0x4c957f2d;

/** Anything the public APIs accept as a seed: a safe integer (OpenAI's `seed` may be negative) or a bigint. */
export type Seed = number | bigint;

function toU64(value: Seed, name: string): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new RangeError(`${name} must be a safe integer (got ${value})`);
  }
  return BigInt.asUintN(64, BigInt(value));
}

/**
 * PCG32 generator.
 * @example
 * const rng = new Pcg32(42, 54);
 * rng.nextU32(); // 0xa15c02b7
 * rng.nextFloat(); // uniform in [0, 1), 53 random bits
 */
export class Pcg32 {
  private hi = 0;
  private lo = 0;
  private readonly incHi: number;
  private readonly incLo: number;

  constructor(seed: Seed, stream: Seed = 0) {
    const inc = BigInt.asUintN(64, (toU64(stream, "stream") << 1n) | 1n);
    this.incHi = Number(inc >> 32n);
    this.incLo = Number(inc & 0xffffffffn);
    this.step();
    const s = toU64(seed, "seed");
    this.add(Number(s >> 32n), Number(s & 0xffffffffn));
    this.step();
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    const hi = this.hi;
    const lo = this.lo;
    this.step();
    // xorshifted = uint32(((s >> 18) ^ s) >> 27)
    const xh = hi ^ (hi >>> 18);
    const xl = lo ^ ((lo >>> 18) | (hi << 14));
    const xorshifted = ((xl >>> 27) | (xh << 5)) >>> 0;
    const rot = hi >>> 27;
    return ((xorshifted >>> rot) | (xorshifted << (-rot & 31))) >>> 0;
  }

  /** Uniform double in [0, 1) built from 53 random bits (two draws), exact on every runtime. */
  nextFloat(): number {
    const a = this.nextU32() >>> 5; // 27 bits
    const b = this.nextU32() >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform integer in [0, n), unbiased (Lemire-style rejection on the 32-bit draw). */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x100000000) {
      throw new RangeError(`n must be an integer in [1, 2^32] (got ${n})`);
    }
    const threshold = (0x100000000 - n) % n; // 2^32 mod n: reject the short final bucket
    for (;;) {
      const r = this.nextU32();
      if (r >= threshold) return r % n;
    }
  }

  // s = s · MUL + inc (mod 2^64)
  private step(): void {
    this.mulConst();
    this.add(this.incHi, this.incLo);
  }

  private add(hi: number, lo: number): void {
    const sumLo = this.lo + lo; // < 2^33, exact in a double
    this.lo = sumLo >>> 0;
    this.hi = (this.hi + hi + (sumLo > 0xffffffff ? 1 : 0)) >>> 0;
  }

  // (hi, lo) · (MUL_HI, MUL_LO) mod 2^64, with the lo·lo product done in 16-bit limbs so every
  // partial product stays below 2^32 and is exact.
  private mulConst(): void {
    const aHi = this.hi;
    const aLo = this.lo;
    const a0 = aLo & 0xffff;
    const a1 = aLo >>> 16;
    const b0 = MUL_LO & 0xffff;
    const b1 = MUL_LO >>> 16;
    const p00 = a0 * b0;
    const p01 = a0 * b1;
    const p10 = a1 * b0;
    const p11 = a1 * b1;
    const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    this.lo = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
    const carry = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
    this.hi = (carry + Math.imul(aHi, MUL_LO) + Math.imul(aLo, MUL_HI)) >>> 0;
  }
}
