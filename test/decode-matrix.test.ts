/*
 * The tensor-core decode kernel (kernels/decode-matrix.ts). SwiftShader has no subgroup
 * matrices and no f16, so here its matrix operations are emulated in workgroup memory
 * (createAttention({ tensorCores: 'emulate' })), and the emulation reads NaN for a matrix
 * load that crosses the end of K or V (the H200 moves such a load whole): ragged key counts,
 * short last ranges, causal chunks, positions, GQA groups up to 16 rows, bnhd, paged K/V on
 * shuffled pages, inf and NaN in V and K, against the float64 reference with the f16 rule.
 * The real builtins run on the GPU machine (docs/PERF.md).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { WebGpuBackend } from '../src/api/backends.js';
import { createAttention, type Attention } from '../src/api/attention.js';
import type { ForwardOptions } from '../src/api/options.js';
import type { Caps } from '../src/kernels/call.js';
import { matrixDecodeKernel, matrixDecodeWorkgroupBytes } from '../src/kernels/decode-matrix.js';
import { decodeLayout, decodeRanges } from '../src/kernels/decode-program.js';
import type { Program } from '../src/kernels/program.js';
import type { Layout } from '../src/tensor/shape.js';
import { checkF16 } from './f16-check.js';
import { checkForward, plannedCall, type Dims } from './forward-check.js';
import { checkPaged } from './paged-check.js';

const caps: Caps = {
  limits: {
    maxComputeWorkgroupStorageSize: 49152,
    maxComputeInvocationsPerWorkgroup: 1024,
    maxComputeWorkgroupsPerDimension: 65535,
    minStorageBufferOffsetAlignment: 256,
    maxBufferSize: 2 ** 30,
  },
  maxBindingBytes: 2 ** 27,
  subgroupWidth: 32,
  tuned: new Map(),
  matrix: { shape: { m: 16, n: 16, k: 16 }, subgroupSize: 32 },
};
const f16 = (extra: object = {}) => ({ dtype: 'f16' as const, ...extra });
const decodeShape = (extra: object, kv: Dims = [1, 8, 32768, 128]) => plannedCall([1, 32, 1, 128], kv, f16(extra));

describe('tensor-core decode plan', () => {
  it('takes f16 decoding calls where the device offers matrices; the SIMT kernel keeps the rest', () => {
    const layout = decodeLayout(decodeShape({}), caps)!;
    expect(layout.matrix).toMatchObject({ keys: 256, pack: 4, seqQ: 1 });
    expect(layout.ranges.every(([lo, hi]) => lo % 16 === 0 && hi - lo <= 256)).toBe(true);
    expect(decodeLayout(plannedCall([1, 32, 1, 128], [1, 8, 32768, 128]), caps)!.matrix).toBeUndefined(); // f32
    expect(decodeLayout(decodeShape({ tensorCores: false }), caps)!.matrix).toBeUndefined();
    expect(decodeLayout(decodeShape({}), { ...caps, matrix: undefined })!.matrix).toBeUndefined();
    expect(decodeLayout(decodeShape({ decodeKernel: { threads: 256, lanes: 4, loadBytes: 256 } }), caps)!.matrix).toBeUndefined(); // a SIMT tile
    expect(decodeLayout(decodeShape({}, [1, 8, 12, 128]), caps)!.matrix).toBeUndefined(); // fewer keys than a tile
    // A MatrixTile's keys are the keys per range; prefetch issues the V loads before the softmax.
    expect(decodeLayout(decodeShape({ tensorCores: { subgroups: 8, keys: 512, prefetch: true } }), caps)!.matrix).toMatchObject({ keys: 512, valuesEarly: true });
    // Forced tensor cores where the decode kernel cannot take them: the forward's tensor-core kernel gets the call.
    expect(decodeLayout(decodeShape({ tensorCores: { subgroups: 8, keys: 16 } }), caps)).toBeUndefined();
    // Less workgroup memory: fewer keys per range.
    const small = { ...caps, limits: { ...caps.limits, maxComputeWorkgroupStorageSize: 24576 } };
    expect(decodeLayout(decodeShape({}), small)!.matrix!.keys).toBe(128);
    expect(decodeLayout(decodeShape({}), { ...caps, limits: { ...caps.limits, maxComputeWorkgroupStorageSize: 16384 } })!.matrix).toBeUndefined();
  });

  it('ranges start at multiples of 16 and hold at most the keys a range takes', () => {
    for (const [n, keys, forced] of [
      [1000, 64, undefined],
      [1000, 256, 7],
      [17, 128, undefined],
      [32768, 256, undefined],
    ] as const) {
      const r = decodeRanges(n, 8, keys, 256, forced, 16);
      expect(r[0]![0]).toBe(0);
      expect(r.at(-1)![1]).toBe(n);
      for (const [lo, hi] of r) {
        expect(lo % 16).toBe(0);
        expect(hi - lo).toBeLessThanOrEqual(keys);
      }
    }
  });

  it('declares the workgroup memory its WGSL takes, every variable a 16-byte multiple', () => {
    const bytes = { f16: 2, f32: 4, 'atomic<u32>': 4 } as const;
    for (const [d, emulate, pack, seqQ] of [
      [128, false, 4, 1],
      [64, true, 3, 5],
      [32, false, 16, 1],
    ] as const) {
      const cfg = { headDim: d, seqQ, pack, causal: true, keys: 128, shape: caps.matrix!.shape, subgroupSize: 32, emulate };
      const spec = matrixDecodeKernel(cfg);
      const sizes = [...spec.wgsl.matchAll(/var<workgroup> \w+: array<(f16|f32|atomic<u32>), (\d+)>/g)].map(([, t, n]) => bytes[t as keyof typeof bytes] * Number(n));
      expect(sizes.length).toBe(emulate ? 9 : 6); // qS sS sc pS lsums rowMax, and the emulation's mA mB xch
      for (const b of sizes) expect(b % 16).toBe(0);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(spec.workgroupBytes);
      expect(spec.workgroupBytes).toBe(matrixDecodeWorkgroupBytes(cfg));
    }
  });
});

describe('tensor-core decode, matrices emulated (SwiftShader)', () => {
  let attn: Attention;
  beforeAll(async () => {
    attn = await createAttention({ backend: 'webgpu', poisonOutputs: true, tensorCores: 'emulate' });
  });
  afterAll(() => attn?.destroy());
  const label = /^attention\.decode\.matrix .*emulated/;
  const check = (qDims: Dims, kvDims: Dims, opts: ForwardOptions, layout: Layout = 'bhnd', edit?: (k: Float32Array, q: Float32Array, v: Float32Array) => void) =>
    checkF16(attn, qDims, kvDims, opts, { label, layout, edit });
  const tile = (keys: number, prefetch = false) => ({ tensorCores: { subgroups: 1, keys, prefetch } });

  it('GQA 4:1, one query row, ragged keys (the last tile moved back inside K), one and several ranges', async () => {
    await check([1, 8, 1, 64], [1, 2, 200, 64], tile(64)); // ranges of 64: the last holds 8 keys
    await check([1, 8, 1, 64], [1, 2, 200, 64], { ...tile(64, true), keySplits: 3 }); // V loads before the softmax
    await check([2, 2, 1, 32], [2, 1, 37, 32], {}); // the default range, fewer keys than it holds
  });

  it('causal chunks (Nq = 3 and 4 rows of up to 16), positions with ragged offsets, bnhd', async () => {
    await check([1, 4, 3, 32], [1, 1, 100, 32], { ...tile(32), causal: true });
    await check([1, 8, 2, 32], [1, 1, 77, 32], { ...tile(64), causal: true }); // 16 rows: every row of the matrix real
    await check([2, 4, 2, 64], [2, 2, 150, 64], { ...tile(64), causal: true, queryOffset: [60, 148], keyOffset: 0 });
    await check([1, 2, 1, 64], [1, 2, 90, 64], tile(64), 'bnhd');
  });

  it('inf and NaN in V reach only the rows that see their key; NaN in K makes its rows NaN', async () => {
    // Head 0: key 50 inf (row 0 of the chunk is causally masked from it), key 40 NaN (seen by both rows).
    await check([1, 2, 2, 32], [1, 1, 52, 32], { ...tile(32), causal: true }, 'bhnd', (_k, _q, v) => {
      v[51 * 32 + 3] = Infinity;
      v[40 * 32 + 9] = NaN;
    });
    await check([1, 2, 1, 32], [1, 1, 70, 32], tile(32), 'bhnd', (k) => {
      k[33 * 32 + 1] = NaN;
    });
  });

  it('paged K/V: shuffled pages of 16 and 32 rows, ragged lengths (one shorter than a tile), GQA, a causal chunk', async () => {
    await checkPaged(attn, { hq: 4, hkv: 2, d: 32, nq: 1, lens: [300, 37, 5, 129], pageSize: 16, half: true, f16Rule: true, opts: f16(tile(64)) });
    await checkPaged(attn, { hq: 4, hkv: 1, d: 64, nq: 3, lens: [200, 90], pageSize: 32, half: true, f16Rule: true, opts: f16({ ...tile(64), causal: true }) });
  });

  it('the SIMT decode kernel runs what it cannot: fewer keys than a tile, pages of 8 rows, f32', async () => {
    const spy = vi.spyOn(attn.impl as WebGpuBackend, 'forwardProgram');
    await checkForward(attn, [1, 4, 1, 32], [1, 1, 12, 32], { dtype: 'f16' });
    await checkPaged(attn, { hq: 2, hkv: 1, d: 32, nq: 1, lens: [40], pageSize: 8, half: true });
    const labels = spy.mock.results.map((r) => (r.value as Program).labels[0]);
    spy.mockRestore();
    expect(labels).toHaveLength(2);
    for (const l of labels) expect(l).toMatch(/^attention\.decode d32 f16/);
  });
});
