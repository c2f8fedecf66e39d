/*
 * Split-K: a forward call with too few rows to fill the GPU (decoding, short prompts
 * over long caches) runs each row's keys in ranges and merges the partial O and LSE.
 * The plan (runtime/split.ts keyRanges) and the merged results against the float64
 * reference: plain, causal (with rows that see no key at all), GQA, a strided layout,
 * and the variants whose state crosses ranges (sinks, masks with skipped tiles, ALiBi).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import type { ForwardOptions } from '../src/api/options.js';
import { alibi, alibiSlopes, documentMask, learnedSinks } from '../src/mods/builtins.js';
import { keyRanges, minRangeKeys, packGroup, SPLIT_TARGET_INVOCATIONS } from '../src/kernels/split.js';
import { flashLayoutOf } from '../src/harness/bench-layout.js';
import { ioSteps, modelBytes } from '../src/harness/io-model.js';
import type { Layout } from '../src/tensor/shape.js';
import { checkQkv } from '../src/tensor/validate.js';
import { checkForward, type Dims } from './forward-check.js';
import { combineKernel } from '../src/kernels/combine.js';

const problem = (q: Dims, kv: Dims) => {
  const s = (d: Dims) => ({ batch: d[0], heads: d[1], seq: d[2], headDim: d[3] });
  return checkQkv(s(q), s(kv), s(kv));
};

describe('split-K plan', () => {
  it('splits only calls with too few workgroups and enough key tiles, into contiguous ranges of ≥ 2 tiles', () => {
    // Decoding: 1 query row × 8 heads against 8192 keys: 8 workgroups of 256, 256 key tiles of 32.
    const decode = keyRanges(problem([1, 8, 1, 64], [1, 8, 8192, 64]), 64, 32, 256);
    expect(decode.length).toBe(SPLIT_TARGET_INVOCATIONS / 256 / 8);
    // Workgroups of 64 invocations: four times the ranges for the same target…
    expect(keyRanges(problem([1, 8, 1, 64], [1, 8, 131072, 64]), 4, 32, 64).length).toBe(4 * decode.length);
    // …but no range shorter than minRangeKeys: 256 keys at 8192, √(8·Nk) = 512 at 32768.
    expect(keyRanges(problem([1, 2, 1, 64], [1, 2, 8192, 64]), 4, 16, 64).length).toBe(8192 / 256);
    expect(keyRanges(problem([1, 2, 1, 64], [1, 2, 32768, 64]), 4, 16, 64).length).toBe(32768 / 512);
    expect(minRangeKeys(1000)).toBe(256);
    expect(decode[0]![0]).toBe(0);
    expect(decode.at(-1)![1]).toBe(8192);
    for (let i = 1; i < decode.length; i++) expect(decode[i]![0]).toBe(decode[i - 1]![1]);
    for (const [lo, hi] of decode) expect(lo % 32 === 0 && hi - lo >= 64).toBe(true);
    // Full enough already (16 heads × 64 Q tiles = 1024 workgroups), or too few key tiles.
    expect(keyRanges(problem([1, 16, 4096, 64], [1, 16, 4096, 64]), 64, 64, 256)).toEqual([[0, 4096]]);
    expect(keyRanges(problem([1, 1, 1, 64], [1, 1, 96, 64]), 64, 32, 256)).toEqual([[0, 96]]);
    // At least two tiles and minRangeKeys keys each (4096 keys → 16 ranges of 256).
    expect(keyRanges(problem([1, 1, 1, 64], [1, 1, 320, 64]), 64, 32, 256, undefined).length).toBe(1);
    expect(keyRanges(problem([1, 1, 1, 64], [1, 1, 4096, 64]), 64, 32, 256).length).toBe(16);
    // Forced: as asked, capped at one range per tile, the last range ragged.
    expect(keyRanges(problem([1, 16, 4096, 64], [1, 16, 4096, 64]), 64, 64, 256, 3).length).toBe(3);
    expect(keyRanges(problem([1, 1, 1, 64], [1, 1, 70, 64]), 64, 32, 256, 9)).toEqual([
      [0, 32],
      [32, 64],
      [64, 70],
    ]);
  });
});

describe('combine plan', () => {
  it('fits the device: 256 invocations at most, 128 on a compatibility-mode device, D/4 columns at least', () => {
    const size = (d: number, max?: number) => combineKernel(d, undefined, false, max).workgroupSize[0];
    expect([size(64), size(128), size(256)]).toEqual([256, 256, 256]);
    expect([size(64, 128), size(128, 128), size(256, 128)]).toEqual([128, 128, 128]);
    expect(size(96, 128)).toBe(120); // 5 split lanes of 24 columns
  });
});

describe('GQA packing plan', () => {
  it('stacks the query heads of a K/V head when rows are few, heads shared and no modifier needs one head per workgroup', () => {
    expect(packGroup(problem([1, 32, 1, 64], [1, 8, 8192, 64]), false)).toBe(4);
    expect(packGroup(problem([2, 8, 63, 64], [2, 1, 100, 64]), false)).toBe(8);
    expect(packGroup(problem([1, 32, 1, 64], [1, 8, 8192, 64]), true)).toBe(1); // score or mask modifier
    expect(packGroup(problem([1, 32, 64, 64], [1, 8, 8192, 64]), false)).toBe(1); // rows enough
    expect(packGroup(problem([1, 8, 1, 64], [1, 8, 8192, 64]), false)).toBe(1); // no sharing
  });
});

describe('split-K on the GPU', () => {
  let attn: Attention;
  beforeAll(async () => {
    attn = await createAttention({ backend: 'webgpu', poisonOutputs: true });
  });
  afterAll(() => attn?.destroy());

  const check = (q: Dims, kv: Dims, opts: ForwardOptions, layout: Layout = 'bhnd') => checkForward(attn, q, kv, { decodeKernel: false, ...opts }, layout);

  it("the benchmark's IO model follows the runner's layout: a decoding call packed and split reads K/V once per K/V head", () => {
    const d = problem([1, 8, 1, 64], [1, 2, 8192, 64]);
    const layout = flashLayoutOf(attn, d, false);
    expect(layout.pack).toBe(4);
    expect(layout.ranges!.length).toBeGreaterThan(1);
    // K and V read once: 2 K/V heads · 8192 keys · 256 B each; Q, O, LSE and the parts are small beside them.
    const kv = 2 * 2 * 8192 * 256;
    const steps = ioSteps(d, 'flash', false, layout);
    expect(steps[0]!.readBytes).toBe(8 * 256 + kv);
    expect(steps.map((s) => s.step)).toEqual([expect.stringMatching(/key ranges/), 'combine the ranges']);
    expect(modelBytes(d, 'flash', false, layout)).toBeLessThan(1.1 * kv);
  });

  it('decoding shapes (one query row, GQA 4:2), forced into 2, 3 and one range per tile, and automatic', async () => {
    for (const keySplits of [2, 3, 64, undefined]) await check([1, 4, 1, 64], [1, 2, 300, 64], { keySplits });
  });

  it('many parts: the combine lanes take several loop trips, the last trip partly past the parts (decode kernel, D = 128 and 256, sinks)', async () => {
    // D = 128: 8 lanes × 4 parts a trip, so 70 parts are 3 trips; D = 256: 4 lanes, 45 parts are 3 trips.
    await check([1, 4, 1, 128], [1, 1, 4480, 128], { decodeKernel: true, keySplits: 70 });
    await check([1, 2, 2, 256], [1, 2, 2900, 256], { decodeKernel: true, keySplits: 45, causal: true, sinks: learnedSinks([1.5, -2]) });
  });

  it('≥ 300 parts: a row’s columns split over several combine workgroups, each lane a part or two (decode kernel, sinks, f16)', async () => {
    // D = 128: 16 workgroups per row of 128 lanes (2 columns each), 512 parts a trip; D = 64: 8 per row of 128 lanes.
    await check([1, 4, 1, 128], [1, 1, 320 * 64, 128], { decodeKernel: true, keySplits: 320, sinks: learnedSinks([1.5, -2, 0, 4]) });
    await check([1, 2, 1, 64], [1, 2, 310 * 64, 64], { decodeKernel: true, keySplits: 310, dtype: 'f16' });
  });

  it('GQA packing: the query heads of a group stacked in one workgroup, rows spanning tiles, causal, sinks, a strided layout', async () => {
    for (const keySplits of [1, undefined]) {
      await check([1, 8, 1, 64], [1, 2, 300, 64], { keySplits });
      await check([2, 8, 3, 64], [2, 2, 300, 64], { causal: true, keySplits });
      await check([1, 4, 20, 32], [1, 1, 150, 32], { causal: true, keySplits }, 'bnhd'); // 80 stacked rows
      await check([1, 6, 17, 64], [1, 3, 200, 64], { sinks: learnedSinks([0.5, -1, 2, 0, 1, -3]), keySplits });
    }
    // A score modifier keeps one head per workgroup (unpacked), GQA or not.
    await check([1, 8, 1, 64], [1, 2, 300, 64], { score: alibi(alibiSlopes(8)) });
  });

  it('causal with Nq > Nk (the first rows see no key: O = 0, LSE = −∞) and a strided layout', async () => {
    await check([1, 2, 40, 32], [1, 2, 30, 32], { causal: true, keySplits: 2 });
    await check([1, 4, 40, 32], [1, 2, 30, 32], { causal: true }); // GQA-packed too
    await check([2, 2, 5, 64], [2, 2, 200, 64], { causal: true, keySplits: 4 }, 'bnhd');
  });

  it('variants: sinks join once (in the combine), a document mask skips tiles per range, ALiBi', async () => {
    // Sink logits of ±30: the row's frame is the sink (LSE from the logit itself, as in the fused kernel).
    await check([1, 2, 3, 64], [1, 2, 200, 64], { sinks: learnedSinks([0.7, -2]), keySplits: 3 });
    await check([1, 2, 3, 64], [1, 2, 200, 64], { sinks: learnedSinks([30, -30]), causal: true, keySplits: 5 });
    const ids = [...Array(120).fill(0), ...Array(80).fill(1)];
    await check([1, 2, 200, 64], [1, 2, 200, 64], { mask: documentMask(ids), keySplits: 3 });
    await check([1, 4, 2, 64], [1, 4, 250, 64], { score: alibi(alibiSlopes(4)), keySplits: 4 });
  });

  it('a sink that dominates its row gives LSE = the sink logit exactly, unsplit and split (its log2-frame value lost an ulp)', async () => {
    // q = 0: every score is 0, so LSE = 30 + ln(1 + 64·e^−30), which is 30 in float32.
    const zeros = new Float32Array(64 * 64);
    const keys = Float32Array.from({ length: 64 * 64 }, (_, i) => Math.sin(i));
    for (const keySplits of [1, 2]) {
      const t = [attn.tensor(zeros.subarray(0, 64), [1, 1, 1, 64]), attn.tensor(keys, [1, 1, 64, 64]), attn.tensor(keys, [1, 1, 64, 64])];
      const { out, lse } = await attn.forward(t[0]!, t[1]!, t[2]!, { sinks: learnedSinks([30]), keySplits, returnLse: true });
      expect((await lse!.read())[0], `keySplits ${keySplits}`).toBe(30);
      [...t, out, lse!].forEach((x) => x.destroy());
    }
  });
});
