/*
 * The variant language: tracing (and its definition-time errors), the WGSL
 * emitter (snapshot of a small modifier, clamped table reads, no user text),
 * the JS emitter, combinators, built-in mask pictures and CPU block masks.
 */
import { describe, expect, it } from 'vitest';
import {
  alibi,
  alibiSlopes,
  and,
  causal,
  compose,
  documentMask,
  emitWgsl,
  keyPadding,
  maskFn,
  maskMod,
  maskPicture,
  not,
  or,
  packTables,
  prefixLM,
  scoreFn,
  scoreMod,
  slidingWindow,
  softcap,
  streamingSinks,
  where,
} from '../src/mods/index.js';
import { blockMaskOnCpu } from '../src/mods/blockmask.js';
import { AttentionInputError } from '../src/tensor/errors.js';

describe('tracing', () => {
  it('rejects JavaScript operators on traced values, naming the fix', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    expect(() => scoreMod((s) => (s as any) + 1)).toThrow(/JavaScript operator.*\.add/);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    expect(() => maskMod((_b, _h, q, kv) => ((q as any) > (kv as any) ? true : false))).toThrow(/JavaScript operator/);
    expect(() => maskMod((_b, _h, q) => `${q}` as never)).toThrow(/converted to a string/);
  });
  it('rejects unknown methods and wrong result types at definition time', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    expect(() => scoreMod((s) => (s as any).foo(1))).toThrow(AttentionInputError);
    expect(() => maskMod((_b, _h, q, kv) => q.add(kv))).toThrow(/must return a boolean/);
    expect(() => scoreMod((_s, _b, _h, q, kv) => q.lt(kv))).toThrow(/must return a number/);
    expect(() => scoreMod((s) => s.add(Infinity))).toThrow(/not finite/);
    expect(() => maskMod((_b, _h, q, kv) => q.lt(kv).add(1))).toThrow(/needs numbers/);
    expect(() => maskMod((_b, _h, q, kv, t) => t.x!.at(q.div(2)).lt(kv), { x: [1] })).toThrow(/integer index/);
  });
  it('rejects bad tables', () => {
    expect(() => scoreMod((s) => s, { 'bad name': [1] })).toThrow(/identifier/);
    expect(() => scoreMod((s) => s, { x: [] })).toThrow(/empty/);
    expect(() => scoreMod((s) => s, { x: [NaN] })).toThrow(/non-finite/);
  });
  it('where() and mixed i32/f32 arithmetic', () => {
    const f = scoreFn(scoreMod((s, _b, _h, q, kv) => where(kv.gt(q), s.mul(0.5), s.add(q))));
    expect(f(4, 0, 0, 1, 2)).toBe(2);
    expect(f(4, 0, 0, 3, 2)).toBe(7);
  });
});

describe('WGSL emitter', () => {
  it('emits one let per node, literals from numbers, clamped table reads (snapshot)', () => {
    const m = scoreMod((s, _b, h, q, kv, t) => s.add(t.w!.at(h).mul(kv.sub(q))), { w: [0.5, 0.25] }, 'evil */ label');
    const wgsl = emitWgsl(m, packTables([m]).layout);
    expect(wgsl).toBe(`fn scoreMod(score: f32, b: i32, h: i32, q: i32, kv: i32) -> f32 {
  let t0 = score;
  let t1 = h;
  let t2 = aux[0u + u32(clamp(t1, 0i, 1i))];
  let t3 = kv;
  let t4 = q;
  let t5 = (t3 - t4);
  let t6 = f32(t5);
  let t7 = (t2 * t6);
  let t8 = (t0 + t7);
  return t8;
}`);
    expect(wgsl).not.toContain('evil');
  });
  it('clamps tanh against overflow', () => {
    const m = softcap(30);
    expect(emitWgsl(m, packTables([m]).layout)).toContain('tanh(clamp(');
  });
  it('packs tables of several modifiers without overlap', () => {
    const a = keyPadding([3, 4]);
    const b = documentMask([0, 0, 1]);
    const { data, layout } = packTables([a, b]);
    expect([...data]).toEqual([3, 4, 0, 0, 1]);
    expect([...layout.values()].map((t) => t.offset)).toEqual([0, 2]);
  });
});

describe('JS emitter and built-ins', () => {
  const grid = (m: ReturnType<typeof causal>, n = 6) => maskPicture(m, n);
  it('causal, sliding window (causal and symmetric), prefix-LM, streaming sinks', () => {
    expect(grid(causal(), 3)).toBe('█··\n██·\n███');
    expect(grid(slidingWindow(2), 4)).toBe('█···\n██··\n·██·\n··██');
    expect(grid(slidingWindow(2, { causal: false }), 4)).toBe('██··\n███·\n·███\n··██');
    expect(grid(prefixLM(2), 4)).toBe('██··\n██··\n███·\n████');
    expect(grid(streamingSinks(1, 2), 5)).toBe('█····\n██···\n███··\n█·██·\n█··██');
  });
  it('documents, varlen documents and key padding depend on b', () => {
    expect(grid(documentMask([0, 0, 1, 1]), 4)).toBe('██··\n██··\n··██\n··██');
    const varlen = maskFn(documentMask([0, 1, 0, 0], 2));
    expect([varlen(0, 0, 0, 1), varlen(1, 0, 0, 1)]).toEqual([false, true]);
    const pad = maskFn(keyPadding([1, 3]));
    expect([pad(0, 0, 0, 1), pad(1, 0, 0, 2), pad(1, 0, 0, 3)]).toEqual([false, true, false]);
  });
  it('alibi, softcap, compose, and/or/not', () => {
    const slopes = alibiSlopes(4);
    expect(slopes[0]).toBeCloseTo(0.25);
    expect(scoreFn(alibi(slopes))(1, 0, 1, 5, 2)).toBeCloseTo(1 + slopes[1]! * -3);
    expect(scoreFn(softcap(2))(100, 0, 0, 0, 0)).toBeCloseTo(2);
    expect(scoreFn(compose(alibi([1]), softcap(1)))(0, 0, 0, 0, 1)).toBeCloseTo(Math.tanh(1));
    const m = maskFn(
      or(
        not(causal()),
        and(
          causal(),
          maskMod((_b, _h, _q, kv) => kv.eq(0)),
        ),
      ),
    );
    expect([m(0, 0, 0, 1), m(0, 0, 2, 0), m(0, 0, 2, 1)]).toEqual([true, true, false]);
    expect(() => and(alibi([1]))).toThrow(/mask modifiers/);
    expect(() => compose(causal())).toThrow(/score modifiers/);
  });
  it('table lookups clamp out-of-range indices, like the WGSL emitter', () => {
    const f = maskFn(maskMod((_b, _h, q, kv, t) => t.x!.at(q).eq(kv), { x: [7, 8] }));
    expect([f(0, 0, -5, 7), f(0, 0, 99, 8)]).toEqual([true, true]);
  });
});

describe('BlockMask on the CPU', () => {
  it('classifies tiles of a sliding window and draws them', () => {
    const bm = blockMaskOnCpu(slidingWindow(4), { batch: 1, heads: 1, seqQ: 16, seqK: 16 }, 4, 4);
    expect(bm.toString().split('\n').slice(1).join('\n')).toBe('░···\n░░··\n·░░·\n··░░');
    expect(bm.counts()).toEqual({ empty: 9, partial: 7, full: 0 });
  });
  it('marks full tiles, and keeps a per-batch map when the mask reads b', () => {
    const bm = blockMaskOnCpu(keyPadding([4, 8]), { batch: 2, heads: 3, seqQ: 8, seqK: 8 }, 4, 4);
    expect(bm.states.length).toBe(2 * 1 * 2 * 2); // heads collapse: the mask ignores h
    expect(bm.toString(0)).toContain('█·\n█·');
    expect(bm.toString(1)).toContain('██\n██');
  });
});
