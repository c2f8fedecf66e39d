/*
 * Positions (queryOffset, keyOffset): one sequence processed in one call, in chunks
 * of query rows (each against keys 0 … end of chunk, at its queryOffset) and token by
 * token (Nq = 1) gives the same rows, and each matches the float64 reference, for
 * every built-in variant, on the CPU backend and on WebGPU. Then ragged batches (one
 * offset per batch entry, read from a table by the kernels), the backward pass over
 * chunks (dQ rows equal; dK, dV summed over chunks equal one call's), and the option checks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import type { ForwardOptions } from '../src/api/options.js';
import { and, compose, or } from '../src/mods/modifier.js';
import {
  alibi,
  alibiSlopes,
  documentMask,
  keyPadding,
  learnedSinks,
  prefixLM,
  relativeBias,
  slidingWindow,
  softcap,
  streamingSinks,
} from '../src/mods/builtins.js';
import { maskFn, scoreFn } from '../src/mods/emit-js.js';
import { referenceForward, type HostTensor, type ReferenceOptions } from '../src/reference/forward.js';
import { AttentionInputError } from '../src/tensor/errors.js';
import { errorOf, maxErr, randomHost, rng, testSeed } from './helpers.js';

const N = 44;
const D = 32;
const B = 2;

/** One case: heads, options, and the last key a chunk ending at `end` needs (end itself for causal-contained masks). */
interface Case {
  readonly heads: [number, number];
  readonly opts: ForwardOptions;
  readonly keysFor?: (end: number) => number;
}

const docIds = Array.from({ length: N }, (_, i) => Math.floor(i / 11));
const CASES: Readonly<Record<string, Case>> = {
  causal: { heads: [2, 2], opts: { causal: true } },
  slidingWindow: { heads: [2, 2], opts: { mask: slidingWindow(7) } },
  'slidingWindow+causal': { heads: [2, 2], opts: { causal: true, mask: slidingWindow(20) } },
  alibi: { heads: [2, 2], opts: { causal: true, score: alibi(alibiSlopes(2)) } },
  softcap: { heads: [2, 2], opts: { causal: true, score: softcap(2) } },
  relativeBias: { heads: [2, 2], opts: { causal: true, score: relativeBias([0.3, -0.2, 0.1, 0, 0.5, -0.4, 0.2]) } },
  documents: { heads: [2, 2], opts: { causal: true, mask: documentMask(docIds) } },
  prefixLM: { heads: [2, 2], opts: { mask: prefixLM(13) }, keysFor: (end) => Math.max(end, 13) },
  streamingSinks: { heads: [2, 2], opts: { mask: streamingSinks(3, 6) } },
  keyPadding: { heads: [2, 2], opts: { causal: true, mask: keyPadding([N - 9, N]) } },
  learnedSinks: { heads: [2, 2], opts: { causal: true, sinks: learnedSinks([0.5, -1]) } },
  'gqa 4:1': { heads: [4, 1], opts: { causal: true } },
  'gqa 2:1 + alibi + window': { heads: [2, 1], opts: { causal: true, score: alibi(alibiSlopes(2)), mask: slidingWindow(9) } },
  // Every built-in at once, GQA 2:1: what the WebGPU run checks (each kernel compiles for
  // seconds on SwiftShader, so one composite kernel stands for the list above there).
  'all built-ins, gqa 2:1': {
    heads: [4, 2],
    opts: {
      causal: true,
      score: compose(alibi(alibiSlopes(4)), relativeBias([0.3, -0.2, 0.1, 0, 0.5, -0.4, 0.2]), softcap(3)),
      mask: and(documentMask(docIds.map((d) => Math.min(d, 2))), keyPadding([N - 9, N]), or(streamingSinks(3, 7), prefixLM(6), slidingWindow(15))),
      sinks: learnedSinks([0.5, -1, 0.25, 0]),
    },
    keysFor: (end) => Math.max(end, 6),
  },
};

/** The reference's view of a call's options. */
function refOpts(o: ForwardOptions): ReferenceOptions {
  return {
    causal: o.causal,
    score: o.score && scoreFn(o.score),
    mask: o.mask && maskFn(o.mask),
    sinks: o.sinks?.logits,
    queryOffset: o.queryOffset,
    keyOffset: o.keyOffset,
  };
}

/** Rows [lo, hi) of a bhnd host tensor (per batch entry, per head). */
function rows(t: HostTensor, lo: number, hi: number): HostTensor {
  const { batch, heads, seq, headDim: d } = t.shape;
  const data = new Float64Array(batch * heads * (hi - lo) * d);
  for (let bh = 0; bh < batch * heads; bh++) data.set(t.data.subarray((bh * seq + lo) * d, (bh * seq + hi) * d), bh * (hi - lo) * d);
  return { data, shape: { ...t.shape, seq: hi - lo }, layout: 'bhnd' };
}

/** Rows [lo, hi) of a [B, H, N, w] array (w = D for O, 1 for LSE). */
function rowSlice(x: ArrayLike<number>, bh: number, n: number, w: number, lo: number, hi: number): Float64Array {
  const out = new Float64Array(bh * (hi - lo) * w);
  for (let i = 0; i < bh; i++) for (let r = lo; r < hi; r++) for (let c = 0; c < w; c++) out[(i * (hi - lo) + r - lo) * w + c] = x[(i * n + r) * w + c]!;
  return out;
}

/** Writes rows [lo, hi) of `part` into `into` (both [B, H, ·, w]). */
function putRows(into: Float64Array, part: ArrayLike<number>, bh: number, n: number, w: number, lo: number, hi: number): void {
  for (let i = 0; i < bh; i++) for (let r = lo; r < hi; r++) for (let c = 0; c < w; c++) into[(i * n + r) * w + c] = part[(i * (hi - lo) + r - lo) * w + c]!;
}

/**
 * The cases a backend runs, and a tile forced on WebGPU (one kernel for every Nq: calls
 * with the default tile policy would compile a kernel per row-count class).
 */
function suite(name: string, open: () => Promise<Attention>, cases: readonly string[], ragged: readonly string[], tile?: ForwardOptions['tile']) {
  describe(`positions on ${name}`, () => {
    let attn: Attention;
    beforeAll(async () => {
      attn = await open();
    });
    afterAll(() => attn?.destroy());

    const up = (h: HostTensor) => attn.tensor(Float32Array.from(h.data), [h.shape.batch, h.shape.heads, h.shape.seq, h.shape.headDim]);

    async function forward(q: HostTensor, k: HostTensor, v: HostTensor, opts: ForwardOptions) {
      const t = [up(q), up(k), up(v)] as const;
      const r = await attn.forward(t[0], t[1], t[2], { ...opts, tile, returnLse: true });
      const [out, lse] = [await r.out.read(), await r.lse!.read()];
      [...t, r.out, r.lse!].forEach((x) => x.destroy());
      return { out, lse };
    }

    for (const label of cases) {
      const c = CASES[label]!;
      it(`${label}: one call = chunks = token by token = reference`, async () => {
        const seed = testSeed();
        const rand = rng(seed);
        const [hq, hkv] = c.heads;
        const q = randomHost([B, hq, N, D], rand);
        const [k, v] = [randomHost([B, hkv, N, D], rand), randomHost([B, hkv, N, D], rand)];
        const ref = referenceForward(q, k, v, refOpts(c.opts));
        const ref32 = referenceForward(q, k, v, { ...refOpts(c.opts), precision: 'f32' });
        const tol = { out: 2 * maxErr(ref32.out, ref.out).err + 1e-6, lse: 2 * maxErr(ref32.lse, ref.lse).err + 1e-6 };
        const one = await forward(q, k, v, c.opts);
        const keysFor = c.keysFor ?? ((end: number) => end);
        /** Rows [lo, hi) in one call against keys 0 … keysFor(hi). */
        const part = (lo: number, hi: number, explicit: boolean) => {
          const nk = keysFor(hi);
          // The default queryOffset (Nk − Nq) is right when the keys end where the rows do.
          const opts = explicit || nk !== hi ? { ...c.opts, queryOffset: lo } : c.opts;
          return forward(rows(q, lo, hi), rows(k, 0, nk), rows(v, 0, nk), opts);
        };
        const bh = B * hq;
        const assemble = async (bounds: [number, number][], explicit: boolean) => {
          const out = new Float64Array(bh * N * D);
          const lse = new Float64Array(bh * N);
          for (const [lo, hi] of bounds) {
            const r = await part(lo, hi, explicit);
            putRows(out, r.out, bh, N, D, lo, hi);
            putRows(lse, r.lse, bh, N, 1, lo, hi);
          }
          return { out, lse };
        };
        const chunks = await assemble(
          [
            [0, 5],
            [5, 22],
            [22, 23],
            [23, N],
          ],
          true,
        );
        const tokens = await assemble(
          Array.from({ length: N }, (_, i) => [i, i + 1] as [number, number]),
          false,
        );
        for (const [what, got] of [
          ['one call', one],
          ['chunks', chunks],
          ['token by token', tokens],
        ] as const) {
          for (const f of ['out', 'lse'] as const) {
            const { err, at } = maxErr(got[f], ref[f]);
            expect(err, `${what} ${f}[${at}] vs reference: ${got[f][at]} vs ${ref[f][at]} (seed ${seed})`).toBeLessThanOrEqual(tol[f]);
            const same = maxErr(got[f], one[f]);
            expect(same.err, `${what} ${f}[${same.at}] vs one call (seed ${seed})`).toBeLessThanOrEqual(2 * tol[f]);
          }
        }
      });
    }

    it('few-row queries (Nq 1 … 16, speculative decoding, chunked prefill): the last rows against every key so far, causal inside the chunk', async () => {
      const seed = testSeed();
      const rand = rng(seed);
      const c = CASES['all built-ins, gqa 2:1']!; // every built-in at once
      const [hq, hkv] = c.heads;
      const q = randomHost([B, hq, N, D], rand);
      const [k, v] = [randomHost([B, hkv, N, D], rand), randomHost([B, hkv, N, D], rand)];
      const ref = referenceForward(q, k, v, refOpts(c.opts));
      const ref32 = referenceForward(q, k, v, { ...refOpts(c.opts), precision: 'f32' });
      const bh = B * hq;
      for (const [nq, keySplits] of [[1], [2], [3], [4], [7], [8], [12], [16], [3, 2]] as const) {
        const [lo, end] = [N - 5 - nq, N - 5]; // keys 0 … end: the default queryOffset is end − nq
        // The last: split-K (two key ranges merged), where each range's causal end and positions must hold.
        const got = await forward(rows(q, lo, end), rows(k, 0, end), rows(v, 0, end), { ...c.opts, keySplits });
        for (const [f, w] of [
          ['out', D],
          ['lse', 1],
        ] as const) {
          const [want, want32] = [rowSlice(ref[f], bh, N, w, lo, end), rowSlice(ref32[f], bh, N, w, lo, end)];
          const { err, at } = maxErr(got[f], want);
          expect(err, `Nq ${nq} ${f}[${at}]: ${got[f][at]} vs ${want[at]} (seed ${seed})`).toBeLessThanOrEqual(2 * maxErr(want32, want).err + 1e-6);
        }
      }
    });

    it('ragged batch: per-entry queryOffset and keyOffset (a window of the cache per entry) match the reference', async () => {
      const seed = testSeed();
      const rand = rng(seed);
      // Entry 0: rows at 30 … 35 over keys 0 … 35; entry 1: rows at 17 … 22 over keys 5 … 22 (its first keys dropped).
      const [nq, nk] = [6, 18];
      const opts = (o: ForwardOptions): ForwardOptions => ({ ...o, queryOffset: [30, 17], keyOffset: [18, 5] });
      for (const label of ragged) {
        const c = CASES[label]!;
        const [hq, hkv] = c.heads;
        const q = randomHost([B, hq, nq, D], rand);
        const [k, v] = [randomHost([B, hkv, nk, D], rand), randomHost([B, hkv, nk, D], rand)];
        const ref = referenceForward(q, k, v, refOpts(opts(c.opts)));
        const ref32 = referenceForward(q, k, v, { ...refOpts(opts(c.opts)), precision: 'f32' });
        const got = await forward(q, k, v, opts(c.opts));
        for (const f of ['out', 'lse'] as const) {
          const tol = 2 * maxErr(ref32[f], ref[f]).err + 1e-6;
          const { err, at } = maxErr(got[f], ref[f]);
          expect(err, `${label} ${f}[${at}]: ${got[f][at]} vs ${ref[f][at]} (seed ${seed})`).toBeLessThanOrEqual(tol);
        }
      }
    });

    it('backward over chunks: dQ rows equal one call (CPU), dK and dV summed over the chunks equal one call', async () => {
      const seed = testSeed();
      const rand = rng(seed);
      for (const label of cases.length > 1 ? ['causal', 'alibi', 'streamingSinks', 'gqa 2:1 + alibi + window', 'all built-ins, gqa 2:1'] : cases) {
        const c = CASES[label]!;
        const [hq, hkv] = c.heads;
        const n = 24;
        const q = randomHost([B, hq, n, D], rand);
        const [k, v, dout] = [randomHost([B, hkv, n, D], rand), randomHost([B, hkv, n, D], rand), randomHost([B, hq, n, D], rand)];
        const grads = async (lo: number, hi: number, on = attn) => {
          const opts = { ...c.opts, queryOffset: lo, tableGrads: false };
          const put = (h: HostTensor) => on.tensor(Float32Array.from(h.data), [h.shape.batch, h.shape.heads, h.shape.seq, h.shape.headDim]);
          const t = [put(rows(q, lo, hi)), put(rows(k, 0, hi)), put(rows(v, 0, hi)), put(rows(dout, lo, hi))] as const;
          const f = await on.forward(t[0], t[1], t[2], { ...opts, tile: on === attn ? tile : undefined, returnLse: true });
          const g = await on.backward(t[3], { q: t[0], k: t[1], v: t[2], out: f.out, lse: f.lse! }, opts);
          const r = { dq: await g.dq.read(), dk: await g.dk.read(), dv: await g.dv.read() };
          [...t, f.out, f.lse!, g.dq, g.dk, g.dv].forEach((x) => x.destroy());
          return r;
        };
        // The one call on the CPU backend (on WebGPU it would compile kernels of its own for seconds each).
        const cpu = await createAttention({ backend: 'cpu' });
        const one = await grads(0, n, cpu);
        cpu.destroy();
        const dq = new Float64Array(one.dq.length);
        const [dk, dv] = [new Float64Array(one.dk.length), new Float64Array(one.dv.length)];
        for (const [lo, hi] of [
          [0, 9],
          [9, 10],
          [10, n],
        ] as const) {
          const g = await grads(lo, hi);
          putRows(dq, g.dq, B * hq, n, D, lo, hi);
          // This chunk's keys are 0 … hi: add its dK, dV into those rows.
          for (let i = 0; i < B * hkv; i++)
            for (let r = 0; r < hi; r++)
              for (let d = 0; d < D; d++) {
                dk[(i * n + r) * D + d] += g.dk[(i * hi + r) * D + d]!;
                dv[(i * n + r) * D + d] += g.dv[(i * hi + r) * D + d]!;
              }
        }
        for (const [f, got, want] of [
          ['dq', dq, one.dq],
          ['dk', dk, one.dk],
          ['dv', dv, one.dv],
        ] as const) {
          const { err, at } = maxErr(got, want);
          expect(err, `${label} ${f}[${at}]: ${got[at]} vs ${want[at]} (seed ${seed})`).toBeLessThanOrEqual(2e-5);
        }
      }
    });

    it('rejects offsets that are not integers ≥ 0, or arrays of the wrong length', async () => {
      const q = attn.tensor(new Float32Array(2 * 1 * 3 * 32), [2, 1, 3, 32]);
      for (const [opts, text] of [
        [{ queryOffset: -1 }, /queryOffset must be an integer/],
        [{ keyOffset: 1.5 }, /keyOffset must be an integer/],
        [{ queryOffset: [1, 2, 3] }, /queryOffset has 3 entries, but the batch has 2/],
        [{ keyOffset: [0, 'a'] }, /keyOffset\[1\] must be an integer/],
        [{ queryOffset: [] }, /got an empty array/],
        [{ queryOffset: 2 ** 24 }, /queryOffset must be an integer in \[0, 16777216\)/],
      ] as const) {
        const e = await errorOf(() => attn.forward(q, q, q, opts as ForwardOptions));
        expect(e).toBeInstanceOf(AttentionInputError);
        expect(e.message).toMatch(text);
      }
      q.destroy();
    });
  });
}

const RAGGED = ['causal', 'slidingWindow', 'alibi', 'documents', 'streamingSinks', 'learnedSinks', 'gqa 4:1', 'all built-ins, gqa 2:1'];
suite('the CPU', () => createAttention({ backend: 'cpu', poisonOutputs: true }), Object.keys(CASES), RAGGED);
// WebGPU: the composite variant (every built-in, GQA, sinks); ragged, also plain causal GQA 4:1
// (packed rows, a causal shift per entry from the position table).
suite('WebGPU', () => createAttention({ backend: 'webgpu', poisonOutputs: true }), ['all built-ins, gqa 2:1'], ['all built-ins, gqa 2:1', 'gqa 4:1'], {
  tx: 8,
  ty: 8,
  rm: 2,
  cn: 4,
  shareKv: false,
});
