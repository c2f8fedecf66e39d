/*
 * f16 tensors: the host conversion against a brute-force nearest-value oracle, the
 * dtype rules of the API, and every f16 path (fused forward with split-K, GQA
 * packing, chunking, variants; naive; basic; backward; combine; a caller's f16
 * GPUBuffers) against the float64 reference on the f16 inputs. The accuracy rule is
 * FlashAttention's: O's error at most 3× that of naive attention run in f16 (S, P
 * and O stored in f16, f32 arithmetic); LSE, computed in f32, keeps the f32 rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import { alibi, alibiSlopes, learnedSinks, slidingWindow } from '../src/mods/builtins.js';
import { referenceBackward } from '../src/reference/backward.js';
import { referenceForward, type HostTensor, type ReferenceOptions } from '../src/reference/forward.js';
import { maskFn, scoreFn } from '../src/mods/emit-js.js';
import { AttentionInputError } from '../src/tensor/errors.js';
import { fromHalf, halfBits, halfValue, toHalf } from '../src/tensor/half.js';
import { runCase, verifyCases } from '../src/harness/verify.js';
import { forwardKernel, forwardWorkgroupBytes, tileRows } from '../src/kernels/forward.js';
import { chooseForwardTile, tileFits } from '../src/kernels/tiles.js';
import { halfTileChoice } from '../src/kernels/tile-policy.js';
import { dtypeTiers } from '../src/harness/info.js';
import { errorOf, maxErr, randomHost, rng, shape4, testSeed } from './helpers.js';

describe('f16 conversion', () => {
  it('every f16 bit pattern survives value → bits, and random f32 values go to the nearest f16 (ties to even)', () => {
    const finite: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const x = halfValue(h);
      if (Number.isNaN(x)) expect(Number.isNaN(halfValue(halfBits(x)))).toBe(true);
      else expect(halfBits(x), `0x${h.toString(16)}`).toBe(h === 0x8000 ? 0x8000 : h);
      if (Number.isFinite(x) && h < 0x7c00) finite.push(x); // the non-negative finite values, ascending
    }
    // Oracle: the nearest of the sorted values by binary search, ties to the even pattern.
    const nearest = (x: number): number => {
      const a = Math.abs(x);
      if (a >= 65520) return x > 0 ? Infinity : -Infinity; // 65504 + half an ulp rounds up to inf
      let lo = 0;
      let hi = finite.length - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (finite[mid]! <= a) lo = mid;
        else hi = mid;
      }
      const [dl, dh] = [a - finite[lo]!, finite[hi]! - a];
      const pick = dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
      return Math.sign(x) * finite[pick]!;
    };
    const rand = rng(testSeed());
    for (let i = 0; i < 20000; i++) {
      const x = Math.fround((rand() - 0.5) * 2 ** Math.floor(rand() * 40 - 26));
      expect(halfValue(halfBits(x)), `${x}`).toBe(nearest(x));
    }
    // Midpoints exactly: between 1 and 1 + 2⁻¹⁰ goes down (even), between 1 + 2⁻¹⁰ and 1 + 2⁻⁹ up.
    expect(halfValue(halfBits(1 + 2 ** -11))).toBe(1);
    expect(halfValue(halfBits(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9);
    expect(fromHalf(toHalf([70000, -1e-8, 2 ** -24]))).toEqual(new Float32Array([Infinity, -0, 2 ** -24]));
    // fromHalf takes bit patterns only (once: a Float32Array's values read as bits, silently).
    expect(() => fromHalf(new Float32Array([1, 2]) as unknown as Uint16Array)).toThrow(/fromHalf takes f16 bit patterns as a Uint16Array, got Float32Array/);
    expect(() => fromHalf([1, 2] as unknown as Uint16Array)).toThrow(AttentionInputError);
  });
});

let gpu: Attention;
let cpu: Attention;
beforeAll(async () => {
  gpu = await createAttention({ backend: 'webgpu', poisonOutputs: true });
  cpu = await createAttention({ backend: 'cpu', poisonOutputs: true });
});
afterAll(() => gpu?.destroy());

describe('f16 tensors in the API', () => {
  it('dtype follows the data (Uint16Array bits → f16) or the option; reads give the f16 values; bad mixes are refused', async () => {
    const bits = toHalf([1, 2.5, -3, 0.1]);
    const t = gpu.tensor(bits, [1, 1, 1, 4]);
    expect(t.dtype).toBe('f16');
    expect(t.gpuBuffer!.byteLength).toBe(8);
    expect(await t.read()).toEqual(fromHalf(bits));
    const c = gpu.tensor(new Float32Array([1, 2.5, -3, 0.1]), [1, 1, 1, 4], { dtype: 'f16' });
    expect(await c.read()).toEqual(fromHalf(bits)); // converted to nearest on upload
    expect(() => gpu.tensor(bits, [1, 1, 1, 4], { dtype: 'f32' })).toThrow(/Uint16Array holds f16 bit patterns/);
    expect(() => gpu.tensor(new Int32Array(4) as never, [1, 1, 1, 4])).toThrow(/Int32Array/);
    expect(() => gpu.tensor([1, 2], [1, 1, 1, 4], { dtype: 'f16' })).toThrow(/data has 2 elements/);
    expect(() => gpu.tensor(bits, [1, 1, 1, 4], { dtype: 'f8' as never })).toThrow(/dtype must be 'f32' or 'f16'/);

    const dims = [1, 2, 8, 32];
    const data = () => new Float32Array(2 * 8 * 32).map((_, i) => Math.sin(i));
    for (const a of [gpu, cpu]) {
      const [h16, h32] = [a.tensor(data(), dims, { dtype: 'f16' }), a.tensor(data(), dims)];
      const e1 = await errorOf(() => a.forward(h16, h32, h16));
      expect(e1).toBeInstanceOf(AttentionInputError);
      expect(e1.message).toMatch(/k is f32 but q is f16/);
      expect((await errorOf(() => a.forward(h32, h32, h32, { dtype: 'f16' }))).message).toMatch(/dtype 'f16' was asked for, but the tensors are f32/);
      const { out, lse } = await a.forward(h16, h16, h16, { returnLse: true });
      expect([out.dtype, lse!.dtype]).toEqual(['f16', 'f32']);
      const e2 = await errorOf(() => a.backward(h32, { q: h16, k: h16, v: h16, out, lse }));
      expect(e2.message).toMatch(/dOut is f32 but q is f16/);
      const e3 = await errorOf(() => a.backward(h16, { q: h16, k: h16, v: h16, out, lse: out }));
      expect(e3.message).toMatch(/lse must be f32/);
      const e4 = await errorOf(() =>
        a.combine([
          { out, lse: lse! },
          { out: h32, lse: lse! },
        ]),
      );
      expect(e4.message).toMatch(/parts\[1\]\.out is .* f32, but parts\[0\]\.out is .* f16/);
    }
    const q = gpu.tensor(data(), dims, { dtype: 'f16' });
    const e5 = await errorOf(() => gpu.forward(q, q, q, { into: { out: gpu.tensor(data(), dims) } }));
    expect(e5.message).toMatch(/into.out must have .*dtype f16, got .* f32/);
  });
});

/** The inputs an f16 call computes on: f16 values, as f64 host tensors. */
async function f16Inputs(a: Attention, dims: [number, number, number, number][], seed: number) {
  const rand = rng(seed);
  return Promise.all(
    dims.map(async (d) => {
      const h = randomHost(d, rand);
      const t = a.tensor(h.data as Float32Array, d, { dtype: 'f16' });
      return { t, h: { data: Float64Array.from(await t.read()), shape: shape4(d), layout: 'bhnd' } as HostTensor };
    }),
  );
}

/** O within 3× the naive-f16 error (+ one f16 ulp of 2⁻²⁴ for exact cases), LSE within the f32 rule. */
function checkF16(o: Float32Array, lse: Float32Array, q: HostTensor, k: HostTensor, v: HostTensor, opts: ReferenceOptions): string | undefined {
  const ref = referenceForward(q, k, v, opts);
  const naive16 = referenceForward(q, k, v, { ...opts, precision: 'f16' });
  const ref32 = referenceForward(q, k, v, { ...opts, precision: 'f32' });
  const oTol = 3 * maxErr(naive16.out, ref.out).err + 2 ** -24;
  const lseTol = 2 * maxErr(ref32.lse, ref.lse).err + 1e-6;
  const [eo, el] = [maxErr(o, ref.out), maxErr(lse, ref.lse)];
  if (eo.err > oTol) return `O[${eo.at}]: ${o[eo.at]} vs ${ref.out[eo.at]} (|err| ${eo.err} > ${oTol} = 3× naive f16)`;
  if (el.err > lseTol) return `LSE[${el.at}]: ${lse[el.at]} vs ${ref.lse[el.at]} (|err| ${el.err} > ${lseTol})`;
  return undefined;
}

describe('f16 forward against the float64 reference', () => {
  it('an inf in O leaves its f16 pair partner exact (pack2x16float leaves a word with an inf indeterminate): the verify case and seed that found it', async () => {
    // SwiftShader wrote the finite half of an (inf, x) pair 2.5 ulp off: 7.6e-5 against a tolerance of 6.6e-5.
    const c = verifyCases().find((x) => x.name === 'f16,decode,causal,gqa=4,seqQ=2,seqK=1500,headDim=128,inf-v')!;
    const r = await runCase(gpu, c, 'flash', 1712790326);
    expect(r.ok, r.message).toBe(true);
    expect(r.maxAbsErr).toBeLessThan(2e-5);
  });

  const H = 4;
  const cases: { name: string; dims: [number, number, number, number]; kv: [number, number, number, number]; opts: object; ref: ReferenceOptions }[] = [
    { name: 'plain', dims: [2, H, 37, 32], kv: [2, H, 37, 32], opts: {}, ref: {} },
    { name: 'causal, GQA 2:1, split-K', dims: [1, H, 50, 64], kv: [1, 2, 50, 64], opts: { causal: true, keySplits: 3 }, ref: { causal: true } },
    { name: 'decode: one row, GQA 4:1 packed, split-K', dims: [1, H, 1, 64], kv: [1, 1, 300, 64], opts: {}, ref: {} },
    {
      name: 'ALiBi + sliding window + sinks',
      dims: [1, H, 45, 32],
      kv: [1, H, 45, 32],
      opts: { causal: true, score: alibi(alibiSlopes(H)), mask: slidingWindow(9), sinks: learnedSinks([0.5, -1, 2, 0]) },
      ref: { causal: true, score: scoreFn(alibi(alibiSlopes(H))), mask: maskFn(slidingWindow(9)), sinks: [0.5, -1, 2, 0] },
    },
  ];
  for (const backend of ['webgpu', 'cpu'] as const) {
    for (const c of cases) {
      it(`${backend}: ${c.name}`, async () => {
        const a = backend === 'webgpu' ? gpu : cpu;
        const seed = testSeed();
        const [q, k, v] = await f16Inputs(a, [c.dims, c.kv, c.kv], seed);
        const { out, lse } = await a.forward(q!.t, k!.t, v!.t, { ...c.opts, returnLse: true });
        expect(out.dtype).toBe('f16');
        expect(checkF16(await out.read(), await lse!.read(), q!.h, k!.h, v!.h, c.ref), `[seed ${seed}]`).toBeUndefined();
      });
    }
  }

  it('webgpu: naive and basic, and a call split into chunks by a small binding limit', async () => {
    const seed = testSeed();
    const small = await createAttention({ backend: 'webgpu', maxBindingBytes: 8 * 1024, poisonOutputs: true });
    for (const [a, algorithm] of [
      [gpu, 'naive'],
      [gpu, 'basic'],
      [small, 'flash'],
    ] as const) {
      const [q, k, v] = await f16Inputs(
        a,
        [
          [2, 2, 70, 32],
          [2, 2, 70, 32],
          [2, 2, 70, 32],
        ],
        seed,
      );
      const { out, lse } = await a.forward(q!.t, k!.t, v!.t, { causal: true, algorithm, returnLse: true });
      expect(checkF16(await out.read(), await lse!.read(), q!.h, k!.h, v!.h, { causal: true }), `${algorithm} [seed ${seed}]`).toBeUndefined();
    }
    small.destroy();
  });
});

describe('f16 backward and combine', () => {
  it('backward (webgpu and cpu): dQ, dK, dV are the f32 gradients rounded to f16', async () => {
    const seed = testSeed();
    for (const a of [gpu, cpu]) {
      const [q, k, v, dO] = await f16Inputs(
        a,
        [
          [1, 4, 33, 32],
          [1, 2, 33, 32],
          [1, 2, 33, 32],
          [1, 4, 33, 32],
        ],
        seed,
      );
      const f = await a.forward(q!.t, k!.t, v!.t, { causal: true, returnLse: true });
      const g = await a.backward(dO!.t, { q: q!.t, k: k!.t, v: v!.t, out: f.out, lse: f.lse }, { causal: true });
      const ref = referenceBackward(q!.h, k!.h, v!.h, dO!.h, { causal: true });
      // O is saved in f16, so the gradients see an O off by up to an f16 ulp: allow a few f16 ulps of each gradient's scale.
      for (const [name, t, want] of [
        ['dQ', g.dq, ref.dq],
        ['dK', g.dk, ref.dk],
        ['dV', g.dv, ref.dv],
      ] as const) {
        expect(t.dtype).toBe('f16');
        const scale = maxErr(new Float64Array(want.length), want).err;
        expect(maxErr(await t.read(), want).err, `${a.backend} ${name} [seed ${seed}]`).toBeLessThan(4 * 2 ** -11 * scale);
      }
    }
  });

  it('combine of two f16 halves equals one f16 forward over all keys (webgpu and cpu)', async () => {
    const seed = testSeed();
    for (const a of [gpu, cpu]) {
      const [q, k, v] = await f16Inputs(
        a,
        [
          [1, 2, 20, 32],
          [1, 2, 40, 32],
          [1, 2, 40, 32],
        ],
        seed,
      );
      const half = (t: typeof k, lo: number) => a.tensor(slice(t!.h, lo), [1, 2, 20, 32], { dtype: 'f16' });
      const parts = await Promise.all([0, 20].map((lo) => a.forward(q!.t, half(k, lo), half(v, lo), { returnLse: true })));
      const r = await a.combine(parts.map((p) => ({ out: p.out, lse: p.lse! })));
      expect(r.out.dtype).toBe('f16');
      expect(checkF16(await r.out.read(), await r.lse.read(), q!.h, k!.h, v!.h, {}), `${a.backend} [seed ${seed}]`).toBeUndefined();
    }
  });
});

/** Keys [lo, lo + 20) of every head of a [1, 2, 40, 32] host tensor, as f32 values. */
function slice(h: HostTensor, lo: number): Float32Array {
  const out = new Float32Array(2 * 20 * 32);
  for (let hd = 0; hd < 2; hd++) out.set(h.data.subarray((hd * 40 + lo) * 32, (hd * 40 + lo + 20) * 32), hd * 20 * 32);
  return out;
}

describe('the f16-shader tier (f16 workgroup tiles)', () => {
  // Running it needs shader-f16, which SwiftShader lacks: CI runs verify's f16 cases on it
  // under Deno on Mesa's lavapipe (.ci/run). Here: what decides the kernel, without a device.
  const gpu48k = { maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024 };

  it('halves the tiles’ workgroup bytes, so D = 128 gets the 64 × 64 tile that only D = 64 fits in f32', () => {
    const f32 = chooseForwardTile(128, gpu48k, 32)!;
    const f16 = chooseForwardTile(128, gpu48k, 32, Infinity, true)!;
    expect(tileRows(f32)).toEqual({ br: 32, bc: 32 });
    expect(tileRows(f16)).toEqual({ br: 64, bc: 64 });
    expect(forwardWorkgroupBytes(128, f16, true, true)).toBe(forwardWorkgroupBytes(128, f16, true) / 2);
    expect(tileFits(128, f16, gpu48k, 32)).toBe(false);
  });

  it('is chosen only where it buys a larger tile (D = 128 on a 48 KiB GPU, not D = 64, whose f32 tile is the largest)', () => {
    const caps = {
      limits: { ...gpu48k, maxComputeWorkgroupsPerDimension: 65535, minStorageBufferOffsetAlignment: 256, maxBufferSize: 2 ** 31 },
      maxBindingBytes: 2 ** 31,
      subgroupWidth: 32,
      tuned: new Map(),
    };
    expect(halfTileChoice({ ...caps, halfTiles: true }, 128, false, 4096).halfTiles).toBe(true);
    expect(halfTileChoice({ ...caps, halfTiles: true }, 64, false, 4096).halfTiles).toBe(false);
    expect(halfTileChoice({ ...caps, halfTiles: false }, 128, false, 4096)).toEqual({ tile: chooseForwardTile(128, gpu48k, 32), halfTiles: false });
  });

  it('keeps products and softmax in f32: tiles widen on read, only P is rounded to f16', () => {
    const tile = chooseForwardTile(64, gpu48k, 32, Infinity, true)!;
    const wgsl = forwardKernel({ headDim: 64, causal: false, tile, subgroups: true, half: true, halfTiles: true }).wgsl;
    expect(wgsl.startsWith('enable f16;')).toBe(true);
    expect(wgsl).toMatch(/var<workgroup> Ks: array<vec4<f16>/);
    expect(wgsl).toMatch(/let kv0 = vec4<f32>\(Ks\[/);
    expect(wgsl).toMatch(/= f16\(p\);/);
    expect(wgsl).not.toMatch(/var s = array<f16/);
    expect(() => forwardKernel({ headDim: 64, causal: false, tile, halfTiles: true })).toThrow(/f16 tensors/);
  });

  it('is an option of createAttention: shaderF16 must be a boolean; off (or no shader-f16) keeps the storage tier', async () => {
    await expect(createAttention({ backend: 'cpu', shaderF16: 'yes' as unknown as boolean })).rejects.toThrow(/shaderF16/);
    const attn = await createAttention({ backend: 'cpu', shaderF16: false });
    expect(dtypeTiers(attn).f16).toBe('f16-values');
    attn.destroy();
  });
});
