/*
 * The IO model's byte counts and the FLOP convention, on a shape small enough
 * to count by hand: B=1, Hq=2, Hkv=1, N=8, D=4, f32 (4 bytes), Q tile br=4.
 *   Q (or O, or K/V as each query head reads it) = 2·8·4·4 = 256 B
 *   S = 2·8·8·4 = 512 B,  LSE = 2·8·4 = 64 B
 */
import { describe, expect, it } from 'vitest';
import { forwardFlops, ioSteps, keysVisited, modelBytes } from '../src/harness/io-model.js';
import type { Problem } from '../src/tensor/validate.js';

const p: Problem = { batch: 1, headsQ: 2, headsKv: 1, seqQ: 8, seqK: 8, headDim: 4 };
const bytesOf = (steps: ReturnType<typeof ioSteps>) => steps.map((s) => [s.readBytes, s.writeBytes]);

describe('IO model: naive', () => {
  it('counts each step reading its inputs and writing its result', () => {
    expect(bytesOf(ioSteps(p, 'naive', false))).toEqual([
      [256 + 256, 512], // scores: read Q, K; write S
      [512, 512 + 64], // softmax: read S; write P, LSE
      [512 + 256, 256], // P·V: read P, V; write O
    ]);
    expect(modelBytes(p, 'naive', false)).toBe(3136);
  });

  it('causal adds a mask step that reads and writes S', () => {
    const steps = ioSteps(p, 'naive', true);
    expect(steps.map((s) => s.step)).toHaveLength(4);
    expect(steps[1]).toMatchObject({ step: 'mask', readBytes: 512, writeBytes: 512 });
    expect(modelBytes(p, 'naive', true)).toBe(3136 + 1024);
  });
});

describe('IO model: flash', () => {
  it('reads Q once and K, V once per Q tile; writes O and LSE once', () => {
    // Two Q tiles of 4 rows, each visiting all 8 keys: K and V = 2 heads · 16 keys · 16 B.
    expect(keysVisited(p, false, { br: 4 })).toBe(16);
    expect(bytesOf(ioSteps(p, 'flash', false, { br: 4 }))).toEqual([[256 + 2 * 512, 256 + 64]]);
    expect(modelBytes(p, 'flash', false, { br: 4 })).toBe(1600);
  });

  it("causal visits keys only up to each Q tile's diagonal (bottom-right aligned)", () => {
    expect(keysVisited(p, true, { br: 4 })).toBe(4 + 8);
    expect(modelBytes(p, 'flash', true, { br: 4 })).toBe(256 + 2 * 384 + 320);
    // Nq = 4 < Nk = 8: the one tile sees every key. Nq = 8 > Nk = 4: the first tile sees none.
    expect(keysVisited({ ...p, seqQ: 4 }, true, { br: 4 })).toBe(8);
    expect(keysVisited({ ...p, seqK: 4 }, true, { br: 4 })).toBe(0 + 4);
  });

  it("GQA packing: a tile holding a group's query heads reads K/V once per K/V head", () => {
    // Decoding: Nq = 1, the group's 2 query heads in one 2-row tile; K/V = 1 head · 8 keys · 16 B each.
    const d: Problem = { ...p, seqQ: 1 };
    expect(bytesOf(ioSteps(d, 'flash', false, { br: 2, pack: 2 }))).toEqual([[32 + 2 * 128, 32 + 8]]);
    expect(bytesOf(ioSteps(d, 'flash', false, { br: 1 }))).toEqual([[32 + 2 * 256, 32 + 8]]);
    // Causal: every packed row sits at the last query position, so the tile sees all keys.
    expect(keysVisited(d, true, { br: 2, pack: 2 })).toBe(8);
  });

  it('key ranges: each range writes partial O and (max, denominator) rows; a combine reads them back', () => {
    const ranges = [
      [0, 4],
      [4, 8],
    ] as const;
    const parts = 2 * (256 + 2 * 64);
    expect(bytesOf(ioSteps(p, 'flash', false, { br: 4, ranges }))).toEqual([
      [256 + 2 * 512, parts],
      [parts, 256 + 64],
    ]);
    // Ranges partition the keys: a causal tile visits the same keys split or not.
    expect(keysVisited(p, true, { br: 4, ranges })).toBe(keysVisited(p, true, { br: 4 }));
  });

  it('moves fewer bytes than naive', () => {
    const big: Problem = { ...p, seqQ: 1024, seqK: 1024, headDim: 64 };
    expect(modelBytes(big, 'flash', false)).toBeLessThan(modelBytes(big, 'naive', false));
    expect(modelBytes(big, 'flash', true)).toBeLessThan(modelBytes(big, 'naive', true));
  });
});

describe('forwardFlops', () => {
  it('is 4·B·Hq·Nq·Nk·D, halved when causal', () => {
    expect(forwardFlops(p, false)).toBe(4 * 1 * 2 * 8 * 8 * 4);
    expect(forwardFlops(p, true)).toBe(1024);
  });
});
