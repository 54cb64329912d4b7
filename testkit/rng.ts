// A seeded random source for the fuzz tests: the same seed gives the same cases, so a failure
// replays with MACHMON_FUZZ_SEED=<seed>. mulberry32: small, fast, good enough for test inputs.

export interface Rng {
  /** In [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
  /** n random bytes. */
  bytes(n: number): Buffer;
}

export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: (xs) => xs[int(xs.length)]!, bytes: (n) => Buffer.from(Array.from({ length: n }, () => int(256))) };
}
