/*
 * The tensor-core backward (kernels/matrix-backward.ts). SwiftShader has no subgroup
 * matrices and no f16, so it runs here with the matrix operations emulated in workgroup
 * memory (createAttention({ tensorCores: 'emulate' })), f16 values rounded as the matrix
 * units would take them: everything but the builtins is checked — staging, ragged tiles,
 * causal offsets, GQA, layouts, rows that see no key, inf and NaN. The real builtins run
 * on the GPU machine (`verify` there takes f16 backward cases onto them). Against the
 * float64 reference (D = dO·O from the O saved in f16, as verify does), within verify's
 * f16 tolerance: 4 f16 ulps of each gradient's largest magnitude.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { WebGpuBackend } from '../src/api/backends.js';
import { createAttention, type Attention } from '../src/api/attention.js';
import type { ForwardOptions } from '../src/api/options.js';
import { matrixBackwardLayout } from '../src/kernels/matrix-backward-program.js';
import { matrixBackwardBytes, matrixBackwardKernel } from '../src/kernels/matrix-backward.js';
import type { Program } from '../src/kernels/program.js';
import { alibi, alibiSlopes } from '../src/mods/builtins.js';
import { referenceBackward } from '../src/reference/backward.js';
import type { HostTensor } from '../src/reference/forward.js';
import { AttentionInputError } from '../src/tensor/errors.js';
import { roundToHalf } from '../src/tensor/half.js';
import { dimsOf, type Layout } from '../src/tensor/shape.js';
import { plannedCall, type Dims } from './forward-check.js';
import { errorOf, MATRIX_CAPS, permute, randomHost, rng, testSeed } from './helpers.js';

const caps = MATRIX_CAPS;
const call = (q: Dims, kv: Dims, extra: object = {}) => ({ ...plannedCall(q, kv, { dtype: 'f16', ...extra }), tableGrads: false });

describe('tensor-core backward plan', () => {
  it('takes f16 flash calls by default; says why it cannot take the rest', () => {
    expect(matrixBackwardLayout(call([1, 16, 4096, 64], [1, 16, 4096, 64]), caps)).toMatchObject({ subgroups: 8, headDim: 64 });
    expect(matrixBackwardLayout(call([1, 16, 4096, 128], [1, 4, 4096, 128], { causal: true }), caps)).toMatchObject({ subgroups: 8, causal: true });
    expect(matrixBackwardLayout(call([1, 4, 512, 256], [1, 4, 512, 256]), caps)).toMatchObject({ subgroups: 4 }); // 8 would take 49 KiB
    expect(matrixBackwardLayout(call([1, 16, 4096, 64], [1, 16, 4096, 64], { dtype: 'f32' }), caps)).toBeUndefined();
    expect(matrixBackwardLayout(call([1, 16, 4096, 64], [1, 16, 4096, 64], { tensorCores: false }), caps)).toBeUndefined();
    expect(matrixBackwardLayout(call([1, 16, 4096, 64], [1, 16, 4096, 64]), { ...caps, matrix: undefined })).toBeUndefined();
    expect(matrixBackwardLayout(call([1, 4, 8, 64], [1, 4, 64, 64]), caps)).toBeUndefined(); // 8 query rows
    const forced =
      (extra: object, q: Dims = [1, 4, 64, 64]) =>
      () =>
        matrixBackwardLayout(call(q, [1, 4, 64, 64], { tensorCores: true, ...extra }), caps);
    expect(forced({ score: alibi(alibiSlopes(4)) })).toThrow(AttentionInputError);
    expect(forced({ score: alibi(alibiSlopes(4)) })).toThrow(/tensor-core passes: it has a score or mask modifier/);
    expect(forced({}, [1, 4, 8, 64])).toThrow(/8 query rows are fewer/);
    expect(forced({ dtype: 'f32' })).toThrow(/dtype 'f32'/);
    expect(forced({ tensorCores: { subgroups: 64, keys: 16 } })).toThrow(/2048 invocations/);
  });

  it('tests NaN and inf by their bits, never by a float compare (the H200 folds those as if NaN did not exist)', () => {
    for (const pass of ['dq', 'dkdv'] as const) {
      const wgsl = matrixBackwardKernel({ headDim: 64, causal: true, subgroups: 8, shape: caps.matrix!.shape, subgroupSize: 32 }, pass).wgsl;
      expect(wgsl).toMatch(/let ds = select\(0\.0, [^;]*bitcast<u32>\(p\) != 0u\)/);
      expect(wgsl).not.toMatch(/!= 0\.0|<= 65504/);
    }
  });

  it('declares the workgroup memory its WGSL takes, every variable a 16-byte multiple', () => {
    const bytes = { f16: 2, f32: 4, 'vec4<u32>': 16, 'vec4<f32>': 16 } as const;
    for (const emulate of [false, true])
      for (const pass of ['dq', 'dkdv'] as const) {
        const cfg = { headDim: 64, causal: true, subgroups: 4, shape: caps.matrix!.shape, subgroupSize: 32, emulate };
        const spec = matrixBackwardKernel(cfg, pass);
        const arrays = [...spec.wgsl.matchAll(/var<workgroup> \w+: array<(f16|f32|vec4<u32>|vec4<f32>), (\d+)>/g)].map(
          ([, t, n]) => bytes[t as keyof typeof bytes] * Number(n),
        );
        const sizes = [...arrays, 16]; // and the flag, one vec4<u32>
        for (const b of sizes) expect(b % 16).toBe(0);
        expect(sizes.reduce((a, b) => a + b, 0)).toBe(spec.workgroupBytes);
        expect(spec.workgroupBytes).toBe(matrixBackwardBytes(cfg, pass));
      }
  });
});

describe('tensor-core backward, matrices emulated (SwiftShader)', () => {
  let attn: Attention;
  beforeAll(async () => {
    attn = await createAttention({ backend: 'webgpu', poisonOutputs: true, tensorCores: 'emulate' });
  });
  afterAll(() => attn?.destroy());
  const small = { subgroups: 2, keys: 16 } as const; // 32 rows, 64 invocations: quick under emulation

  /** Runs forward and backward in f16 (random f16-exact inputs; `edit` may plant values) and checks the gradients. */
  async function check(
    qDims: Dims,
    kvDims: Dims,
    opts: ForwardOptions,
    layout: Layout = 'bhnd',
    edit?: (q: Float32Array, k: Float32Array, v: Float32Array) => void,
  ) {
    const seed = testSeed();
    const rand = rng(seed);
    const host = (d: Dims): HostTensor => {
      const h = randomHost(d, rand);
      return { ...h, data: roundToHalf(h.data as Float32Array) };
    };
    const [q, k, v, dO] = [host(qDims), host(kvDims), host(kvDims), host(qDims)];
    edit?.(q.data as Float32Array, k.data as Float32Array, v.data as Float32Array);
    const up = (h: HostTensor) =>
      attn.tensor(layout === 'bhnd' ? Float32Array.from(h.data) : permute(h.data, h.shape), dimsOf(h.shape), { layout, dtype: 'f16' });
    const t = [q, k, v, dO].map(up);
    const spy = vi.spyOn(attn.impl as WebGpuBackend, 'backwardProgram');
    const f = await attn.forward(t[0]!, t[1]!, t[2]!, { ...opts, returnLse: true });
    let labels: readonly string[] = [];
    const g = await attn.backward(t[3]!, { q: t[0]!, k: t[1]!, v: t[2]!, out: f.out, lse: f.lse! }, opts).finally(() => {
      labels = (spy.mock.results[0]?.value as Program | undefined)?.labels ?? [];
      spy.mockRestore();
    });
    expect(labels).toEqual(expect.arrayContaining([expect.stringMatching(/^attention\.backward\.matrix dkdv .*emulated/)]));
    const back = (x: Float32Array, h: HostTensor) => (layout === 'bhnd' ? x : permute(x, h.shape, true));
    const [dq, dk, dv, saved] = await Promise.all([g.dq.read(), g.dk.read(), g.dv.read(), f.out.read()]);
    [...t, f.out, f.lse!, g.dq, g.dk, g.dv].forEach((x) => x.destroy());
    const ref = referenceBackward(q, k, v, dO, { causal: opts.causal ?? false, savedOut: back(saved, q) });
    for (const [name, got, want, h] of [
      ['dQ', dq, ref.dq, q],
      ['dK', dk, ref.dk, k],
      ['dV', dv, ref.dv, v],
    ] as const) {
      const g2 = back(got, h);
      let scale = 0;
      for (const x of want) if (Number.isFinite(x)) scale = Math.max(scale, Math.abs(x));
      const tol = 4 * 2 ** -11 * scale + 1e-6;
      for (let i = 0; i < want.length; i++) {
        const where = `${name}[${i}] ${JSON.stringify(opts)} [seed ${seed}]`;
        if (Number.isNaN(want[i]!)) expect(g2[i], where).toBeNaN();
        else if (!Number.isFinite(want[i]!)) expect(Number.isFinite(g2[i]!), where).toBe(false);
        else expect(Math.abs(g2[i]! - want[i]!), where).toBeLessThanOrEqual(tol);
      }
    }
  }

  it('ragged rows and keys (40 of 32-row blocks and 16-row tiles), plain and causal, D = 64', async () => {
    await check([1, 2, 40, 64], [1, 2, 40, 64], { tensorCores: small });
    await check([1, 2, 40, 64], [1, 2, 40, 64], { tensorCores: small, causal: true });
  });

  it('GQA 2:1 over more keys than queries (causal offset), batch 2, D = 32; bnhd', async () => {
    await check([2, 4, 33, 32], [2, 2, 50, 32], { tensorCores: small, causal: true });
    await check([1, 2, 40, 32], [1, 2, 24, 32], { tensorCores: small }, 'bnhd');
  });

  it('head dim 80 (not a power of two), GQA 2:1, causal, bnhd', async () => {
    await check([1, 4, 40, 80], [1, 2, 40, 80], { tensorCores: small, causal: true }, 'bnhd');
  });

  it('causal with more queries than keys (rows that see no key); D = 128', async () => {
    await check([1, 1, 48, 128], [1, 1, 20, 128], { tensorCores: { subgroups: 1, keys: 16 }, causal: true }); // emulated tiles of 2 subgroups pass SwiftShader's 32 KiB
  });

  it('inf and NaN in K, V, Q at causally masked pairs reach only the pairs the reference counts', async () => {
    await check([1, 1, 40, 32], [1, 1, 40, 32], { tensorCores: small, causal: true }, 'bhnd', (q, k, v) => {
      k[30 * 32 + 3] = Infinity; // key 30: rows 30… see it
      v[25 * 32 + 7] = NaN; // key 25
      q[5 * 32 + 1] = -Infinity; // row 5: sees keys 0…5
    });
  });

  it('by default on f16 calls; tensorCores: false keeps the fused passes', async () => {
    await check([1, 2, 40, 32], [1, 2, 40, 32], { causal: true });
    const spy = vi.spyOn(attn.impl as WebGpuBackend, 'backwardProgram');
    const t = [1, 2, 3, 4].map(() => attn.tensor(new Float32Array(2 * 40 * 32), [1, 2, 40, 32], { dtype: 'f16' }));
    const f = await attn.forward(t[0]!, t[1]!, t[2]!, { returnLse: true });
    const g = await attn.backward(t[3]!, { q: t[0]!, k: t[1]!, v: t[2]!, out: f.out, lse: f.lse! }, { tensorCores: false });
    expect((spy.mock.results[0]!.value as Program).labels.some((l) => l.includes('matrix'))).toBe(false);
    spy.mockRestore();
    [...t, f.out, f.lse!, g.dq, g.dk, g.dv].forEach((x) => x.destroy());
    const e = await errorOf(async () => {
      const u = [1, 2, 3, 4].map(() => attn.tensor(new Float32Array(2 * 8 * 32), [1, 2, 8, 32], { dtype: 'f16' }));
      const r = await attn.forward(u[0]!, u[1]!, u[2]!, { returnLse: true });
      await attn.backward(u[3]!, { q: u[0]!, k: u[1]!, v: u[2]!, out: r.out, lse: r.lse! }, { tensorCores: true });
    });
    expect(e).toBeInstanceOf(AttentionInputError);
  });
});
