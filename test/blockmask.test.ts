/*
 * attn.blockMask draws the map forward() uses: rows and keys at forward()'s positions (by
 * default the queries are the last seqQ of seqK; queryOffset/keyOffset move them). Once it
 * drew rows at 0 … seqQ − 1 whatever seqK was, so a decoding-shaped causal map (4 rows over
 * 128 keys) came out nearly empty where forward() reads every tile. Each state is checked
 * against the mask evaluated at every position of its tile, on both backends.
 */
import { describe, expect, it } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import type { BlockMaskShape } from '../src/mods/blockmask.js';
import { causal, documentMask, slidingWindow } from '../src/mods/builtins.js';
import { maskFn } from '../src/mods/emit-js.js';
import type { Modifier } from '../src/mods/modifier.js';
import { AttentionInputError } from '../src/tensor/errors.js';
import { errorOf } from './helpers.js';

/** Batch entry b's (query, key) offsets, defaults filled in as forward() fills them. */
function offsets(shape: BlockMaskShape, b: number): [number, number] {
  const at = (o: BlockMaskShape['queryOffset'], dflt: number) => (o === undefined ? dflt : typeof o === 'number' ? o : o[b]!);
  return [at(shape.queryOffset, shape.seqK - shape.seqQ), at(shape.keyOffset, 0)];
}

/** The state of tile (i, j) of batch entry b (0 empty, 1 partial, 2 full), from the mask at every position it covers. */
function bruteState(mask: Modifier, shape: BlockMaskShape, b: number, i: number, j: number, br: number, bc: number): number {
  const keep = maskFn(mask);
  const [qOff, kOff] = offsets(shape, b);
  let kept = false;
  let masked = false;
  for (let q = i * br; q < Math.min(shape.seqQ, (i + 1) * br); q++) {
    for (let kv = j * bc; kv < Math.min(shape.seqK, (j + 1) * bc); kv++) {
      if (keep(b, 0, qOff + q, kOff + kv)) kept = true;
      else masked = true;
    }
  }
  return kept ? (masked ? 1 : 2) : 0;
}

const CASES: [string, Modifier, BlockMaskShape][] = [
  ['causal, 4 rows over 128 keys (decoding)', causal(), { batch: 1, heads: 1, seqQ: 4, seqK: 128 }],
  ['causal, more rows than keys', causal(), { batch: 1, heads: 1, seqQ: 40, seqK: 24 }],
  ['a window, per-batch query offsets', slidingWindow(20), { batch: 2, heads: 1, seqQ: 16, seqK: 64, queryOffset: [48, 10] }],
  ['causal, keys moved', causal(), { batch: 1, heads: 1, seqQ: 32, seqK: 32, queryOffset: 40, keyOffset: 30 }],
  ['causal, batch 2 sharing the default offsets', causal(), { batch: 2, heads: 1, seqQ: 4, seqK: 64 }],
  ['a window, batch 2, keys moved only', slidingWindow(6), { batch: 2, heads: 1, seqQ: 16, seqK: 16, keyOffset: 8 }],
  ['causal, batch 2 at their indices', causal(), { batch: 2, heads: 1, seqQ: 16, seqK: 16 }],
];

function cases(name: string, open: () => Promise<Attention>) {
  it.each(CASES)(`%s (${name})`, async (_label, mask, shape) => {
    const attn = await open();
    try {
      const bm = await attn.blockMask(mask, shape);
      // States per batch entry wherever the positions are not the call's indices (as forward() keeps a position table).
      const perBatch = Array.from({ length: shape.batch }, (_, b) => offsets(shape, b)).some(([q, k]) => q !== 0 || k !== 0);
      expect(bm.states.length).toBe((perBatch ? shape.batch : 1) * bm.nQ * bm.nK);
      if (shape.batch > 1 && !Array.isArray(shape.queryOffset)) expect(bm.toString(1)).toBe(bm.toString(0));
      for (let b = 0; b < shape.batch; b++) {
        const base = (perBatch ? b : 0) * bm.nQ * bm.nK;
        for (let i = 0; i < bm.nQ; i++) {
          for (let j = 0; j < bm.nK; j++) {
            expect(bm.states[base + i * bm.nK + j], `b ${b} tile ${i},${j}`).toBe(bruteState(mask, shape, b, i, j, bm.rowsPerTile, bm.keysPerTile));
          }
        }
      }
    } finally {
      attn.destroy();
    }
  });

  it(`rejects offsets of the wrong count or sign (${name})`, async () => {
    const attn = await open();
    const shape = { batch: 2, heads: 1, seqQ: 4, seqK: 8 };
    for (const [bad, text] of [
      [{ ...shape, queryOffset: [1] }, 'shape.queryOffset has 1 entries, but batch is 2'],
      [{ ...shape, keyOffset: -1 }, 'keyOffset must be an integer in [0'],
    ] as const) {
      const e = await errorOf(() => attn.blockMask(causal(), bad));
      expect(e).toBeInstanceOf(AttentionInputError);
      expect(e.message).toContain(text);
    }
    // A table the mask would read past is refused, as forward() refuses it.
    const e = await errorOf(() => attn.blockMask(documentMask([0, 0, 1, 1]), { batch: 1, heads: 1, seqQ: 8, seqK: 8 }));
    expect(e).toBeInstanceOf(AttentionInputError);
    expect(e.message).toContain("table 'doc' has 4 entries");
    attn.destroy();
  });
}

describe("blockMask at forward()'s positions", () => {
  cases('the CPU', () => createAttention({ backend: 'cpu', cpu: { threads: 0 } }));
  cases('WebGPU', () => createAttention({ backend: 'webgpu' }));
});
