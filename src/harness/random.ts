/*
 * Seeded random numbers for test and benchmark inputs (mulberry32): a printed
 * seed reproduces a failure exactly.
 */

/** A generator of uniform floats in [0, 1) from a 32-bit seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` floats uniform in [−amplitude, amplitude). */
export function randomData(n: number, rand: () => number, amplitude = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 2 - 1) * amplitude;
  return out;
}

/** A fresh seed (not reproducible on purpose; print it). */
export function freshSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
