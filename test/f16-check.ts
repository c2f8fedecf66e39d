/*
 * An f16 forward on the matrix units checked against the float64 reference with the f16
 * rule (issue 13): O within 3× the error of attention computed naively in f16 (P is f16 on
 * the matrix units, as there) or the f32 bound, LSE within 3× naive f16's or 2^-10. The
 * program's first label must match `label` (the kernel that was meant to run did).
 */
import { expect, vi } from 'vitest';
import type { WebGpuBackend } from '../src/api/backends.js';
import type { Attention } from '../src/api/attention.js';
import type { ForwardOptions } from '../src/api/options.js';
import { referencesOf } from '../src/harness/verify.js';
import type { Program } from '../src/kernels/program.js';
import type { HostTensor } from '../src/reference/forward.js';
import { roundToHalf } from '../src/tensor/half.js';
import { dimsOf, type Layout } from '../src/tensor/shape.js';
import type { Dims } from './forward-check.js';
import { permute, randomHost, rng, testSeed } from './helpers.js';

/** Largest |a − want| over want's finite entries. */
function maxError(a: ArrayLike<number>, want: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i]!)) e = Math.max(e, Math.abs(a[i]! - want[i]!));
  return e;
}

/** Runs an f16 forward (random f16-exact inputs, `edit` may plant values) and checks it with the f16 rule. */
export async function checkF16(
  attn: Attention,
  qDims: Dims,
  kvDims: Dims,
  opts: ForwardOptions,
  how: { label: RegExp; layout?: Layout; edit?: (k: Float32Array, q: Float32Array, v: Float32Array) => void },
): Promise<void> {
  const layout = how.layout ?? 'bhnd';
  const seed = testSeed();
  const rand = rng(seed);
  const host = (d: Dims): HostTensor => {
    const h = randomHost(d, rand);
    return { ...h, data: roundToHalf(h.data as Float32Array) };
  };
  const [q, k, v] = [host(qDims), host(kvDims), host(kvDims)];
  how.edit?.(k.data as Float32Array, q.data as Float32Array, v.data as Float32Array);
  const up = (h: HostTensor) =>
    attn.tensor(layout === 'bhnd' ? Float32Array.from(h.data) : permute(h.data, h.shape), dimsOf(h.shape), { layout, dtype: 'f16' });
  const t = [up(q), up(k), up(v)];
  const spy = vi.spyOn(attn.impl as WebGpuBackend, 'forwardProgram');
  const { out, lse } = await attn.forward(t[0]!, t[1]!, t[2]!, { dtype: 'f16', returnLse: true, ...opts });
  expect((spy.mock.results[0]!.value as Program).labels[0]).toMatch(how.label);
  spy.mockRestore();
  const o = await out.read();
  const l = await lse!.read();
  [...t, out, lse!].forEach((x) => x.destroy());
  const got = layout === 'bhnd' ? o : permute(o, q.shape, true);
  const { ref, ref32, naive16 } = referencesOf(q, k, v, opts.causal ?? false, opts, true);
  const tolO = Math.max(3 * maxError(naive16!.out, ref.out), 2 * maxError(ref32.out, ref.out) + 1e-6);
  const tolL = Math.max(3 * maxError(naive16!.lse, ref.lse), 2 ** -10);
  const where = `${JSON.stringify({ ...opts, sinks: undefined, score: undefined, mask: undefined })} [seed ${seed}]`;
  for (let i = 0; i < ref.out.length; i++) {
    if (Number.isNaN(ref.out[i]!)) expect(got[i], `O[${i}] ${where}`).toBeNaN();
    // ±inf: non-finite (WGSL leaves pack2x16float of a value past the f16 range indeterminate: SwiftShader gives NaN)
    else if (!Number.isFinite(ref.out[i]!)) expect(Number.isFinite(got[i]!), `O[${i}] ${where}`).toBe(false);
    else expect(Math.abs(got[i]! - ref.out[i]!), `O[${i}] ${where}`).toBeLessThanOrEqual(tolO);
  }
  for (let i = 0; i < ref.lse.length; i++) {
    if (Number.isFinite(ref.lse[i]!)) expect(Math.abs(l[i]! - ref.lse[i]!), `LSE[${i}] ${where}`).toBeLessThanOrEqual(tolL);
    else expect(l[i], `LSE[${i}] ${where}`).toBe(ref.lse[i]); // −∞ (no key seen) or NaN
  }
}
