/*
 * One forward call on fresh random inputs checked against the float64 reference (O and
 * LSE, with the call's variant), at verify's tolerance: 2× the float32 naive error or the
 * first-order effect of rounding logits to float32, whichever is larger, plus 1e-6.
 * f16 calls (inputs rounded to f16 first) also allow O's rounding to f16.
 */
import { expect } from 'vitest';
import type { Attention } from '../src/api/attention.js';
import type { ForwardOptions } from '../src/api/options.js';
import type { HostTensor } from '../src/reference/forward.js';
import { F32_ROUNDOFF, referencesOf } from '../src/harness/verify.js';
import { roundToHalf } from '../src/tensor/half.js';
import { dimsOf, stridesOf, type Layout } from '../src/tensor/shape.js';
import { checkQkv } from '../src/tensor/validate.js';
import type { AttentionCall } from '../src/kernels/call.js';
import { permute, randomHost, rng, testSeed } from './helpers.js';

export type Dims = [number, number, number, number];

/** A validated f32 call of these dims (bhnd), for the kernels' planners (layouts, ranges, programs). */
export function plannedCall(qDims: Dims, kvDims: Dims, extra: Partial<AttentionCall> = {}): AttentionCall {
  const s = (d: Dims) => ({ batch: d[0], heads: d[1], seq: d[2], headDim: d[3] });
  const problem = checkQkv(s(qDims), s(kvDims), s(kvDims));
  const op = (d: Dims) => ({ layout: 'bhnd' as const, strides: stridesOf(s(d), 'bhnd') });
  return { problem, q: op(qDims), k: op(kvDims), v: op(kvDims), dtype: 'f32', scale: 1 / Math.sqrt(qDims[3]), causal: false, algorithm: 'flash', ...extra };
}

/** Runs `attn.forward` with `opts` and expects O and LSE within tolerance of the reference. */
export async function checkForward(attn: Attention, qDims: Dims, kvDims: Dims, opts: ForwardOptions, layout: Layout = 'bhnd'): Promise<void> {
  const seed = testSeed();
  const rand = rng(seed);
  const half = opts.dtype === 'f16';
  const host = (d: Dims): HostTensor => {
    const h = randomHost(d, rand);
    return half ? { ...h, data: roundToHalf(h.data as Float32Array) } : h;
  };
  const [q, k, v] = [host(qDims), host(kvDims), host(kvDims)];
  const up = (h: HostTensor) =>
    attn.tensor(layout === 'bhnd' ? Float32Array.from(h.data) : permute(h.data, h.shape), dimsOf(h.shape), { layout, dtype: opts.dtype });
  const t = [up(q), up(k), up(v)];
  const { out, lse } = await attn.forward(t[0]!, t[1]!, t[2]!, { ...opts, returnLse: true });
  const o = await out.read();
  const l = await lse!.read();
  [...t, out, lse!].forEach((x) => x.destroy());
  const got = layout === 'bhnd' ? o : permute(o, q.shape, true);
  const { ref, ref32 } = referencesOf(q, k, v, opts.causal ?? false, opts);
  const maxAbs = (x: ArrayLike<number>) => Array.from(x).reduce((m, y) => (Number.isFinite(y) ? Math.max(m, Math.abs(y)) : m), 0);
  const logitErr = F32_ROUNDOFF * maxAbs(ref.lse);
  for (const [name, a, want, want32, first] of [
    ['O', got, ref.out, ref32.out, logitErr * maxAbs(v.data) + (half ? 2 ** -11 * maxAbs(ref.out) : 0)],
    ['LSE', l, ref.lse, ref32.lse, logitErr],
  ] as const) {
    let err32 = first;
    for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i]!)) err32 = Math.max(err32, Math.abs(want32[i]! - want[i]!));
    const tol = 2 * err32 + 1e-6;
    for (let i = 0; i < want.length; i++) {
      const where = `${name}[${i}] ${JSON.stringify({ ...opts, mask: undefined, score: undefined, sinks: undefined, pages: undefined })} [seed ${seed}]`;
      if (Number.isFinite(want[i]!)) expect(Math.abs(a[i]! - want[i]!), where).toBeLessThanOrEqual(tol);
      else expect(a[i], where).toBe(want[i]); // −∞ LSE of a row that sees no key
    }
  }
}
