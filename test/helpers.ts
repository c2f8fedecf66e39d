/*
 * Small helpers shared by the test files: seeds, host tensors, layout
 * permutation, comparison against the float64 reference with the tolerance of
 * DESIGN.md, and catching an error to inspect it.
 */
import { freshSeed, randomData, rng } from '../src/harness/random.js';
import { referenceForward, type HostTensor, type ReferenceOptions } from '../src/reference/forward.js';
import type { Layout, Shape4 } from '../src/tensor/shape.js';
import type { Caps } from '../src/kernels/call.js';

/** The seed of a random test: $SEED when set (to reproduce a printed failure), else a fresh one. */
export function testSeed(): number {
  return process.env.SEED ? Number(process.env.SEED) : freshSeed();
}

export function shape4(dims: readonly [number, number, number, number]): Shape4 {
  const [batch, heads, seq, headDim] = dims;
  return { batch, heads, seq, headDim };
}

/** A host tensor from data in `layout` order. */
export function host(data: ArrayLike<number>, dims: readonly [number, number, number, number], layout: Layout = 'bhnd'): HostTensor {
  return { data: Float64Array.from(data), shape: shape4(dims), layout };
}

/** A host tensor of uniform random floats in ±1 (float32 values, so GPU and reference see the same inputs). */
export function randomHost(dims: readonly [number, number, number, number], rand: () => number): HostTensor {
  const [b, h, n, d] = dims;
  return { data: randomData(b * h * n * d, rand), shape: shape4(dims), layout: 'bhnd' };
}

/** A bhnd-ordered array re-ordered to bnhd (or the reverse when `toBhnd`). */
export function permute(data: ArrayLike<number>, s: Shape4, toBhnd = false): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < s.batch; b++)
    for (let h = 0; h < s.heads; h++)
      for (let n = 0; n < s.seq; n++)
        for (let d = 0; d < s.headDim; d++) {
          const bhnd = ((b * s.heads + h) * s.seq + n) * s.headDim + d;
          const bnhd = ((b * s.seq + n) * s.heads + h) * s.headDim + d;
          if (toBhnd) out[bhnd] = data[bnhd]!;
          else out[bnhd] = data[bhnd]!;
        }
  return out;
}

/** Largest |got − want| (Infinity for a NaN or a mismatched infinity) and where. */
export function maxErr(got: ArrayLike<number>, want: ArrayLike<number>): { err: number; at: number } {
  let err = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    const d = Number.isFinite(w) ? Math.abs(g - w) : g === w ? 0 : Infinity;
    if (!(d <= err)) [err, at] = [Number.isNaN(d) ? Infinity : d, i];
  }
  return { err, at };
}

/**
 * Checks O and LSE (bhnd) against the float64 reference: error at most 2× that of
 * a float32 naive computation plus 1e-6. Returns undefined, or what went wrong.
 */
export function checkAgainstReference(
  o: ArrayLike<number>,
  lse: ArrayLike<number>,
  q: HostTensor,
  k: HostTensor,
  v: HostTensor,
  causal: boolean,
  opts: Omit<ReferenceOptions, 'causal' | 'precision'> = {},
): string | undefined {
  const ref = referenceForward(q, k, v, { ...opts, causal });
  const ref32 = referenceForward(q, k, v, { ...opts, causal, precision: 'f32' });
  for (const [name, got, want, want32] of [
    ['O', o, ref.out, ref32.out],
    ['LSE', lse, ref.lse, ref32.lse],
  ] as const) {
    const tol = 2 * maxErr(want32, want).err + 1e-6;
    const { err, at } = maxErr(got, want);
    if (err > tol) return `${name}[${at}]: expected ${want[at]}, got ${got[at]} (|err| ${err} > tol ${tol})`;
  }
  return undefined;
}

/** The error `fn` throws or rejects with; fails if it does neither. */
export async function errorOf(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, but the call succeeded');
}

export { rng };

/** Caps of a GPU with 48 KiB of workgroup memory and 16×16×16 f16 subgroup matrices on 32 lanes (the tensor-core plans' tests). */
export const MATRIX_CAPS: Caps = {
  limits: {
    maxComputeWorkgroupStorageSize: 49152,
    maxComputeInvocationsPerWorkgroup: 1024,
    maxComputeWorkgroupsPerDimension: 65535,
    minStorageBufferOffsetAlignment: 256,
    maxBufferSize: 2 ** 30,
  },
  maxBindingBytes: 2 ** 27,
  subgroupWidth: 32,
  tuned: new Map(),
  matrix: { shape: { m: 16, n: 16, k: 16 }, subgroupSize: 32 },
};
