/*
 * Calls made at once, as a model's layers make them, or made without awaiting each other.
 * - They reach the queue in the order they were made (runtime/order.ts); once, each submitted
 *   when its preparation finished, so a call that compiled first landed after a later one.
 * - A tensor destroyed before a call using it submits is an AttentionInputError naming it.
 * - A pipeline, or a block mask, several calls need before it exists is compiled or built
 *   once and shared (every first call compiled its own: 80 calls with document masks took
 *   220 s on SwiftShader, 3.5 s now).
 * - Block masks are kept between calls (at most 64, least recently used first). A call binds
 *   its mask when it is prepared and submits later, in its turn; a mask evicted or replaced in
 *   between was freed under it once, and the call failed with a destroyed-buffer error. Now a
 *   prepared call pins what it bound until it has submitted.
 */
import { describe, expect, it } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import type { AttentionTensor } from '../src/api/tensor.js';
import { documentMask, slidingWindow, softcap } from '../src/mods/builtins.js';
import { maskFn, scoreFn } from '../src/mods/emit-js.js';
import { referenceForward, type HostTensor } from '../src/reference/forward.js';
import type { Buffers } from '../src/runtime/buffers.js';
import { ResultCache } from '../src/runtime/cache.js';
import { getPipeline } from '../src/runtime/pipelines.js';
import { AttentionInputError } from '../src/tensor/errors.js';
import { errorOf, maxErr, randomHost, rng, testSeed } from './helpers.js';

/** Runs `test` on a new WebGPU Attention, destroyed after. */
async function onGpu(test: (attn: Attention) => Promise<void>): Promise<void> {
  const attn = await createAttention({ backend: 'webgpu' });
  try {
    await test(attn);
  } finally {
    attn.destroy();
  }
}

/** Random Q, K, V of `dims`: the host data (the reference's input) and tensors of it. */
function randomQkv(attn: Attention, dims: readonly [number, number, number, number], rand: () => number) {
  const hosts = [0, 1, 2].map(() => randomHost(dims, rand)) as [HostTensor, HostTensor, HostTensor];
  return { hosts, tensors: hosts.map((h) => attn.tensor(Float32Array.from(h.data), dims)) as [AttentionTensor, AttentionTensor, AttentionTensor] };
}

describe('calls made without awaiting', () => {
  it('reach the queue in the order they were made, whatever each has to compile first', () =>
    onGpu(async (attn) => {
      const rand = rng(testSeed());
      const dims = [1, 2, 64, 32] as const;
      const {
        hosts: [q, k, v],
        tensors: [tq, tk, tv],
      } = randomQkv(attn, dims, rand);
      await (await attn.forward(tq, tk, tv)).out.read(); // the plain kernel compiled; softcap's and the window's not
      const err = (got: Float32Array, want: ArrayLike<number>) => maxErr(got, want).err;
      // A call that compiles writes X; the next, ready at once, reads X; a read of X made before either finished.
      const x = attn.tensor(new Float32Array(q.data.length), dims);
      const first = attn.forward(tq, tk, tv, { score: softcap(4), into: { out: x } });
      const second = attn.forward(x, tk, tv);
      const early = x.read();
      const [, r2] = await Promise.all([first, second]);
      const want1 = referenceForward(q, k, v, { score: scoreFn(softcap(4)) }).out;
      expect(err(await early, want1)).toBeLessThan(1e-5);
      const want2 = referenceForward({ ...q, data: await x.read() }, k, v).out;
      expect(err(await r2.out.read(), want2)).toBeLessThan(1e-5);
      // A read with nothing in line submits its copy at once: the tensor may be destroyed right after.
      const z = attn.tensor(Float32Array.from(q.data), dims);
      const reading = z.read();
      z.destroy();
      expect(err(await reading, q.data)).toBe(0);
      // Two calls into one tensor: it holds the later call's result.
      const y = attn.tensor(new Float32Array(q.data.length), dims);
      await Promise.all([attn.forward(tq, tk, tv, { mask: slidingWindow(7), into: { out: y } }), attn.forward(tq, tk, tv, { into: { out: y } })]);
      expect(err(await y.read(), referenceForward(q, k, v).out)).toBeLessThan(1e-5);
    }));
});

describe('a tensor destroyed while a call that uses it is under way', () => {
  it('is an AttentionInputError naming the tensor (it was a GPU validation error), and the Attention stays usable', () =>
    onGpu(async (attn) => {
      const rand = rng(testSeed());
      const dims = [1, 2, 64, 32] as const;
      const make = () => attn.tensor(Float32Array.from(randomHost(dims, rand).data), dims);
      const [q, k, v] = [make(), make(), make()];
      const call = attn.forward(q, k, v, { score: softcap(2) }); // compiles first: q is destroyed before it submits
      q.destroy();
      const e = await errorOf(() => call);
      expect(e).toBeInstanceOf(AttentionInputError);
      expect(e.message).toMatch(
        /^a tensor \("tensor \[1, 2, 64, 32\]"\) that the call reads or writes was destroyed before the call submitted its work \(its GPU work: attention\.forward /,
      );
      expect((await attn.forward(make(), k, v)).out).toBeDefined();
    }));
});

describe('pipelines compiled once for calls at once', () => {
  it('ten getPipeline calls for one new kernel: one compile, one pipeline; a failed compile is not kept', () =>
    onGpu(async (attn) => {
      const device = attn.device!;
      let compiles = 0;
      const original = device.createComputePipelineAsync.bind(device);
      device.createComputePipelineAsync = (d: GPUComputePipelineDescriptor) => (compiles++, original(d));
      const wgsl = `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(1) fn main() { x[0] = ${rng(testSeed())()}; }`; // new to this device
      const spec = { label: 'shared compile test', wgsl, workgroupSize: [1, 1, 1] as const, bindings: [], workgroupBytes: 0 };
      const pipelines = await Promise.all(Array.from({ length: 10 }, () => getPipeline(device, spec)));
      expect(compiles).toBe(1);
      expect(new Set(pipelines).size).toBe(1);
      const bad = { ...spec, label: 'bad kernel', wgsl: 'fn main( {' };
      const failures = await Promise.allSettled([getPipeline(device, bad), getPipeline(device, bad)]);
      expect(failures.map((f) => f.status)).toEqual(['rejected', 'rejected']);
      await getPipeline(device, bad).catch(() => {}); // compiled again, not a kept failure
      expect(compiles).toBe(3);
    }));
});

describe('block masks built once for calls at once', () => {
  it('ten calls with one new mask: one build, ten forward submits', () =>
    onGpu(async (attn) => {
      const rand = rng(testSeed());
      const dims = [1, 1, 96, 32] as const;
      const [tq, tk, tv] = randomQkv(attn, dims, rand).tensors;
      const ids = Array.from({ length: dims[2] }, (_, i) => Math.floor(i / 17));
      await (await attn.forward(tq, tk, tv, { mask: documentMask(ids.map((x) => x + 1000)) })).out.read(); // kernels compiled
      const queue = attn.device!.queue;
      let submits = 0;
      const submit = queue.submit.bind(queue);
      queue.submit = (buffers: Iterable<GPUCommandBuffer>) => (submits++, submit(buffers));
      const results = await Promise.all(Array.from({ length: 10 }, () => attn.forward(tq, tk, tv, { mask: documentMask(ids) })));
      queue.submit = submit;
      expect(submits).toBe(11);
      results.forEach((r) => r.out.destroy());
    }));
});

describe('ResultCache pins', () => {
  const fakeBuffers = () => {
    const released: string[] = [];
    const buffers = { keep: () => {}, release: (b: GPUBuffer) => released.push(b.label) } as unknown as Buffers;
    return { buffers, released };
  };
  const buf = (label: string) => ({ label }) as GPUBuffer;
  const none: Float32Array[] = [];

  it('an entry evicted or replaced while pinned is freed at its last unpin, not before', () => {
    const { buffers, released } = fakeBuffers();
    const cache = new ResultCache(buffers, 1);
    const a = buf('a');
    cache.set('x', a, none);
    cache.pin(a);
    cache.pin(a);
    cache.set('y', buf('b'), none); // evicts a: pinned twice
    expect(released).toEqual([]);
    cache.unpin(a);
    expect(released).toEqual([]);
    cache.unpin(a);
    expect(released).toEqual(['a']);
    cache.set('y', buf('c'), none); // replaces b, not pinned: freed now
    expect(released).toEqual(['a', 'b']);
  });

  it('a pinned entry still cached stays cached after its unpin', () => {
    const { buffers, released } = fakeBuffers();
    const cache = new ResultCache(buffers, 2);
    const a = buf('a');
    cache.set('x', a, none);
    cache.pin(a);
    cache.unpin(a);
    expect(released).toEqual([]);
    expect(cache.get('x', none)).toBe(a);
  });
});

describe('kept block masks, many calls at once', () => {
  it('80 calls, 70 with document tables of their own and 10 sharing one: every one runs, each as the reference', () =>
    onGpu(async (attn) => {
      const rand = rng(testSeed());
      const dims = [1, 1, 96, 32] as const;
      const {
        hosts: [q, k, v],
        tensors: [tq, tk, tv],
      } = randomQkv(attn, dims, rand);
      const table = () => {
        const ids: number[] = [];
        for (let i = 0, doc = 0; i < dims[2]; i++) ids.push(rand() < 0.1 ? ++doc : doc);
        return ids;
      };
      // 70 masks of their own, and one more table 10 times (each call builds it: the last replaces the others).
      const shared = table();
      const masks = [...Array.from({ length: 70 }, () => documentMask(table())), ...Array.from({ length: 10 }, () => documentMask(shared))];
      const results = await Promise.all(masks.map((mask) => attn.forward(tq, tk, tv, { mask })));
      for (const [i, r] of results.entries()) {
        const want = referenceForward(q, k, v, { mask: maskFn(masks[i]!) }).out;
        expect(maxErr(await r.out.read(), want).err, `call ${i}`).toBeLessThan(1e-5);
        r.out.destroy();
      }
    }));
});
