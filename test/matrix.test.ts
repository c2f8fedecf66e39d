/*
 * The tensor-core forward (kernels/matrix.ts). SwiftShader has no subgroup matrices and no
 * f16, so here it runs with its matrix operations emulated in workgroup memory
 * (createAttention({ tensorCores: 'emulate' })): everything but the builtins is checked —
 * staging, ragged tiles, causal offsets, GQA, layouts, LSE, rows that see no key, NaN. The
 * real builtins run on the GPU machine (bench/tc, docs/tensor-cores.md). Against the
 * float64 reference with the f16 rule: O within 3× the error of naive attention run in
 * f16 (P is f16 on the matrix units, as there).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { WebGpuBackend } from '../src/api/backends.js';
import { createAttention, type Attention } from '../src/api/attention.js';
import type { ForwardOptions } from '../src/api/options.js';
import type { AttentionCall } from '../src/kernels/call.js';
import { matrixLayout } from '../src/kernels/matrix-program.js';
import { matrixKernel, matrixSizes, matrixWorkgroupBytes } from '../src/kernels/matrix.js';
import { flashLayoutOf } from '../src/harness/bench-layout.js';
import { gpuSeam } from '../src/api/internal.js';
import type { Program } from '../src/kernels/program.js';
import { alibi, alibiSlopes, learnedSinks } from '../src/mods/builtins.js';
import { AttentionInputError } from '../src/tensor/errors.js';
import { roundToHalf } from '../src/tensor/half.js';
import type { Layout } from '../src/tensor/shape.js';
import { plannedCall, type Dims } from './forward-check.js';
import { checkF16 } from './f16-check.js';
import { errorOf, MATRIX_CAPS } from './helpers.js';

const caps = MATRIX_CAPS;
const f16 = (extra: Partial<AttentionCall> = {}): Partial<AttentionCall> => ({ dtype: 'f16', ...extra });

describe('tensor-core plan', () => {
  it('takes f16 calls with a workgroup of rows by default; says why it cannot take the rest', () => {
    expect(matrixLayout(plannedCall([1, 16, 4096, 64], [1, 16, 4096, 64], f16()), caps)?.cfg).toMatchObject({ subgroups: 8, keys: 16 });
    expect(matrixLayout(plannedCall([1, 16, 4096, 128], [1, 16, 4096, 128], f16()), caps)?.cfg).toMatchObject({ subgroups: 16, keys: 16 });
    expect(matrixLayout(plannedCall([1, 16, 4096, 128], [1, 16, 4096, 128], f16({ causal: true })), caps)?.cfg).toMatchObject({ subgroups: 8, keys: 16 });
    expect(matrixLayout(plannedCall([1, 16, 4096, 64], [1, 16, 4096, 64], f16({ tensorCores: false })), caps)).toBeUndefined();
    expect(matrixLayout(plannedCall([1, 16, 4096, 64], [1, 16, 4096, 64]), caps)).toBeUndefined(); // f32
    expect(matrixLayout(plannedCall([1, 16, 64, 64], [1, 16, 4096, 64], f16()), caps)).toBeUndefined(); // 64 rows < 128
    expect(matrixLayout(plannedCall([1, 16, 4096, 64], [1, 16, 4096, 64], f16()), { ...caps, matrix: undefined })).toBeUndefined();
    const forced =
      (extra: Partial<AttentionCall>, d = 64, c = caps) =>
      () =>
        matrixLayout(plannedCall([1, 4, 300, d], [1, 4, 300, d], f16({ tensorCores: true, ...extra })), c);
    expect(forced({})()).toBeDefined(); // forced: fewer rows than a workgroup are fine
    expect(forced({ dtype: 'f32' })).toThrow(/dtype 'f32'/);
    expect(forced({ score: alibi(alibiSlopes(4)) })).toThrow(/score or mask modifier/);
    expect(forced({ sinks: Float32Array.of(1, 2, 3, 4) })).toThrow(/sinks or per-batch positions/);
    expect(forced({}, 40)).toThrow(/head dim 40/);
    expect(forced({}, 64, { ...caps, matrix: undefined })).toThrow(/no f16 subgroup matrices/);
    expect(forced({ dtype: 'f32' }, 64, { ...caps, matrix: undefined })).toThrow(/dtype 'f32' \(the matrix units take f16\)/); // the call's own reason before the device's
    expect(forced({ tensorCores: { subgroups: 16, keys: 64 } })).toThrow(/workgroup memory/);
    expect(forced({ tensorCores: { subgroups: 64, keys: 16 } })).toThrow(/2048 invocations/);
    expect(forced({ tensorCores: { subgroups: 2, keys: 24 } })).toThrow(/keys per tile 24/);
  });

  it('declares the workgroup memory its WGSL takes, every variable a 16-byte multiple', () => {
    const bytes = { f16: 2, f32: 4, 'vec4<u32>': 16 } as const;
    for (const [d, emulate] of [
      [128, false],
      [64, false],
      [64, true],
    ] as const) {
      const cfg = { ...matrixLayout(plannedCall([1, 2, 512, d], [1, 2, 512, d], f16({ causal: true })), caps)!.cfg, emulate };
      const spec = matrixKernel(cfg);
      const sizes = [...spec.wgsl.matchAll(/var<workgroup> \w+: array<(f16|f32|vec4<u32>), (\d+)>/g)].map(
        ([, t, n]) => bytes[t as keyof typeof bytes] * Number(n),
      );
      expect(sizes.length).toBe(emulate ? 9 : 6); // kS vS pS sS rowA flags, and the emulation's mA mB xch
      for (const b of sizes) expect(b % 16).toBe(0);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(spec.workgroupBytes);
      expect(spec.workgroupBytes).toBe(matrixWorkgroupBytes(cfg));
    }
  });
});

describe('tensor-core forward, matrices emulated (SwiftShader)', () => {
  let attn: Attention;
  beforeAll(async () => {
    attn = await createAttention({ backend: 'webgpu', poisonOutputs: true, tensorCores: 'emulate' });
  });
  afterAll(() => attn?.destroy());
  const small = { subgroups: 2, keys: 16 } as const; // 32 rows, 64 invocations: quick under emulation

  const label = /^attention\.forward\.matrix .*emulated/;
  const check = (
    qDims: Dims,
    kvDims: Dims,
    opts: ForwardOptions,
    layout: Layout = 'bhnd',
    edit?: (k: Float32Array, q: Float32Array, v: Float32Array) => void,
  ) => checkF16(attn, qDims, kvDims, opts, { label, layout, edit });

  it('ragged rows and keys (40 of 32-row blocks and 16-key tiles), plain and causal, D = 64', async () => {
    await check([1, 2, 40, 64], [1, 2, 40, 64], { tensorCores: small });
    await check([1, 2, 40, 64], [1, 2, 40, 64], { tensorCores: small, causal: true });
  });

  it('GQA 2:1 over more keys than queries (causal offset), batch 2, D = 32; bnhd', async () => {
    await check([2, 4, 33, 32], [2, 2, 50, 32], { tensorCores: small, causal: true });
    await check([1, 2, 40, 64], [1, 2, 24, 64], { tensorCores: small }, 'bnhd');
    await check([1, 2, 40, 64], [1, 2, 40, 64], { tensorCores: { ...small, prefetch: true }, causal: true }); // the next K/V tile fetched during the current
  });

  it('causal with more queries than keys: rows that see no key write 0 and LSE −∞; D = 128', async () => {
    await check([1, 1, 48, 128], [1, 1, 20, 128], { tensorCores: small, causal: true });
  });

  it('a rescale of O when a later tile raises a row max past the threshold (large scores late)', async () => {
    // Scores grow along the keys (Q scaled by 4, key j by 1 + j/8), so rows move their max by more than 2^8 later on.
    const half = (x: number) => roundToHalf(Float32Array.of(x))[0]!;
    await check([1, 1, 32, 32], [1, 1, 64, 32], { tensorCores: small }, 'bhnd', (k, q) => {
      q.forEach((x, i) => (q[i] = half(4 * x)));
      for (let j = 0; j < 64; j++) for (let c = 0; c < 32; c++) k[j * 32 + c] = half(k[j * 32 + c]! * (1 + j / 8));
    });
  });

  it('NaN in a key reaches the rows that see it only', async () => {
    await check([1, 1, 32, 32], [1, 1, 32, 32], { tensorCores: small, causal: true }, 'bhnd', (k) => {
      k[20 * 32 + 5] = NaN; // key 20: causal rows 20… see it
    });
  });

  it('inf and NaN in V reach only the rows that see their key (causally masked for the rows before it)', async () => {
    await check([1, 2, 40, 32], [1, 2, 40, 32], { tensorCores: small, causal: true }, 'bhnd', (_k, _q, v) => {
      [v[25 * 32 + 3], v[30 * 32 + 7], v[30 * 32 + 8]] = [Infinity, NaN, -Infinity]; // head 0: keys 25 and 30
      v[(40 + 33) * 32 + 0] = Infinity; // head 1, key 33 (a ragged last tile)
    });
  });

  it('by default on an f16 call with a workgroup of rows; an f32 call, or tensorCores: false, keeps the SIMT kernels', async () => {
    await check([1, 2, 130, 32], [1, 2, 70, 32], {}); // the default tile, fewer subgroups where SwiftShader's memory is small
    const spy = vi.spyOn(attn.impl as WebGpuBackend, 'forwardProgram');
    const t = [1, 2, 3].map(() => attn.tensor(new Float32Array(2 * 130 * 32), [1, 2, 130, 32], { dtype: 'f16' }));
    for (const opts of [{ tensorCores: false }, { dtype: 'f32' as const }]) {
      const ts = opts.dtype ? [1, 2, 3].map(() => attn.tensor(new Float32Array(2 * 130 * 32), [1, 2, 130, 32])) : t;
      const { out } = await attn.forward(ts[0]!, ts[1]!, ts[2]!, { dtype: 'f16', ...opts });
      out.destroy();
      if (opts.dtype) ts.forEach((x) => x.destroy());
    }
    t.forEach((x) => x.destroy());
    for (const r of spy.mock.results) expect((r.value as Program).labels[0]).toMatch(/^attention\.forward /);
    spy.mockRestore();
  });

  it("bench's IO model reads the layout of the kernel that runs: tensor-core row blocks, the decode kernel's rows", () => {
    const f16Call = plannedCall([1, 2, 130, 32], [1, 2, 70, 32]).problem;
    const matrix = matrixLayout(plannedCall([1, 2, 130, 32], [1, 2, 70, 32], f16()), gpuSeam(attn)!.caps)!;
    expect(flashLayoutOf(attn, f16Call, false, { dtype: 'f16' })).toEqual({ br: matrixSizes(matrix.cfg).BR });
    expect(flashLayoutOf(attn, f16Call, false, { dtype: 'f16', tensorCores: small })).toEqual({ br: 32 }); // 2 subgroups × 16 rows
    expect(flashLayoutOf(attn, f16Call, false, { dtype: 'f16', tensorCores: false }).br).not.toBe(32); // the fused kernel's tile
    const decode = flashLayoutOf(attn, plannedCall([1, 8, 1, 32], [1, 2, 700, 32]).problem, false, { dtype: 'f16' });
    expect(decode).toMatchObject({ br: 4, pack: 4 });
  });

  it('asked for where it cannot run: AttentionInputError before any GPU work', async () => {
    const t = [1, 2, 3].map(() => attn.tensor(new Float32Array(2 * 64 * 64), [1, 2, 64, 64], { dtype: 'f16' }));
    const err = await errorOf(() => attn.forward(t[0]!, t[1]!, t[2]!, { dtype: 'f16', tensorCores: true, sinks: learnedSinks([1, 2]) }));
    t.forEach((x) => x.destroy());
    expect(err).toBeInstanceOf(AttentionInputError);
    expect(String(err)).toMatch(/tensor-core kernel: it has learned sinks/);
  });
});
