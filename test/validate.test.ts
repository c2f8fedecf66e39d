/*
 * Bad arguments fail in the API, before any GPU or CPU work, with an
 * AttentionInputError whose message names the argument and the value.
 * Runs on the CPU backend (validation is the same code for both).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import type { AttentionTensor } from '../src/api/tensor.js';
import type { Algorithm } from '../src/api/options.js';
import { AttentionInputError } from '../src/tensor/errors.js';
import type { Layout } from '../src/tensor/shape.js';
import { errorOf, rng, testSeed } from './helpers.js';
import { alibi, documentMask, keyPadding, learnedSinks, relativeBias, slidingWindow, softcap } from '../src/mods/builtins.js';
import { scoreMod } from '../src/mods/modifier.js';
import { referenceForward } from '../src/reference/forward.js';
import { toHalf } from '../src/tensor/half.js';

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
  it('dims passed as separate numbers are a dims mistake, not an options one', async () => {
    await expectInputError(
      () => (attn.tensor as (...a: unknown[]) => unknown)(new Float32Array(64), 1, 1, 1, 64),
      'dims must be [batch, heads, seq, headDim]',
      'got 1',
    );
  });

  it('rejects dims of the wrong rank', async () => {
    await expectInputError(() => t([1, 2, 32]), 'dims', 'rank 4', '[1,2,32]');
    await expectInputError(() => t([1, 1, 2, 3, 32]), 'dims', 'rank 4');
  });

  it('rejects non-integer and non-positive dims', async () => {
    await expectInputError(() => attn.tensor(zeros([1, 1, 2, 32]), [1, 1, 2.5, 32]), 'dims[2]', '2.5');
    await expectInputError(() => attn.tensor(zeros([1]), [1, 0, 1, 32]), 'dims[1]', '0');
    await expectInputError(() => attn.tensor(zeros([1]), [1, 1, -4, 32]), 'dims[2]', '-4');
    await expectInputError(() => attn.tensor(zeros([1, 2, 8, 32]), ['1', 2, 8, 32] as never), 'dims[0] must be a positive integer, got "1"');
  });

  it('rejects an array with entries that are not numbers (they would become NaN), and toHalf of a non-array', async () => {
    const data: unknown[] = Array.from({ length: 32 }, () => 0.5);
    data[3] = 'x';
    await expectInputError(() => attn.tensor(data as number[], [1, 1, 1, 32]), 'entry 3 is string');
    data[3] = undefined;
    await expectInputError(() => attn.tensor(data as number[], [1, 1, 1, 32]), 'entry 3 is undefined');
    await expectInputError(() => toHalf('abc' as never), 'toHalf takes an array of numbers', 'got string');
    expect(Array.from(toHalf([1, 2]))).toEqual([0x3c00, 0x4000]);
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

  it('rejects a key split count that is not a whole number ≥ 1', async () => {
    const [q, k, v] = [t([1, 1, 4, 32]), t([1, 1, 4, 32]), t([1, 1, 4, 32])];
    await expectInputError(() => attn.forward(q, k, v, { keySplits: 0 }), 'keySplits', '0');
    await expectInputError(() => attn.forward(q, k, v, { keySplits: 2.5 }), 'keySplits', '2.5');
  });

  it('rejects a non-finite scale', async () => {
    const [q, k, v] = [t([1, 1, 4, 32]), t([1, 1, 4, 32]), t([1, 1, 4, 32])];
    await expectInputError(() => attn.forward(q, k, v, { scale: NaN }), 'scale', 'NaN');
    await expectInputError(() => attn.forward(q, k, v, { scale: Infinity }), 'scale', 'Infinity');
  });

  it('rejects a tensor made by another Attention instance', async () => {
    const other = await createAttention({ backend: 'cpu' });
    await expectInputError(() => attn.forward(t([1, 1, 4, 32]), t([1, 1, 4, 32], other), t([1, 1, 4, 32])), 'k', 'another Attention');
    // A cache of another instance is named as the cache (its K is not an argument the caller passed).
    const cache = other.kvCache({ batch: 1, heads: 1, headDim: 32 });
    cache.append(new Float32Array(32), new Float32Array(32));
    await expectInputError(() => attn.decode(t([1, 1, 1, 32]), cache), 'decode: the cache', 'another Attention');
    // q of another dtype than the cache's is named as such (it said "k is f16 but q is f32").
    const half = attn.kvCache({ batch: 1, heads: 1, headDim: 32, dtype: 'f16' });
    half.append(new Float32Array(32), new Float32Array(32));
    await expectInputError(() => attn.decode(t([1, 1, 1, 32]), half), "decode: q is f32 but the cache holds f16: q must have the cache's dtype");
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

describe('variants and dtype', () => {
  const qkv = (h = 2, n = 8) => [t([1, h, n, 32]), t([1, h, n, 32]), t([1, h, n, 32])] as const;

  it('rejects a dtype the tensors do not have (naming how to make them), and an unknown dtype', async () => {
    await expectInputError(() => attn.forward(...qkv(), { dtype: 'f16' }), "dtype 'f16' was asked for, but the tensors are f32", "{ dtype: 'f16' }");
    await expectInputError(() => attn.forward(...qkv(), { dtype: 'bf16' as never }), 'dtype must be', '"bf16"');
  });

  it('rejects a modifier of the wrong kind, or something that is not one', async () => {
    await expectInputError(() => attn.forward(...qkv(), { score: slidingWindow(4) }), 'score', 'mask modifier');
    await expectInputError(() => attn.forward(...qkv(), { mask: softcap(5) }), 'mask', 'score modifier');
    await expectInputError(() => attn.forward(...qkv(), { score: (() => 1) as never }), 'score', 'function');
    await expectInputError(() => attn.forward(...qkv(), { sinks: [1, 2] as never }), 'sinks', 'learnedSinks');
  });

  it('rejects sinks with one logit per head for a different head count', async () => {
    await expectInputError(() => attn.forward(...qkv(2), { sinks: learnedSinks([1, 2, 3]) }), 'sinks has 3 logits', '2 query heads');
  });

  it('a table read by distance q − kv under causal needs entries 0 … N − 1 only (the masked pairs do not count)', async () => {
    const w = [0, 0.5, -0.25, 1, 0.125, -1, 2, 0.75];
    const byDistance = scoreMod((sc, _b, _h, q, kv, tb) => sc.add(tb.w!.at(q.sub(kv))), { w });
    const rand = rng(testSeed());
    const dims = [1, 2, 8, 32] as const;
    const host = [0, 1, 2].map(() => Float32Array.from({ length: 512 }, () => rand() * 2 - 1));
    const [q, k, v] = host.map((d) => attn.tensor(d, dims)) as [AttentionTensor, AttentionTensor, AttentionTensor];
    const { out } = await attn.forward(q, k, v, { score: byDistance, causal: true });
    const shape = { batch: 1, heads: 2, seq: 8, headDim: 32 };
    const [hq, hk, hv] = host.map((data) => ({ data, shape, layout: 'bhnd' as const }));
    const ref = referenceForward(hq!, hk!, hv!, { causal: true, score: (sc, _b, _h, qi, kv) => sc + w[qi - kv]! });
    const got = await out.read();
    expect(Math.max(...got.map((x, i) => Math.abs(x - ref.out[i]!)))).toBeLessThan(1e-5);
    // Without causal the pairs kv > q read −7 … −1: refused.
    await expectInputError(() => attn.forward(q, k, v, { score: byDistance }), "table 'w' has 8 entries", 'indices -7 … 7');
  });

  it('rejects tables too short for the call (they would be read clamped, silently wrong)', async () => {
    await expectInputError(
      () => attn.forward(...qkv(4), { score: alibi([0.5, 0.25]) }),
      "alibi: table 'slopes' has 2 entries",
      '4 query heads',
      'indices 0 … 3',
    );
    await expectInputError(
      () => attn.forward(...qkv(2, 8), { mask: documentMask([0, 0, 1, 1]) }),
      "table 'doc' has 4 entries",
      'indices 0 … 7',
      'clamp the index (.max(0).min(3))',
    );
    await expectInputError(() => attn.forward(...qkv(2, 8), { mask: documentMask([0, 0, 1, 1, 1, 1], 3) }), "table 'doc' has 6 entries", 'indices 0 … 7');
    await expectInputError(
      () => attn.forward(t([2, 1, 8, 32]), t([2, 1, 8, 32]), t([2, 1, 8, 32]), { mask: keyPadding([3]) }),
      "table 'lengths' has 1 entries",
    );
    await expectInputError(() => attn.forward(...qkv(4), { score: relativeBias([0, 1, 2, 3, 4, 5, 6, 7, 8], 3) }), "table 'bias' has 9 entries");
    const user = scoreMod((s, _b, _h, q, _kv, t2) => s.add(t2.pos!.at(q)), { pos: [1, 2, 3] }, 'user pos');
    await expectInputError(() => attn.forward(...qkv(2, 8), { score: user }), "user pos: table 'pos' has 3 entries", 'Nq 8');
  });

  it('accepts tables that are long enough, including one relative-bias row shared by every head (regression: head 1 read past the row)', async () => {
    const rand = rng(testSeed());
    const dims = [1, 2, 9, 32];
    const data = () => Float32Array.from({ length: 2 * 9 * 32 }, () => rand() * 2 - 1);
    const [hq, hk, hv] = [data(), data(), data()];
    const bias = [0.5, -0.25, 0.75];
    const { out } = await attn.forward(attn.tensor(hq, dims), attn.tensor(hk, dims), attn.tensor(hv, dims), { score: relativeBias(bias) });
    const host = (x: Float32Array) => ({ data: x, shape: { batch: 1, heads: 2, seq: 9, headDim: 32 }, layout: 'bhnd' as const });
    const want = referenceForward(host(hq), host(hk), host(hv), { score: (s, _b, _h, q, kv) => s + bias[Math.min(Math.max(kv - q, -1), 1) + 1]! }).out;
    const got = await out.read();
    expect(Math.max(...got.map((x, i) => Math.abs(x - want[i]!)))).toBeLessThan(1e-5);
    await attn.forward(...qkv(4), { score: alibi([0.5, 0.25, 0.125, 0.0625, 0.03]) }); // longer is fine
  });
});

describe('attn.backward()', () => {
  const fwd = async () => {
    const [q, k, v] = [t([1, 2, 8, 32]), t([1, 2, 8, 32]), t([1, 2, 8, 32])];
    const { out, lse } = await attn.forward(q, k, v, { returnLse: true });
    return { q, k, v, out, lse };
  };

  it('rejects a missing LSE, naming the forward option that saves it', async () => {
    const s = await fwd();
    await expectInputError(() => attn.backward(t([1, 2, 8, 32]), { ...s, lse: undefined }), 'saved.lse', 'returnLse: true');
  });

  it("rejects dOut or out whose shape or layout differs from q's", async () => {
    const s = await fwd();
    await expectInputError(() => attn.backward(t([1, 2, 7, 32]), s), 'dOut', "q's shape", '[1, 2, 7, 32]');
    await expectInputError(() => attn.backward(t([1, 2, 8, 32]), { ...s, out: t([1, 1, 8, 32]) }), 'out', "q's shape");
  });

  it('rejects an LSE of the wrong shape, and saved tensors from elsewhere', async () => {
    const s = await fwd();
    await expectInputError(() => attn.backward(t([1, 2, 8, 32]), { ...s, lse: t([1, 2, 8, 32]) }), 'lse must be [1, 2, 8, 1]');
    const other = await createAttention({ backend: 'cpu' });
    await expectInputError(() => attn.backward(t([1, 2, 8, 32], other), s), 'dOut', 'another Attention');
  });
});
