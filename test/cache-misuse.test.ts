/*
 * KV caches used the wrong way, on both backends, as a new user tried them: option
 * objects with a wrong layout or a misspelt key (once read as 'bnhd', or ignored, giving
 * silently wrong caches), a paged cache used after destroy() (once it kept answering),
 * a capacity no engine can allocate (once a raw RangeError on the CPU), and a decode
 * that is not awaited before an append that grows the cache (once a WebGPU validation
 * error: the old buffers were freed before the decode submitted its work); decode options
 * present but undefined, a paged cache's pools too large for the CPU, page ids refCount()
 * did not check.
 */
import { describe, expect, it } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import type { DecodeOptions } from '../src/api/decode.js';
import type { AppendOptions, KVCacheLike } from '../src/api/kv-cache-types.js';
import type { PagedKVCache, PagedKVCacheOptions } from '../src/api/paged-cache.js';
import { AttentionInputError, AttentionLimitError } from '../src/tensor/errors.js';
import { errorOf, maxErr } from './helpers.js';

const D = 32;
const H = 2;

/** Distinct, non-symmetric values, so a layout mix-up changes the result. */
const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed + i * 0.37));

async function expectError(fn: () => unknown, type: new (...a: never[]) => Error, text: RegExp | string): Promise<void> {
  const err = await errorOf(fn);
  expect(err, String(text)).toBeInstanceOf(type);
  expect(err.message).toMatch(text);
}

function cases(name: string, open: () => Promise<Attention>) {
  const caches = (attn: Attention): [string, KVCacheLike][] => [
    ['contiguous', attn.kvCache({ batch: 1, heads: H, headDim: D, capacity: 8 })],
    ['streaming', attn.kvCache({ batch: 1, heads: H, headDim: D, streaming: { sinks: 1, window: 8 } })],
    ['paged', attn.pagedKVCache({ batch: 1, heads: H, headDim: D, pageSize: 4, numPages: 8 })],
  ];

  it(`append() checks its options and changes nothing when they are wrong (${name})`, async () => {
    const attn = await open();
    const kv = values(H * 3 * D, 1);
    for (const [kind, cache] of caches(attn)) {
      const bad: [AppendOptions, string][] = [
        [{ layout: 'BHND' as never }, 'layout must be one of bhnd, bnhd, got "BHND" (did you mean \'bhnd\'?)'],
        [{ count: 1 } as never, "append() options: unknown option 'count' (did you mean 'counts'?)"],
        [{ counts: '1' as never }, 'counts must be a number or an array'],
      ];
      for (const [opts, text] of bad) await expectError(() => cache.append(kv, kv, opts), AttentionInputError, text);
      expect(cache.lengths, kind).toEqual([0]);
      const t = attn.tensor(kv, [1, H, 3, D]);
      await expectError(() => cache.append(t, t, { layout: 'bnhd' }), AttentionInputError, "layout 'bnhd' is for host data");
      cache.append(t, t, { layout: 'bhnd' });
      expect(cache.lengths, kind).toEqual([3]);
      cache.destroy();
    }
    attn.destroy();
  });

  it(`append({ layout: 'bnhd' }) reads host data in that order (${name})`, async () => {
    const attn = await open();
    const [k, v] = [values(H * 5 * D, 2), values(H * 5 * D, 3)];
    // The same tokens in 'bnhd' order: [B, N, H, D].
    const toBnhd = (x: Float32Array) => {
      const y = new Float32Array(x.length);
      for (let h = 0; h < H; h++) for (let n = 0; n < 5; n++) y.set(x.subarray((h * 5 + n) * D, (h * 5 + n + 1) * D), (n * H + h) * D);
      return y;
    };
    const a = attn.kvCache({ batch: 1, heads: H, headDim: D });
    const b = attn.kvCache({ batch: 1, heads: H, headDim: D });
    a.append(k, v);
    b.append(toBnhd(k), toBnhd(v), { layout: 'bnhd' });
    const q = attn.tensor(values(H * D, 4), [1, H, 1, D]);
    const [ra, rb] = [await attn.decode(q, a), await attn.decode(q, b)];
    expect(maxErr(await rb.out.read(), await ra.out.read()).err).toBe(0);
    attn.destroy();
  });

  it(`decode() names itself and its own options in messages (${name})`, async () => {
    const attn = await open();
    const cache = attn.kvCache({ batch: 1, heads: H, headDim: D });
    cache.append(values(H * 2 * D, 5), values(H * 2 * D, 6));
    const q = attn.tensor(values(H * D, 7), [1, H, 1, D]);
    const decode = (opts: unknown) => attn.decode(q, cache, opts as DecodeOptions);
    await expectError(() => decode({ cnts: 1 }), AttentionInputError, "decode() options: unknown option 'cnts' (did you mean 'counts'?)");
    await expectError(() => decode({ queryOffset: 1 }), AttentionInputError, 'decode() sets queryOffset itself');
    await expectError(() => decode({ frobnicate: 1 }), AttentionInputError, "decode() options: unknown option 'frobnicate'");
    // forward()'s and backward()'s options are taken (backward's unused), as forward() takes them.
    expect((await decode({ tableGrads: false, returnLse: true })).lse).toBeDefined();
    // Present but undefined is not set, as forward() reads it (once: "decode() sets causal itself").
    expect((await decode({ causal: undefined, queryOffset: undefined, keyOffset: undefined })).out).toBeDefined();
    await expectError(() => decode({ counts: 'all' }), AttentionInputError, 'counts must be a number or an array');
    await expectError(() => decode(7), AttentionInputError, 'decode() options must be a plain object or undefined');
    attn.destroy();
  });

  it(`refCount() takes page ids only (${name})`, async () => {
    const attn = await open();
    const cache = attn.pagedKVCache({ batch: 1, heads: H, headDim: D, pageSize: 4, numPages: 4 });
    expect(cache.refCount(3)).toBe(0);
    for (const bad of [-1, 4, 1.5, NaN])
      await expectError(() => cache.refCount(bad), AttentionInputError, `page must be a page id, an integer in [0, 4), got ${bad}`);
    attn.destroy();
  });

  it(`pagedKVCache() refuses unknown and missing options (${name})`, async () => {
    const attn = await open();
    const base = { heads: H, headDim: D, pageSize: 4, numPages: 4 };
    const paged = (opts: unknown) => attn.pagedKVCache(opts as PagedKVCacheOptions);
    await expectError(() => paged({ ...base, dType: 'f16' }), AttentionInputError, "pagedKVCache() options: unknown option 'dType' (did you mean 'dtype'?)");
    await expectError(() => paged({ ...base, numPages: undefined }), AttentionInputError, 'numPages is missing');
    await expectError(() => paged({ ...base, pageSize: 0 }), AttentionInputError, 'pageSize must be a positive integer, got 0');
    await expectError(() => paged({ ...base, batch: -1 }), AttentionInputError, 'batch must be a non-negative integer');
    await expectError(() => paged({ ...base, dtype: 'bf16' }), AttentionInputError, "dtype must be 'f32' or 'f16'");
    await expectError(() => paged(undefined), AttentionInputError, 'heads is missing');
    expect(paged({ ...base, batch: 2, dtype: 'f16' }).lengths).toEqual([0, 0]);
    attn.destroy();
  });

  it(`a selection's destroy() naming a freed sequence frees none of them (${name})`, async () => {
    const attn = await open();
    const cache = attn.pagedKVCache({ batch: 2, heads: H, headDim: D, pageSize: 4, numPages: 4 });
    const both = cache.select([0, 1]);
    cache.free(1);
    await expectError(() => both.destroy(), AttentionInputError, 'sequence 1');
    expect(cache.sequences()).toEqual([0]); // 0 stays (it was freed before 1 was found missing, once)
    attn.destroy();
  });

  it(`a destroyed cache refuses every use; destroying it again does nothing (${name})`, async () => {
    const attn = await open();
    const kv = values(H * D, 8);
    const q = attn.tensor(values(H * D, 9), [1, H, 1, D]);
    for (const [kind, cache] of caches(attn)) {
      cache.append(kv, kv);
      cache.destroy();
      const text = kind === 'paged' ? 'this paged KV cache was destroyed' : 'this KV cache was destroyed';
      const uses: [string, () => unknown][] = [
        ['lengths', () => cache.lengths],
        ['capacity', () => ('capacity' in cache ? cache.capacity : cache.lengths)],
        ['append', () => cache.append(kv, kv)],
        ['truncate', () => cache.truncate(0)],
        ['reset', () => cache.reset()],
        ['decode', () => attn.decode(q, cache)],
      ];
      if (kind === 'paged') {
        const p = cache as ReturnType<Attention['pagedKVCache']>;
        uses.push(
          ['batch', () => p.batch],
          ['sequences', () => p.sequences()],
          ['create', () => p.create()],
          ['fork', () => p.fork(0)],
          ['select', () => p.select([0])],
          ['freePages', () => p.freePages],
          ['k', () => p.k],
          ['refCount', () => p.refCount(0)],
        );
      }
      for (const [what, use] of uses)
        await expectError(use, AttentionInputError, text).catch((e: Error) => Promise.reject(new Error(`${kind} ${what}: ${e.message}`)));
      expect(() => cache.destroy()).not.toThrow();
    }
    attn.destroy();
  });

  it(`a capacity too large for the backend is an AttentionLimitError (${name})`, async () => {
    const attn = await open();
    await expectError(() => attn.kvCache({ batch: 1, heads: 8, headDim: 128, capacity: 1e9 }), AttentionLimitError, /kv-cache K needs/);
    // Once a raw RangeError on the CPU.
    await expectError(() => attn.pagedKVCache({ heads: 8, headDim: 128, pageSize: 16, numPages: 2 ** 26 }), AttentionLimitError, /pool needs|maxBufferSize/);
    attn.destroy();
  });

  it(`while a decode has not submitted, changes that could overwrite what it reads throw; appends and destroy wait (${name})`, async () => {
    const attn = await open();
    const kv = values(H * 4 * D, 13);
    const q = attn.tensor(values(H * D, 14), [1, H, 1, D]);
    for (const [kind, cache] of caches(attn)) {
      cache.append(kv, kv);
      const want = await (await attn.decode(q, cache)).out.read();
      const pending = attn.decode(q, cache);
      const blocked: [string, () => unknown][] = [
        ['truncate', () => cache.truncate(1)],
        ['reset', () => cache.reset()],
      ];
      if (kind === 'streaming') blocked.push(['append', () => cache.append(kv, kv)]);
      if (kind === 'paged') blocked.push(['free', () => (cache as PagedKVCache).free(0)]);
      // Checked with no await in between: on the CPU a decode completes within a few microtasks.
      for (const [what, change] of blocked) {
        let err: unknown;
        try {
          change();
        } catch (e) {
          err = e;
        }
        expect(err, `${kind} ${what}`).toBeInstanceOf(AttentionInputError);
        expect((err as Error).message, `${kind} ${what}`).toContain('await attn.decode(…) first');
        expect((err as Error).message, `${kind} ${what}: names itself`).toMatch(new RegExp(`^${what}\\b`));
      }
      expect(cache.lengths, kind).toEqual([4]);
      if (kind !== 'streaming') cache.append(kv, kv); // rows past what the decode reads
      cache.destroy(); // frees the memory once the decode has submitted
      expect(maxErr(await (await pending).out.read(), want).err, kind).toBe(0);
    }
    attn.destroy();
  });

  it(`a decode not awaited before an append that grows the cache gives the awaited result (${name})`, async () => {
    const attn = await open();
    const [k, v] = [values(H * 8 * D, 10), values(H * 8 * D, 11)];
    const q = attn.tensor(values(H * D, 12), [1, H, 1, D]);
    // The pending decode comes first, so that it still waits for its kernel to compile when the append grows the cache.
    const cache = attn.kvCache({ batch: 1, heads: H, headDim: D, capacity: 8 });
    cache.append(k, v);
    const pending = attn.decode(q, cache);
    cache.append(k, v); // grows to 16 slots while the decode still holds the 8-slot buffers
    expect(cache.capacity).toBe(16);
    const got = await (await pending).out.read();
    const awaited = attn.kvCache({ batch: 1, heads: H, headDim: D, capacity: 8 });
    awaited.append(k, v);
    expect(maxErr(got, await (await attn.decode(q, awaited)).out.read()).err).toBe(0);
    expect(cache.lengths).toEqual([16]);
    attn.destroy();
  });
}

describe('KV caches used the wrong way', () => {
  cases('the CPU', () => createAttention({ backend: 'cpu', cpu: { threads: 0 } }));
  cases('WebGPU', () => createAttention({ backend: 'webgpu' }));
});
