/*
 * attn.combine and combineHost: partial results (O, LSE) of forwards over disjoint
 * key ranges merged into the result of one forward over all keys (and the float64
 * reference), on the CPU backend and on WebGPU: 1 to 4 parts, both layouts, GQA, rows
 * that one part or every part sees nothing of, NaN, and the argument checks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import type { AttentionTensor } from '../src/api/tensor.js';
import { combineHost } from '../src/cpu/combine.js';
import { maskMod } from '../src/mods/modifier.js';
import { referenceForward, type HostTensor } from '../src/reference/forward.js';
import { AttentionInputError } from '../src/tensor/errors.js';
import type { Layout } from '../src/tensor/shape.js';
import { maxErr, permute, randomHost, rng, testSeed } from './helpers.js';
import { maskFn } from '../src/mods/emit-js.js';
import type { Modifier } from '../src/mods/modifier.js';

type Dims = [number, number, number, number];
const TOL = 2e-5;

/** Keys [lo, hi) of a bhnd host tensor. */
function sliceKeys(t: HostTensor, lo: number, hi: number): HostTensor {
  const { batch, heads, seq, headDim: d } = t.shape;
  const data = new Float64Array(batch * heads * (hi - lo) * d);
  for (let bh = 0; bh < batch * heads; bh++) data.set(t.data.subarray((bh * seq + lo) * d, (bh * seq + hi) * d), bh * (hi - lo) * d);
  return { data, shape: { ...t.shape, seq: hi - lo }, layout: 'bhnd' };
}

/** Every backend runs the same cases; the WebGPU one on one device for the file. */
function cases(name: string, open: () => Promise<Attention>) {
  describe(`combine on ${name}`, () => {
    let attn: Attention;
    let other: Attention;
    beforeAll(async () => {
      attn = await open();
      other = await createAttention({ backend: 'cpu' });
    });
    afterAll(() => attn?.destroy());

    const up = (h: HostTensor, layout: Layout) =>
      attn.tensor(layout === 'bhnd' ? Float32Array.from(h.data) : permute(h.data, h.shape), [h.shape.batch, h.shape.heads, h.shape.seq, h.shape.headDim], {
        layout,
      });

    /** Forward of q over keys [lo, hi) with LSE; O back in bhnd. */
    async function partial(q: HostTensor, k: HostTensor, v: HostTensor, lo: number, hi: number, layout: Layout, mask?: Modifier) {
      const t = [up(q, layout), up(sliceKeys(k, lo, hi), layout), up(sliceKeys(v, lo, hi), layout)] as const;
      // Positions: the rows are the sequence's first (a mask reading q means row i), the keys start at lo.
      const r = await attn.forward(t[0], t[1], t[2], { returnLse: true, mask, queryOffset: 0, keyOffset: lo });
      t.forEach((x) => x.destroy());
      return { out: r.out, lse: r.lse! };
    }

    const readBhnd = async (t: AttentionTensor) => (t.layout === 'bhnd' ? await t.read() : permute(await t.read(), t.shape, true));

    /** Splits the keys at `cuts`, combines, and compares with one forward and the reference. */
    async function check(qDims: Dims, kvDims: Dims, cuts: number[], layout: Layout) {
      const seed = testSeed();
      const rand = rng(seed);
      const [q, k, v] = [randomHost(qDims, rand), randomHost(kvDims, rand), randomHost(kvDims, rand)];
      const bounds = [0, ...cuts, kvDims[2]];
      const parts = [];
      for (let i = 0; i + 1 < bounds.length; i++) parts.push(await partial(q, k, v, bounds[i]!, bounds[i + 1]!, layout));
      const merged = await attn.combine(parts);
      const whole = await partial(q, k, v, 0, kvDims[2], layout);
      const ref = referenceForward(q, k, v);
      const where = `${parts.length} parts ${layout} [seed ${seed}]`;
      const [o, l] = [await readBhnd(merged.out), await merged.lse.read()];
      expect(merged.out.layout).toBe(layout);
      expect(merged.lse.dims).toEqual([qDims[0], qDims[1], qDims[2], 1]);
      expect(maxErr(o, await readBhnd(whole.out)).err, `O vs one call, ${where}`).toBeLessThan(TOL);
      expect(maxErr(l, await whole.lse.read()).err, `LSE vs one call, ${where}`).toBeLessThan(TOL);
      expect(maxErr(o, ref.out).err, `O vs reference, ${where}`).toBeLessThan(TOL);
      expect(maxErr(l, ref.lse).err, `LSE vs reference, ${where}`).toBeLessThan(TOL);
      [...parts, merged, whole].forEach((p) => (p.out.destroy(), p.lse.destroy()));
    }

    it('2, 3 and 4 disjoint key ranges merge into one call over all keys (GQA, both layouts)', async () => {
      for (const layout of ['bhnd', 'bnhd'] as const) {
        await check([2, 4, 5, 32], [2, 2, 13, 32], [6], layout);
        await check([2, 4, 5, 32], [2, 2, 13, 32], [4, 5], layout); // a one-key range
        await check([1, 2, 3, 64], [1, 2, 20, 64], [3, 9, 15], layout); // the running merge ping-pongs
      }
    });

    it('one part is returned as it is', async () => {
      const rand = rng(testSeed());
      const [q, k, v] = [randomHost([1, 2, 3, 32], rand), randomHost([1, 2, 7, 32], rand), randomHost([1, 2, 7, 32], rand)];
      const p = await partial(q, k, v, 0, 7, 'bhnd');
      const m = await attn.combine([p]);
      expect(await m.out.read()).toEqual(await p.out.read());
      expect(await m.lse.read()).toEqual(await p.lse.read());
    });

    it('a row one part sees nothing of takes the other part alone; a row no part sees gives O = 0, LSE = −∞', async () => {
      const rand = rng(testSeed());
      const [q, k, v] = [randomHost([1, 2, 4, 32], rand), randomHost([1, 2, 10, 32], rand), randomHost([1, 2, 10, 32], rand)];
      const noRow0 = maskMod((_b, _h, qi) => qi.ne(0));
      const a = await partial(q, k, v, 0, 4, 'bhnd', noRow0);
      const b = await partial(q, k, v, 4, 10, 'bhnd');
      expect((await a.lse.read())[0]).toBe(-Infinity);
      const m = await attn.combine([a, b]);
      const [o, l, ob, lb] = [await m.out.read(), await m.lse.read(), await b.out.read(), await b.lse.read()];
      expect(o.subarray(0, 32)).toEqual(ob.subarray(0, 32));
      expect(l[0]).toBe(lb[0]);
      // The whole: one call whose row 0 does not see keys 0..3.
      const ref = referenceForward(q, k, v, { mask: maskFn(maskMod((_b, _h, qi, kv) => qi.ne(0).or(kv.ge(4)))), queryOffset: 0 });
      expect(maxErr(o, ref.out).err).toBeLessThan(TOL);
      expect(maxErr(l, ref.lse).err).toBeLessThan(TOL);
      // Neither part sees row 0 (of either head).
      const c = await partial(q, k, v, 4, 10, 'bhnd', noRow0);
      const none = await attn.combine([a, c]);
      const [on, ln] = [await none.out.read(), await none.lse.read()];
      expect(Array.from(on.subarray(0, 32))).toEqual(new Array(32).fill(0));
      expect([ln[0], ln[4]]).toEqual([-Infinity, -Infinity]);
      expect(Number.isFinite(ln[1]!)).toBe(true);
    });

    it('NaN in a part’s LSE or O propagates to its row', async () => {
      const o = Float32Array.from({ length: 3 * 32 }, (_, i) => Math.sin(i));
      const bad = Float32Array.from(o);
      bad[32 + 5] = NaN; // row 1's O
      const mk = (data: Float32Array, lse: number[]) => ({ out: attn.tensor(data, [1, 1, 3, 32]), lse: attn.tensor(lse, [1, 1, 3, 1]) });
      const m = await attn.combine([mk(o, [0.5, 1, 2]), mk(bad, [NaN, 0, -Infinity])]);
      const [om, lm] = [await m.out.read(), await m.lse.read()];
      expect(Number.isNaN(lm[0])).toBe(true);
      expect(om.subarray(0, 32).every(Number.isNaN)).toBe(true);
      expect(Number.isNaN(om[32 + 5])).toBe(true);
      expect(Array.from(om.subarray(64, 96))).toEqual(Array.from(o.subarray(64, 96))); // row 2: part 0 alone
      expect(lm[2]).toBe(2);
    });

    it("a part with LSE +∞ makes the row's LSE +∞ and its O NaN, on every backend", async () => {
      const o = Float32Array.from({ length: 2 * 32 }, (_, i) => Math.cos(i));
      const mk = (lse: number[]) => ({ out: attn.tensor(o, [1, 1, 2, 32]), lse: attn.tensor(lse, [1, 1, 2, 1]) });
      const m = await attn.combine([mk([Infinity, 1]), mk([0.5, Infinity])]);
      const [om, lm] = [await m.out.read(), await m.lse.read()];
      expect(Array.from(lm)).toEqual([Infinity, Infinity]);
      expect(om.every(Number.isNaN)).toBe(true);
    });

    it('rejects bad arguments with AttentionInputError', async () => {
      const part = (dims: Dims, lseDims = [dims[0], dims[1], dims[2], 1], a = attn) => ({
        out: a.tensor(new Float32Array(dims.reduce((x, y) => x * y)), dims),
        lse: a.tensor(new Float32Array(lseDims.reduce((x, y) => x * y)), lseDims),
      });
      const p = part([1, 2, 3, 32]);
      const bnhd = { out: attn.tensor(new Float32Array(192), [1, 2, 3, 32], { layout: 'bnhd' }), lse: p.lse };
      const dead = part([1, 2, 3, 32]);
      dead.out.destroy();
      for (const [args, why] of [
        [[], /non-empty/],
        [undefined, /non-empty/],
        [[p, part([1, 2, 4, 32])], /parts\[1\]\.out is \[1, 2, 4, 32\]/],
        [[p, part([1, 2, 3, 64])], /parts\[1\]\.out is \[1, 2, 3, 64\]/],
        [[p, bnhd], /'bnhd'/],
        [[p, part([1, 2, 3, 32], [1, 2, 3, 2])], /parts\[1\]\.lse must have shape \[1, 2, 3, 1\]/],
        [[p, part([1, 2, 3, 32], [1, 2, 4, 1])], /parts\[1\]\.lse must have shape/],
        [[p, { out: p.out }], /parts\[1\]\.lse must be a tensor/],
        [[p, part([1, 2, 3, 32], undefined, other)], /another Attention/],
        [[p, dead], /destroyed/],
      ] as const) {
        await expect(attn.combine(args as never), String(why)).rejects.toThrow(AttentionInputError);
        await expect(attn.combine(args as never)).rejects.toThrow(why);
      }
    });

    it('combineHost matches one call on the host (float64 accumulation) and checks its arguments', async () => {
      const rand = rng(testSeed());
      const [q, k, v] = [randomHost([1, 2, 4, 32], rand), randomHost([1, 2, 11, 32], rand), randomHost([1, 2, 11, 32], rand)];
      const parts: { out: Float32Array; lse: Float32Array }[] = [];
      for (const [lo, hi] of [
        [0, 3],
        [3, 8],
        [8, 11],
      ] as const) {
        const p = await partial(q, k, v, lo, hi, 'bhnd');
        parts.push({ out: await p.out.read(), lse: await p.lse.read() });
      }
      const r = combineHost(parts, 8, 32);
      const ref = referenceForward(q, k, v);
      expect(maxErr(r.out, ref.out).err).toBeLessThan(TOL);
      expect(maxErr(r.lse, ref.lse).err).toBeLessThan(TOL);
      const none = { out: new Float32Array(32), lse: Float32Array.of(-Infinity) };
      expect(combineHost([none, none], 1, 32).lse[0]).toBe(-Infinity);
      expect(() => combineHost([], 8, 32)).toThrow(AttentionInputError);
      expect(() => combineHost(parts, 0, 32)).toThrow(/rows must be a positive integer/);
      expect(() => combineHost([parts[0]!, { out: parts[1]!.out, lse: new Float32Array(7) }], 8, 32)).toThrow(/parts\[1\]\.lse has 7 floats/);
      expect(() => combineHost([{ out: new Float32Array(3), lse: parts[0]!.lse }], 8, 32)).toThrow(/parts\[0\]\.out has 3 floats/);
      expect(() => combineHost([{ out: [1] as never, lse: parts[0]!.lse }], 8, 32)).toThrow(AttentionInputError);
    });
  });
}

cases('the CPU', () => createAttention({ backend: 'cpu', poisonOutputs: true }));
cases('WebGPU', () => createAttention({ backend: 'webgpu', poisonOutputs: true }));
