/*
 * Paged K/V (kernels/paged.ts, api/paged-cache.ts) against the float64 reference over
 * each sequence's logical keys: shuffled pages equal contiguous K/V, ragged lengths in
 * one call, GQA, few-row causal queries at explicit positions, f32 and f16, on the CPU
 * and on WebGPU (SwiftShader: tiny sizes, few pipelines); then the cache: page
 * allocation, fork with shared prefixes and copy-on-write, truncate and free, through
 * selections of its sequences (cache.select) and attn.decode. The same generation loop
 * over a paged and a contiguous cache is in kv-cache.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import type { ForwardOptions } from '../src/api/options.js';
import type { PagedKVCache } from '../src/api/paged-cache.js';
import { benchOne } from '../src/harness/bench.js';
import { slidingWindow } from '../src/mods/builtins.js';
import { errorOf, maxErr, rng, testSeed } from './helpers.js';
import { checkPaged, randomArray, referenceOf, type Dims, type Seq } from './paged-check.js';

for (const backend of ['cpu', 'webgpu'] as const) {
  describe(`paged forward on ${backend}`, () => {
    let attn: Attention;
    beforeAll(async () => {
      attn = await createAttention({ backend, poisonOutputs: true, cpu: { threads: 0 } });
    });
    afterAll(() => attn?.destroy());

    it('control: one sequence on shuffled pages of 16 equals contiguous attention', async () => {
      await checkPaged(attn, { hq: 2, hkv: 2, d: 32, nq: 1, lens: [70], pageSize: 16 });
    });
    it('ragged lengths in one call (one shorter than a page, one a whole number of pages), GQA 4:2', async () => {
      await checkPaged(attn, { hq: 4, hkv: 2, d: 32, nq: 1, lens: [5, 48, 83], pageSize: 16 });
    });
    it('causal few-row queries (Nq = 3, 16) with explicit per-entry queryOffset', async () => {
      await checkPaged(attn, { hq: 2, hkv: 1, d: 32, nq: 3, lens: [40, 19], pageSize: 8, opts: { causal: true }, qOff: [37, 16] });
      await checkPaged(attn, { hq: 2, hkv: 2, d: 32, nq: 16, lens: [16, 50], pageSize: 16, opts: { causal: true } });
    });
    it('a page size that is not a multiple of the key tile (7), and f16', async () => {
      await checkPaged(attn, { hq: 2, hkv: 2, d: 32, nq: 2, lens: [30, 9], pageSize: 7, opts: { causal: true } });
      await checkPaged(attn, { hq: 4, hkv: 1, d: 64, nq: 1, lens: [33, 64], pageSize: 16, half: true });
    });
    it('a mask modifier sees logical positions (sliding window of 20 over ragged paged sequences)', async () => {
      await checkPaged(attn, { hq: 2, hkv: 2, d: 32, nq: 2, lens: [60, 23], pageSize: 16, opts: { causal: true, mask: slidingWindow(20) } });
    });
    it('bench --paged: the same keys on shuffled pages, timed and checked against the reference', async () => {
      const shape = { batch: 2, heads: 2, kvHeads: 2, seqQ: 1, seqK: 70, headDim: 32, causal: false };
      const r = await benchOne(attn, shape, 'flash', { pageSize: 16, samples: 1 });
      expect(r.error).toBeUndefined();
      expect(r.pageSize).toBe(16);
      expect(r.maxAbsErr!).toBeLessThan(1e-5);
    });
  });
}

/** A sequence's logical K/V as the test keeps them on the host: per token, [H, D] rows. */
class Logical {
  readonly k: Float32Array[] = [];
  readonly v: Float32Array[] = [];
  constructor(
    private readonly h: number,
    private readonly d: number,
  ) {}
  /** n new tokens as [H, n, D] host data (appended here too). */
  add(n: number, rand: () => number, half: boolean): [Float32Array, Float32Array] {
    const [k, v] = [randomArray(this.h * n * this.d, rand, half), randomArray(this.h * n * this.d, rand, half)];
    for (let t = 0; t < n; t++) {
      const row = (x: Float32Array) => Float32Array.from({ length: this.h * this.d }, (_, i) => x[(Math.floor(i / this.d) * n + t) * this.d + (i % this.d)]!);
      this.k.push(row(k));
      this.v.push(row(v));
    }
    return [k, v];
  }
  fork(): Logical {
    const c = new Logical(this.h, this.d);
    c.k.push(...this.k);
    c.v.push(...this.v);
    return c;
  }
  truncate(n: number): void {
    this.k.length = n;
    this.v.length = n;
  }
  /** As a Seq ([1, H, len, D]). */
  seq(): Seq {
    const len = this.k.length;
    const bhnd = (rows: Float32Array[]) => {
      const out = new Float32Array(this.h * len * this.d);
      rows.forEach((r, t) => {
        for (let h = 0; h < this.h; h++) out.set(r.subarray(h * this.d, (h + 1) * this.d), (h * len + t) * this.d);
      });
      return out;
    };
    return { k: bhnd(this.k), v: bhnd(this.v), len };
  }
}

/** attn.decode over the selection `ids` against the reference over each one's logical keys (Nq rows at its end, causal). */
async function checkAttend(attn: Attention, cache: PagedKVCache, ids: number[], logical: Logical[], hq: number, nq: number, rand: () => number) {
  const half = cache.dtype === 'f16';
  const qDims: Dims = [ids.length, hq, nq, cache.headDim];
  const q = randomArray(ids.length * hq * nq * cache.headDim, rand, half);
  const qt = attn.tensor(q, qDims, { dtype: cache.dtype });
  const { out, lse } = await attn.decode(qt, cache.select(ids), { returnLse: true });
  const [o, l] = [await out.read(), await lse!.read()];
  [qt, out, lse!].forEach((t) => t.destroy());
  const per = hq * nq;
  logical.forEach((lg, b) => {
    const s = lg.seq();
    const { ref } = referenceOf(q, qDims, b, s, cache.heads, { causal: true }, s.len - nq);
    const tol = half ? 4e-3 : 2e-6;
    const { err: eo } = maxErr(o.subarray(b * per * cache.headDim, (b + 1) * per * cache.headDim), ref.out);
    const { err: el } = maxErr(l.subarray(b * per, (b + 1) * per), ref.lse);
    expect(eo, `O of sequence ${ids[b]}`).toBeLessThanOrEqual(tol);
    expect(el, `LSE of sequence ${ids[b]}`).toBeLessThanOrEqual(tol);
  });
}

for (const backend of ['cpu', 'webgpu'] as const) {
  describe(`paged cache on ${backend}`, () => {
    let attn: Attention;
    beforeAll(async () => {
      attn = await createAttention({ backend, poisonOutputs: true, cpu: { threads: 0 } });
    });
    afterAll(() => attn?.destroy());

    for (const dtype of ['f32', 'f16'] as const) {
      it(`fork shares the prefix's pages; appends copy a shared partial page first; truncate and free return pages (${dtype})`, async () => {
        const rand = rng(testSeed());
        const half = dtype === 'f16';
        const cache = attn.pagedKVCache({ heads: 2, headDim: 32, pageSize: 4, numPages: 12, dtype });
        const a = cache.create();
        const la = new Logical(2, 32);
        cache.select([a]).append(...la.add(6, rand, half)); // a whole page and a partial one
        expect(cache.pages(a).length).toBe(2);
        const b = cache.fork(a);
        const lb = la.fork();
        expect(cache.pages(b)).toEqual(cache.pages(a));
        const shared = cache.pages(a)[1]!;
        expect(cache.refCount(shared)).toBe(2);
        cache.select([a]).append(...la.add(1, rand, half)); // copy-on-write of the shared partial page
        expect(cache.pages(a)[0]).toBe(cache.pages(b)[0]); // the full page stays shared
        expect(cache.pages(a)[1]).not.toBe(shared);
        expect(cache.refCount(shared)).toBe(1);
        cache.select([b]).append(...lb.add(3, rand, half)); // b alone now: written in place, then a new page
        expect(cache.pages(b)[1]).toBe(shared);
        cache.select([a]).append(...la.add(5, rand, half));
        await checkAttend(attn, cache, [a, b], [la, lb], 4, 2, rand);
        const before = cache.freePages;
        cache.select([a]).truncate(3); // inside the page a still shares with b: its other two pages go back
        la.truncate(3);
        expect(cache.freePages).toBe(before + 2);
        cache.select([a]).append(...la.add(2, rand, half)); // copy-on-write again: b's first page stays intact
        expect(cache.pages(a)[0]).not.toBe(cache.pages(b)[0]);
        await checkAttend(attn, cache, [b, a], [lb, la], 4, 2, rand);
        cache.free(b);
        expect(cache.freePages).toBe(12 - 2);
        const c = cache.fork(a); // a fork of a copy, grown past its pages
        const lc = la.fork();
        cache.select([c]).append(...lc.add(4, rand, half));
        // (every attend of this test has the same heads, rows and ragged lengths: one pipeline)
        await checkAttend(attn, cache, [a, c], [la, lc], 4, 2, rand);
        cache.reset(); // the sequences stay, empty
        expect(cache.freePages).toBe(12);
        expect(cache.lengths).toEqual([0, 0]);
        cache.destroy();
      });
    }

    it('appends from tensors of this Attention, and refuses to run out of pages without changing anything', async () => {
      const rand = rng(testSeed());
      const cache = attn.pagedKVCache({ batch: 2, heads: 2, headDim: 32, pageSize: 8, numPages: 3 });
      const lg = [new Logical(2, 32), new Logical(2, 32)];
      const [k, v] = lg[0]!.add(10, rand, false);
      cache.select([0]).append(attn.tensor(k, [1, 2, 10, 32]), attn.tensor(v, [1, 2, 10, 32]));
      cache.select([1]).append(...lg[1]!.add(3, rand, false));
      const err = await errorOf(() => cache.select([1]).append(new Float32Array(2 * 32 * 6), new Float32Array(2 * 32 * 6)));
      expect(err.message).toMatch(/needs 1 more pages.*only 0 are free/);
      expect(cache.length(1)).toBe(3);
      await checkAttend(attn, cache, [0, 1], lg, 4, 2, rand);
      cache.destroy();
    });
  });
}

describe('paged option checks (before any GPU work)', () => {
  let attn: Attention;
  beforeAll(async () => {
    attn = await createAttention({ backend: 'cpu' });
  });
  afterAll(() => attn?.destroy());

  it('names a page outside the pools, a short table row, missing positions, and the unsupported paths', async () => {
    const q = attn.tensor(new Float32Array(2 * 32), [2, 1, 1, 32]);
    const pool = attn.tensor(new Float32Array(4 * 8 * 32), [4, 1, 8, 32]);
    const run = (pages: unknown, extra: object = {}) => attn.forward(q, pool, pool, { pages, ...extra } as ForwardOptions);
    expect((await errorOf(() => run({ table: [[0], [4]], lengths: [3, 3] }))).message).toMatch(/table\[1\]\[0\] = 4 is not a page of the pools \(0 … 3\)/);
    expect((await errorOf(() => run({ table: [[0], [1]], lengths: [3, 9] }))).message).toMatch(/table\[1\] has 1 pages, but lengths\[1\] = 9 needs 2/);
    expect((await errorOf(() => run({ table: new Int32Array([0, 1, 2]), lengths: 3 }))).message).toMatch(/B = 2 equal rows/);
    expect((await errorOf(() => run({ table: [[0], [1]], lengths: [3, 0] }))).message).toMatch(/lengths\[1\] = 0 is less than the 1 query rows/);
    expect((await errorOf(() => run({ table: [[0], [1]], lengths: [3, 3] }, { algorithm: 'naive' }))).message).toMatch(/fused kernel only/);
    expect((await errorOf(() => run({ table: [[0], [1]], lenghts: [3, 3] }))).message).toMatch(/unknown key 'lenghts'/);
    const other = attn.tensor(new Float32Array(4 * 4 * 32), [4, 1, 4, 32]);
    expect((await errorOf(() => attn.forward(q, pool, other, { pages: { table: [[0], [1]], lengths: 3 } }))).message).toMatch(/one shape and layout/);
    // A zero-length entry with explicit positions: its row sees no key (O = 0, LSE = −∞).
    const { out, lse } = await run({ table: [[0], []], lengths: [3, 0] }, { queryOffset: 3, returnLse: true });
    expect(Array.from((await lse!.read()).subarray(1))).toEqual([-Infinity]);
    expect(Array.from((await out.read()).subarray(32)).every((x) => x === 0)).toBe(true);
  });
});
