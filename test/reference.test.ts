/*
 * The float64 reference is the specification, so it is checked on cases small
 * enough to work out by hand: one key, equal scores, the causal alignment when
 * Nq ≠ Nk, fully masked rows, GQA head mapping, precision and layout.
 */
import { describe, expect, it } from 'vitest';
import { referenceBackward } from '../src/reference/backward.js';
import { causalVisible, referenceForward } from '../src/reference/forward.js';
import { AttentionInputError } from '../src/tensor/errors.js';
import { host, maxErr, permute, randomHost, rng, testSeed } from './helpers.js';

const V4 = [
  [1, 2, 3, 4],
  [5, 6, 7, 8],
  [9, 10, 11, 12],
  [13, 14, 15, 16],
];
const mean = (rows: number[][]) => rows[0]!.map((_, d) => rows.reduce((s, r) => s + r[d]!, 0) / rows.length);
const row = (a: Float64Array, i: number, d = 4) => Array.from(a.subarray(i * d, (i + 1) * d));

describe('reference forward', () => {
  it("one key: O is that key's V row, LSE is its score", () => {
    const q = host([1, 2, 0, -1], [1, 1, 1, 4]);
    const k = host([0.5, 1, 3, 2], [1, 1, 1, 4]);
    const v = host([7, -8, 9, 0.25], [1, 1, 1, 4]);
    const r = referenceForward(q, k, v);
    expect(Array.from(r.out)).toEqual([7, -8, 9, 0.25]);
    expect(r.lse[0]).toBeCloseTo((0.5 + 2 + 0 - 2) / 2, 14); // q·k / √4
  });

  it('equal scores: O is the mean of the V rows, LSE = log N + s', () => {
    const q = host([1, 1, 1, 1], [1, 1, 1, 4]);
    const k = host(Array(16).fill(0.5), [1, 1, 4, 4]); // every score 0.5·4/2 = 1
    const v = host(V4.flat(), [1, 1, 4, 4]);
    const r = referenceForward(q, k, v);
    expect(row(r.out, 0)).toEqual(mean(V4));
    expect(r.lse[0]).toBeCloseTo(Math.log(4) + 1, 14);
  });

  it('causal mask is bottom-right aligned: query i sees key j iff j ≤ i + Nk − Nq', () => {
    expect(causalVisible(0, 2, 2, 4)).toBe(true);
    expect(causalVisible(0, 3, 2, 4)).toBe(false);
    expect(causalVisible(2, 0, 4, 2)).toBe(true);
    expect(causalVisible(1, 0, 4, 2)).toBe(false);
    // Nq = 2 < Nk = 4, zero queries (equal scores): row i averages V rows 0..i+2.
    const v = host(V4.flat(), [1, 1, 4, 4]);
    const k = host(Array(16).fill(1), [1, 1, 4, 4]);
    const short = referenceForward(host(Array(8).fill(0), [1, 1, 2, 4]), k, v, { causal: true });
    expect(row(short.out, 0)).toEqual(mean(V4.slice(0, 3)));
    expect(row(short.out, 1)).toEqual(mean(V4));
    expect(Array.from(short.lse)).toEqual([Math.log(3), Math.log(4)]);
  });

  it('a row with every key masked gives O = 0 and LSE = −∞, no NaN', () => {
    // Nq = 4 > Nk = 2: rows 0 and 1 see no key, row 2 sees key 0, row 3 sees keys 0 and 1.
    const q = host(Array(16).fill(0), [1, 1, 4, 4]);
    const k = host(Array(8).fill(1), [1, 1, 2, 4]);
    const v = host(V4.slice(0, 2).flat(), [1, 1, 2, 4]);
    const r = referenceForward(q, k, v, { causal: true });
    expect(row(r.out, 0)).toEqual([0, 0, 0, 0]);
    expect(row(r.out, 1)).toEqual([0, 0, 0, 0]);
    expect(row(r.out, 2)).toEqual(V4[0]);
    expect(row(r.out, 3)).toEqual(mean(V4.slice(0, 2)));
    expect(Array.from(r.lse)).toEqual([-Infinity, -Infinity, 0, Math.log(2)]);
    expect(r.out.some(Number.isNaN)).toBe(false);
  });

  it('GQA: query head h reads kv head floor(h / (Hq / Hkv))', () => {
    // Hq = 8, Hkv = 2: one key per kv head, V of kv head g is all g + 1.
    const q = host(Array(8 * 4).fill(0.3), [1, 8, 1, 4]);
    const k = host(Array(2 * 4).fill(1), [1, 2, 1, 4]);
    const v = host([1, 1, 1, 1, 2, 2, 2, 2], [1, 2, 1, 4]);
    const r = referenceForward(q, k, v);
    const perHead = Array.from({ length: 8 }, (_, h) => r.out[h * 4]);
    expect(perHead).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
  });

  it("'f32' precision differs from 'f64' slightly, but not much", () => {
    const seed = testSeed();
    const rand = rng(seed);
    const [q, k, v] = [0, 1, 2].map(() => randomHost([1, 2, 33, 64], rand));
    const f64 = referenceForward(q!, k!, v!);
    const f32 = referenceForward(q!, k!, v!, { precision: 'f32' });
    const { err } = maxErr(f32.out, f64.out);
    expect(err, `seed ${seed}`).toBeGreaterThan(0);
    expect(err, `seed ${seed}`).toBeLessThan(1e-5);
    expect(maxErr(f32.lse, f64.lse).err, `seed ${seed}`).toBeLessThan(1e-5);
  });

  it("layout 'bnhd' gives the same result as 'bhnd' after permuting", () => {
    const seed = testSeed();
    const rand = rng(seed);
    const qDims = [2, 4, 9, 32] as const;
    const kvDims = [2, 2, 13, 32] as const;
    const q = randomHost(qDims, rand);
    const k = randomHost(kvDims, rand);
    const v = randomHost(kvDims, rand);
    const asBnhd = (t: typeof q) => ({ ...t, data: permute(t.data, t.shape), layout: 'bnhd' as const });
    for (const causal of [false, true]) {
      const a = referenceForward(q, k, v, { causal });
      const b = referenceForward(asBnhd(q), asBnhd(k), asBnhd(v), { causal });
      expect(b.out, `seed ${seed}`).toEqual(a.out); // O is always bhnd
      expect(b.lse, `seed ${seed}`).toEqual(a.lse);
    }
  });
});

describe('reference inputs', () => {
  const good = host([1, 2, 3, 4], [1, 1, 1, 4]);
  it.each<[string, () => unknown, string]>([
    ['plain array data', () => referenceForward({ ...good, data: [1, 2, 3, 4] as never }, good, good), 'q .data must be a Float32Array or Float64Array'],
    ['short data', () => referenceForward(good, { ...good, data: new Float32Array(3) }, good), 'k .data has 3 elements, but its shape [1, 1, 1, 4] needs 4'],
    ['no shape', () => referenceForward(good, good, { ...good, shape: undefined as never }), 'v .shape must be { batch, heads, seq, headDim }'],
    ['a bad layout', () => referenceForward({ ...good, layout: 'BHND' as never }, good, good), 'q .layout must be one of bhnd, bnhd'],
    ['null', () => referenceForward(null as never, good, good), 'q must be a HostTensor'],
    [
      'heads',
      () =>
        referenceForward(
          host([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [1, 3, 1, 4]),
          host([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 1, 4]),
          host([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 1, 4]),
        ),
      "q's 3 heads must be a multiple of k's 2",
    ],
    ['dout', () => referenceBackward(good, good, good, host([1, 2], [1, 1, 1, 2])), 'dout must have the shape of q'],
  ])('%s is an AttentionInputError naming the tensor', (_name, call, text) => {
    expect(call).toThrow(AttentionInputError);
    expect(call).toThrow(text);
  });
});
