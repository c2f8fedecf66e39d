/*
 * Bad arguments fail in the API, before any GPU or CPU work, with an
 * AttentionInputError whose message names the argument and the value.
 * Runs on the CPU backend (validation is the same code for both).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import type { Algorithm } from '../src/api/options.js';
import { AttentionInputError } from '../src/tensor/errors.js';
import type { Layout } from '../src/tensor/shape.js';
import { errorOf } from './helpers.js';

let attn: Attention;
beforeAll(async () => {
  attn = await createAttention({ backend: 'cpu' });
});

const zeros = (dims: readonly number[]) => new Float32Array(dims.reduce((a, b) => a * b, 1));
const t = (dims: readonly number[], on = attn) => on.tensor(zeros(dims), dims);

/** Expects `fn` to throw AttentionInputError with every fragment in its message. */
async function expectInputError(fn: () => unknown, ...fragments: string[]) {
  const e = await errorOf(fn);
  expect(e).toBeInstanceOf(AttentionInputError);
  for (const f of fragments) expect(e.message).toContain(f);
}

describe('attn.tensor()', () => {
  it('rejects dims of the wrong rank', async () => {
    await expectInputError(() => t([1, 2, 32]), 'dims', 'rank 4', '[1,2,32]');
    await expectInputError(() => t([1, 1, 2, 3, 32]), 'dims', 'rank 4');
  });

  it('rejects non-integer and non-positive dims', async () => {
    await expectInputError(() => attn.tensor(zeros([1, 1, 2, 32]), [1, 1, 2.5, 32]), 'dims[2]', '2.5');
    await expectInputError(() => attn.tensor(zeros([1]), [1, 0, 1, 32]), 'dims[1]', '0');
    await expectInputError(() => attn.tensor(zeros([1]), [1, 1, -4, 32]), 'dims[2]', '-4');
  });

  it('rejects data whose length does not match dims', async () => {
    await expectInputError(() => attn.tensor(new Float32Array(10), [1, 1, 4, 32]), 'data', '10', '[1, 1, 4, 32]', '128');
  });

  it('rejects an unknown layout', async () => {
    await expectInputError(() => attn.tensor(zeros([1, 1, 4, 32]), [1, 1, 4, 32], { layout: 'nhd' as Layout }), 'layout', '"nhd"', 'bhnd, bnhd');
  });
});

describe('attn.forward()', () => {
  it('rejects q and k with different batch sizes', async () => {
    await expectInputError(() => attn.forward(t([2, 1, 4, 32]), t([1, 1, 4, 32]), t([1, 1, 4, 32])), 'batch', 'q [2, 1, 4, 32]');
  });

  it('rejects k and v with different sequence lengths', async () => {
    await expectInputError(() => attn.forward(t([1, 1, 4, 32]), t([1, 1, 4, 32]), t([1, 1, 5, 32])), 'k and v', 'sequence length', 'v [1, 1, 5, 32]');
  });

  it('rejects query heads that are not a multiple of key/value heads', async () => {
    await expectInputError(() => attn.forward(t([1, 3, 4, 32]), t([1, 2, 4, 32]), t([1, 2, 4, 32])), 'query heads (3)', 'key/value heads (2)');
  });

  it('rejects an unsupported head dim, listing the supported ones', async () => {
    await expectInputError(() => attn.forward(t([1, 1, 4, 48]), t([1, 1, 4, 48]), t([1, 1, 4, 48])), 'head dim 48', '32, 64, 80, 96, 128, 256');
  });

  it('rejects an unknown algorithm', async () => {
    const [q, k, v] = [t([1, 1, 4, 32]), t([1, 1, 4, 32]), t([1, 1, 4, 32])];
    await expectInputError(() => attn.forward(q, k, v, { algorithm: 'fast' as Algorithm }), 'algorithm', '"fast"', 'flash, naive');
  });

  it('rejects a non-finite scale', async () => {
    const [q, k, v] = [t([1, 1, 4, 32]), t([1, 1, 4, 32]), t([1, 1, 4, 32])];
    await expectInputError(() => attn.forward(q, k, v, { scale: NaN }), 'scale', 'NaN');
    await expectInputError(() => attn.forward(q, k, v, { scale: Infinity }), 'scale', 'Infinity');
  });

  it('rejects a tensor made by another Attention instance', async () => {
    const other = await createAttention({ backend: 'cpu' });
    await expectInputError(() => attn.forward(t([1, 1, 4, 32]), t([1, 1, 4, 32], other), t([1, 1, 4, 32])), 'k', 'another Attention');
  });

  it('rejects a destroyed tensor', async () => {
    const v = t([1, 1, 4, 32]);
    v.destroy();
    expect(v.destroyed).toBe(true);
    await expectInputError(() => attn.forward(t([1, 1, 4, 32]), t([1, 1, 4, 32]), v), 'v', 'destroyed');
    await expectInputError(() => v.read(), 'destroyed');
  });

  it('rejects something that is not a tensor', async () => {
    const fake = { shape: { batch: 1, heads: 1, seq: 4, headDim: 32 } } as never;
    await expectInputError(() => attn.forward(fake, t([1, 1, 4, 32]), t([1, 1, 4, 32])), 'q', 'attn.tensor()');
  });
});

describe('createAttention()', () => {
  it('rejects an unknown backend', async () => {
    await expectInputError(() => createAttention({ backend: 'metal' as never }), 'backend', '"metal"');
  });
});
