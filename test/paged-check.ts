/*
 * A paged forward checked against the float64 reference over each sequence's logical
 * keys: the sequences' K/V scattered over shuffled pages of a pool (the rest junk),
 * ragged lengths, queries at the end of each sequence or at explicit positions.
 */
import { expect } from 'vitest';
import type { Attention } from '../src/api/attention.js';
import type { ForwardOptions } from '../src/api/options.js';
import { F32_ROUNDOFF } from '../src/harness/verify.js';
import { referenceForward, type HostTensor } from '../src/reference/forward.js';
import { roundHalf } from '../src/tensor/half.js';
import { maskFn } from '../src/mods/emit-js.js';
import { rng, testSeed } from './helpers.js';

export type { Dims } from './forward-check.js';
import type { Dims } from './forward-check.js';

/** One sequence's logical keys and values, [1, Hkv, len, D] (f32 values; f16-exact when `half`). */
export interface Seq {
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly len: number;
}

export function randomArray(n: number, rand: () => number, half: boolean): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = half ? roundHalf(rand() * 2 - 1) : Math.fround(rand() * 2 - 1);
  return a;
}

/**
 * Pools [numPages, Hkv, pageSize, D] holding `seqs` on shuffled pages (the rest random junk),
 * and the table of each sequence's pages.
 */
function scatter(seqs: readonly Seq[], hkv: number, d: number, pageSize: number, rand: () => number, half: boolean) {
  const need = seqs.map((s) => Math.ceil(s.len / pageSize));
  const numPages = need.reduce((a, b) => a + b, 0) + 3;
  const ids = Array.from({ length: numPages }, (_, i) => i);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  const kp = randomArray(numPages * hkv * pageSize * d, rand, half);
  const vp = randomArray(numPages * hkv * pageSize * d, rand, half);
  let next = 0;
  const table = seqs.map((s, b) => {
    const pages = ids.slice(next, next + need[b]!);
    next += need[b]!;
    for (let h = 0; h < hkv; h++)
      for (let r = 0; r < s.len; r++) {
        const from = (h * s.len + r) * d;
        const to = ((pages[Math.floor(r / pageSize)]! * hkv + h) * pageSize + (r % pageSize)) * d;
        kp.set(s.k.subarray(from, from + d), to);
        vp.set(s.v.subarray(from, from + d), to);
      }
    return pages;
  });
  return { kp, vp, table, numPages };
}

/** The float64 reference of batch entry b alone (its own keys), and the f32-naive one for the tolerance. */
export function referenceOf(q: Float32Array, qDims: Dims, b: number, s: Seq, hkv: number, opts: ForwardOptions, qOff: number) {
  const [, hq, nq, d] = qDims;
  const qb: HostTensor = { data: q.subarray(b * hq * nq * d, (b + 1) * hq * nq * d), shape: { batch: 1, heads: hq, seq: nq, headDim: d }, layout: 'bhnd' };
  const t = (x: Float32Array): HostTensor => ({ data: x, shape: { batch: 1, heads: hkv, seq: s.len, headDim: d }, layout: 'bhnd' });
  const o = { causal: opts.causal, queryOffset: qOff, keyOffset: 0, mask: opts.mask && maskFn(opts.mask) };
  return { ref: referenceForward(qb, t(s.k), t(s.v), o), ref32: referenceForward(qb, t(s.k), t(s.v), { ...o, precision: 'f32' }) };
}

/**
 * Runs one paged forward of B sequences of `lens` keys on `attn` and checks every entry
 * against the reference over its own logical keys.
 */
export async function checkPaged(
  attn: Attention,
  c: { hq: number; hkv: number; d: number; nq: number; lens: number[]; pageSize: number; half?: boolean; opts?: ForwardOptions; qOff?: number[] },
) {
  const seed = testSeed();
  const rand = rng(seed);
  const half = c.half ?? false;
  const B = c.lens.length;
  const qDims: Dims = [B, c.hq, c.nq, c.d];
  const seqs = c.lens.map((len) => ({ len, k: randomArray(c.hkv * len * c.d, rand, half), v: randomArray(c.hkv * len * c.d, rand, half) }));
  const { kp, vp, table, numPages } = scatter(seqs, c.hkv, c.d, c.pageSize, rand, half);
  const q = randomArray(B * c.hq * c.nq * c.d, rand, half);
  const dtype = half ? 'f16' : 'f32';
  const pool: Dims = [numPages, c.hkv, c.pageSize, c.d];
  const [qt, kt, vt] = [attn.tensor(q, qDims, { dtype }), attn.tensor(kp, pool, { dtype }), attn.tensor(vp, pool, { dtype })];
  const opts = { ...c.opts, ...(c.qOff ? { queryOffset: c.qOff } : {}) };
  const { out, lse } = await attn.forward(qt, kt, vt, { ...opts, pages: { table, lengths: c.lens }, returnLse: true });
  const [o, l] = [await out.read(), await lse!.read()];
  [qt, kt, vt, out, lse!].forEach((t) => t.destroy());
  const per = c.hq * c.nq;
  seqs.forEach((s, b) => {
    const { ref, ref32 } = referenceOf(q, qDims, b, s, c.hkv, opts, c.qOff?.[b] ?? s.len - c.nq);
    // DESIGN.md's tolerance (2× the f32 naive error + 1e-6); f16 outputs add their own rounding.
    const maxAbs = (x: ArrayLike<number>) => Array.from(x).reduce((m, y) => (Number.isFinite(y) ? Math.max(m, Math.abs(y)) : m), 0);
    const logitErr = F32_ROUNDOFF * maxAbs(ref.lse);
    for (const [name, got, want, want32, first, stored] of [
      ['O', o.subarray(b * per * c.d, (b + 1) * per * c.d), ref.out, ref32.out, logitErr, half ? 2 ** -11 : 0],
      ['LSE', l.subarray(b * per, (b + 1) * per), ref.lse, ref32.lse, logitErr, 0],
    ] as const) {
      let err32 = first;
      for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i]!)) err32 = Math.max(err32, Math.abs(want32[i]! - want[i]!));
      for (let i = 0; i < want.length; i++) {
        const where = `${name}[b ${b}, ${i}] lens ${c.lens} page ${c.pageSize} [seed ${seed}]`;
        if (Number.isFinite(want[i]!)) expect(Math.abs(got[i]! - want[i]!), where).toBeLessThanOrEqual(2 * err32 + 1e-6 + stored * Math.abs(want[i]!));
        else expect(got[i], where).toBe(want[i]);
      }
    }
  });
}
