/*
 * attn.destroy() ends an Attention: every later use of it, of its tensors and of its
 * caches throws AttentionInputError saying it was destroyed (not a device-lost error
 * that points at recover(), and not a silent result on the CPU); a second destroy()
 * does nothing. Both backends.
 */
import { describe, expect, it } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import { AttentionInputError } from '../src/tensor/errors.js';
import { errorOf } from './helpers.js';

const DESTROYED = /this Attention was destroyed \(attn\.destroy\(\)\)/;

function cases(name: string, open: () => Promise<Attention>) {
  it(`after destroy() on ${name}, every use throws that it was destroyed`, async () => {
    const attn = await open();
    const dims = [1, 2, 8, 32];
    const data = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i));
    const [q, k, v] = [0, 1, 2].map(() => attn.tensor(data, dims));
    const cache = attn.kvCache({ batch: 1, heads: 2, headDim: 32, capacity: 16 });
    const streaming = attn.kvCache({ batch: 1, heads: 2, headDim: 32, streaming: { sinks: 1, window: 4 } });
    const paged = attn.pagedKVCache({ heads: 2, headDim: 32, pageSize: 4, numPages: 4 });
    const seq = paged.create();
    cache.append(attn.tensor(data, dims), attn.tensor(data, dims));
    const before = await attn.forward(q!, k!, v!, { returnLse: true });
    attn.destroy();

    const uses: [string, () => unknown][] = [
      ['forward', () => attn.forward(q!, k!, v!)],
      ['backward', () => attn.backward(q!, { q: q!, k: k!, v: v!, out: before.out, lse: before.lse })],
      ['combine', () => attn.combine([{ out: before.out, lse: before.lse! }])],
      ['decode', () => attn.decode(attn.tensor(data.subarray(0, 64), [1, 2, 1, 32]), cache)],
      ['tensor', () => attn.tensor(data, dims)],
      ['read', () => before.out.read()],
      ['kvCache', () => attn.kvCache({ batch: 1, heads: 2, headDim: 32 })],
      ['pagedKVCache', () => attn.pagedKVCache({ batch: 1, heads: 2, headDim: 32, pageSize: 4, numPages: 4 })],
      ['append', () => cache.append(data.subarray(0, 64), data.subarray(0, 64))],
      ['truncate', () => cache.truncate(0)],
      ['reset', () => cache.reset()],
      ['streaming reset', () => streaming.reset()],
      ['paged create', () => paged.create()],
      ['paged fork', () => paged.fork(seq)],
      ['paged sequences', () => paged.sequences()],
      ['gpuBuffer', () => q!.gpuBuffer],
      ['recover', () => attn.recover()],
    ];
    for (const [what, use] of uses) {
      const e = await errorOf(async () => use());
      expect(e, what).toBeInstanceOf(AttentionInputError);
      expect(e.message, what).toMatch(DESTROYED);
    }
    expect(() => attn.destroy()).not.toThrow();
  });

  // (The CPU's calls under way are on its worker threads: test/cpu-workers.test.ts, where the tests have them.)
  if (name === 'the CPU') return;
  it(`destroy() on ${name} with calls under way: they reject saying it was destroyed`, async () => {
    const attn = await open();
    const data = Float32Array.from({ length: 2048 }, (_, i) => Math.cos(i));
    const [q, k, v] = [0, 1, 2].map(() => attn.tensor(data, [1, 1, 64, 32]));
    const calls = [attn.forward(q!, k!, v!, { causal: true }), attn.forward(q!, k!, v!, { causal: true, returnLse: true })];
    attn.destroy();
    for (const call of calls) {
      const e = await errorOf(() => call);
      expect(e).toBeInstanceOf(AttentionInputError);
      expect(e.message).toMatch(DESTROYED);
    }
  });
}

describe('destroy', () => {
  cases('the CPU', () => createAttention({ backend: 'cpu' }));
  cases('WebGPU', () => createAttention({ backend: 'webgpu' }));
  // A device the caller passed is not destroyed with the Attention: the calls under way must end all the same.
  cases("WebGPU on the caller's device", async () => createAttention({ backend: { device: (await createAttention({ backend: 'webgpu' })).device! } }));
});
