/*
 * Split-K inside a split call: a call whose K/V exceed one storage binding runs in
 * chunks (kernels/split.ts splitCall), and each chunk must still run its keys in
 * ranges merged by a combine (decoding over a long cache is the case: f32 B=8, Hkv=8,
 * D=128 at 64k keys binds 2 GiB per tensor). On SwiftShader, a device reporting a small
 * maxStorageBufferBindingSize makes small decoding calls split; each test asserts the
 * plan that ran (chunks AND key ranges, from the program's steps and labels) and the
 * results against the float64 reference. Control: the same call on the unlimited device.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import type { WebGpuBackend } from '../src/api/backends.js';
import type { ForwardOptions } from '../src/api/options.js';
import { learnedSinks } from '../src/mods/builtins.js';
import type { HostTensor } from '../src/reference/forward.js';
import type { Caps } from '../src/kernels/call.js';
import { forwardLayout } from '../src/kernels/forward-program.js';
import type { Program } from '../src/kernels/program.js';
import { getGpu } from '../src/runtime/device.js';
import { dimsOf, type Layout } from '../src/tensor/shape.js';
import { checkAgainstReference, permute, randomHost, rng, testSeed } from './helpers.js';
import { plannedCall, type Dims } from './forward-check.js';

/** A device whose limits report `maxStorageBufferBindingSize` bytes; Dawn's methods still run on the real one. */
async function deviceBinding(maxStorageBufferBindingSize: number): Promise<GPUDevice> {
  const adapter = await (await getGpu())!.requestAdapter();
  const real = await adapter!.requestDevice({ label: 'split-K chunks test' });
  const limits: Record<string, number> = {};
  for (const key in real.limits) limits[key] = (real.limits as unknown as Record<string, number>)[key]!;
  expect(limits.minStorageBufferOffsetAlignment).toBeGreaterThan(0); // every limit copied, not just the one made smaller
  limits.maxStorageBufferBindingSize = maxStorageBufferBindingSize;
  return new Proxy(real, {
    get: (target, prop) => {
      if (prop === 'limits') return { ...limits };
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Runs one forward on `on` (Q and O in `layout`), returns the program it ran and the
 * mismatch against the float64 reference (undefined when within tolerance).
 */
async function run(on: Attention, qDims: Dims, kvDims: Dims, opts: ForwardOptions, layout: Layout = 'bhnd') {
  const backend = on.impl as WebGpuBackend;
  const spy = vi.spyOn(backend, 'forwardProgram');
  const seed = testSeed();
  const rand = rng(seed);
  const [q, k, v] = [randomHost(qDims, rand), randomHost(kvDims, rand), randomHost(kvDims, rand)];
  // Q (and O) in `layout`; K and V bhnd (each of their heads contiguous, so a head group binds alone).
  const up = (h: HostTensor, l: Layout) => on.tensor(l === 'bhnd' ? Float32Array.from(h.data) : permute(h.data, h.shape), dimsOf(h.shape), { layout: l });
  const t = [up(q, layout), up(k, 'bhnd'), up(v, 'bhnd')];
  try {
    const { out, lse } = await on.forward(t[0]!, t[1]!, t[2]!, { ...opts, returnLse: true });
    const o = await out.read();
    const l = await lse!.read();
    [out, lse!].forEach((x) => x.destroy());
    const program = spy.mock.results.at(-1)!.value as Program;
    const got = layout === 'bhnd' ? o : permute(o, q.shape, true);
    const problem = checkAgainstReference(got, l, q, k, v, opts.causal ?? false, { sinks: opts.sinks?.logits });
    return { program, mismatch: problem && `${problem} [seed ${seed}]` };
  } finally {
    t.forEach((x) => x.destroy());
    spy.mockRestore();
  }
}

/** The fused steps of a program and its combines (one per chunk when split with key ranges). */
const stepsOf = (p: Program) => ({
  fused: p.steps.filter((s) => !s.spec.label.includes('combine')),
  combines: p.steps.filter((s) => s.spec.label.includes('combine')),
});

describe('split-K in calls split into chunks (a device binding little)', () => {
  let full: Attention;
  beforeAll(async () => {
    full = await createAttention({ backend: 'webgpu', poisonOutputs: true });
  });
  afterAll(() => full?.destroy());

  it('decoding, K/V split by batch: every chunk runs key ranges, GQA-packed, its own combine; sinks join once per row', async () => {
    // B=4, Hkv=2, 1024 keys of D=64: 512 KiB of K per batch entry, 2 MiB in all; 768 KiB binds one entry.
    const small = await createAttention({ backend: { device: await deviceBinding(768 * 1024) }, poisonOutputs: true });
    try {
      const caps: Caps = (small.impl as WebGpuBackend).runner.caps;
      expect(caps.maxBindingBytes).toBe(768 * 1024);
      for (const opts of [{}, { sinks: learnedSinks([0.5, -1, 2, 0, 1, -3, 0.25, 4]) }] as ForwardOptions[]) {
        const { program, mismatch } = await run(small, [4, 8, 1, 64], [4, 2, 1024, 64], opts);
        expect(mismatch).toBeUndefined();
        const { fused, combines } = stepsOf(program);
        expect(fused.length).toBe(4); // one chunk per batch entry…
        expect(combines.length).toBe(4); // …each merged by its own combine, right after it
        expect(program.steps.map((s) => s.spec.label.includes('combine'))).toEqual([false, true, false, true, false, true, false, true]);
        const ranges = fused[0]!.grid[0] / (fused[0]!.values.qTiles as number);
        expect(ranges).toBeGreaterThan(1); // …and key ranges in each
        expect(fused.every((s) => s.grid[0] === ranges * (s.values.qTiles as number) && s.grid[1] === 2)).toBe(true); // packed: one workgroup per K/V head
        expect(combines.map((s) => s.values.splits)).toEqual([ranges, ranges, ranges, ranges]);
        expect(program.labels[0]).toMatch(new RegExp(`×4 chunks ×${ranges} key ranges$`));
        expect(program.labels[1]).toMatch(/combine.* ×4 chunks$/);
        // The parts are one chunk's (8 rows of 64 floats per range), reused by every chunk, within one binding.
        const align = caps.limits.minStorageBufferOffsetAlignment;
        const oParts = program.buffers.oParts!;
        expect(oParts.role === 'scratch' && oParts.bytes).toBe(ranges * Math.ceil((8 * 64 * 4) / align) * align);
        expect(oParts.role === 'scratch' && oParts.bytes).toBeLessThanOrEqual(caps.maxBindingBytes);
        // Control: the unlimited device runs the same call whole (one chunk), with the same key ranges.
        const whole = await run(full, [4, 8, 1, 64], [4, 2, 1024, 64], opts);
        expect(whole.mismatch).toBeUndefined();
        expect(whole.program.labels[0]).not.toMatch(/chunks/);
      }
    } finally {
      small.destroy();
    }
  });

  it('16 rows, K/V split by head group (unpacked, chunks from head 4 and LSE row 64), causal, forced ranges, a strided Q', async () => {
    // B=2, Hkv=2, 1024 keys of D=64: 256 KiB of K per K/V head; 300 KiB binds one head (and its 4 query heads).
    // 4 heads × 16 rows per chunk: the second chunk's LSE (and row stats) start 256 bytes in, an aligned offset.
    const small = await createAttention({ backend: { device: await deviceBinding(300 * 1024) }, poisonOutputs: true });
    try {
      for (const layout of ['bhnd', 'bnhd'] as const) {
        const { program, mismatch } = await run(small, [2, 8, 16, 64], [2, 2, 1024, 64], { causal: true, keySplits: 3 }, layout);
        expect(mismatch, layout).toBeUndefined();
        const { fused, combines } = stepsOf(program);
        expect(fused.map((s) => [s.values.batchBase, s.values.headBase])).toEqual([
          [0, 0],
          [0, 4],
          [1, 0],
          [1, 4],
        ]);
        expect(combines.map((s) => [s.values.b0, s.values.h0, s.values.chunkHeads, s.values.splits])).toEqual([
          [0, 0, 4, 3],
          [0, 4, 4, 3],
          [1, 0, 4, 3],
          [1, 4, 4, 3],
        ]);
        expect(combines.map((s) => s.values.lseOff)).toEqual([0, 64, 128, 192]);
        expect(program.labels[0]).toMatch(/×4 chunks ×3 key ranges$/);
      }
    } finally {
      small.destroy();
    }
  });

  it('f16 decoding split by batch: the same bits as the whole call with the same key ranges (the combine writes f16 per chunk)', async () => {
    // f16 halves the bytes: 256 KiB of K per batch entry; 384 KiB binds one.
    const small = await createAttention({ backend: { device: await deviceBinding(384 * 1024) }, poisonOutputs: true });
    try {
      const results: Float32Array[][] = [];
      for (const on of [small, full]) {
        const spy = vi.spyOn(on.impl as WebGpuBackend, 'forwardProgram');
        const t = (
          [
            [4, 8, 1, 64],
            [4, 2, 1024, 64],
            [4, 2, 1024, 64],
          ] as Dims[]
        ).map((d, i) => {
          const r = rng(i + 1); // the same inputs on both devices
          return on.tensor(
            Float32Array.from({ length: d.reduce((a, b) => a * b) }, () => r() * 2 - 1),
            d,
            { dtype: 'f16' },
          );
        });
        // The fused kernel on both (a call split into chunks never runs on the decode kernel).
        const { out, lse } = await on.forward(t[0]!, t[1]!, t[2]!, { keySplits: 4, returnLse: true, decodeKernel: false });
        results.push([await out.read(), await lse!.read()]);
        [...t, out, lse!].forEach((x) => x.destroy());
        const label = (spy.mock.results.at(-1)!.value as Program).labels[0]!;
        expect(label).toMatch(/f16.* ×4 key ranges$/);
        expect(label.includes('×4 chunks')).toBe(on === small); // the control runs whole
        spy.mockRestore();
      }
      expect(results[0]![0]!.some(Number.isNaN)).toBe(false); // every element written (outputs were poisoned)
      expect(Array.from(results[0]![0]!)).toEqual(Array.from(results[1]![0]!));
      expect(Array.from(results[0]![1]!)).toEqual(Array.from(results[1]![1]!));
    } finally {
      small.destroy();
    }
  });

  it('plan: the parts of every range fit one binding, else fewer ranges (a chunk of many rows, contiguous or paged)', async () => {
    const small = await createAttention({ backend: { device: await deviceBinding(64 * 1024) }, poisonOutputs: true });
    try {
      const caps = (small.impl as WebGpuBackend).runner.caps;
      const fits = (l: ReturnType<typeof forwardLayout>) =>
        !l.parts || l.ranges.length * Math.max(l.parts.oStride, l.parts.statsStride) <= caps.maxBindingBytes;
      // Decoding split by batch: 8 ranges asked, all fit (one chunk's parts are 2 KiB).
      const decode = forwardLayout(plannedCall([4, 8, 1, 64], [4, 1, 200, 64], { keySplits: 4 }), caps);
      expect([decode.chunks.length, decode.ranges.length, fits(decode)]).toEqual([4, 4, true]);
      // Rows split into runs of Q tiles: a chunk's Q is near the limit, so two ranges' parts would not fit.
      const rows = forwardLayout(plannedCall([1, 1, 600, 64], [1, 1, 64, 64], { keySplits: 4 }), caps);
      expect(rows.chunks.length).toBeGreaterThan(1);
      expect([rows.ranges.length, rows.parts]).toEqual([1, undefined]);
      // Few rows (Q of a chunk 20 KiB): 4 ranges asked, the parts of at most 3 fit 64 KiB.
      const few = forwardLayout(plannedCall([4, 1, 80, 64], [4, 1, 200, 64], { keySplits: 4 }), caps);
      expect(few.chunks.length).toBe(4);
      expect(few.parts!.oStride).toBe(80 * 64 * 4);
      expect(few.ranges.length).toBeGreaterThan(1);
      expect(few.ranges.length).toBeLessThanOrEqual(3);
      expect(fits(few)).toBe(true);
      // Paged: the pools bind whole and the chunks split batches by their Q (62 KiB each), so one range.
      const pages = {
        pageSize: 16,
        numPages: 8,
        lengths: [64, 64],
        table: [
          [0, 1, 2, 3],
          [4, 5, 6, 7],
        ],
      };
      const paged = forwardLayout(plannedCall([2, 8, 31, 64], [2, 1, 64, 64], { keySplits: 4, pages }), caps);
      expect([paged.chunks.length, paged.pack, paged.ranges.length, fits(paged)]).toEqual([2, 8, 1, true]);
    } finally {
      small.destroy();
    }
  });
});
