/*
 * The teaching kernel (src/kernels/basic.ts) on a WebGPU device, through a small
 * harness of its own (the kernel is not wired into the runtime yet): a named grid
 * against the float64 reference (one control case, then one axis at a time), and a
 * differential check against the fused 'flash' kernel through the public API on the
 * same inputs and the same device. Outputs are poisoned with NaN before each run,
 * so an element the kernel never writes fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import { randomData } from '../src/harness/random.js';
import { basicGrid, basicKernel, basicParams, BASIC_PARAMS } from '../src/kernels/basic.js';
import { packParams } from '../src/kernels/params.js';
import { referenceForward, type HostTensor } from '../src/reference/forward.js';
import { acquireDevice } from '../src/runtime/device.js';
import { encodeDispatches, prepareDispatch } from '../src/runtime/encode.js';
import { getPipeline } from '../src/runtime/pipelines.js';
import { dimsOf, stridesOf, type Layout, type Shape4 } from '../src/tensor/shape.js';
import type { Problem } from '../src/tensor/validate.js';
import { maxErr, permute, rng, testSeed } from './helpers.js';

interface Case extends Problem {
  readonly causal: boolean;
  readonly layout: Layout;
  /** Inputs uniform in ±amplitude (170 at D = 64 gives logits of ±1e4). */
  readonly amplitude: number;
  /** Softmax scale; default 1/√D. */
  readonly scale?: number;
}

const CONTROL: Case = {
  batch: 1,
  headsQ: 2,
  headsKv: 2,
  seqQ: 64,
  seqK: 64,
  headDim: 64,
  causal: false,
  layout: 'bhnd',
  amplitude: 1,
};

/** The grid: the control case, then one axis varied at a time. */
const GRID: readonly [string, Partial<Case>][] = [
  ['control', {}],
  ...[1, 17, 127, 129].map((n): [string, Partial<Case>] => [`seq=${n}`, { seqQ: n, seqK: n }]),
  ['seqQ=129,seqK=17', { seqQ: 129, seqK: 17 }],
  ['seqQ=17,seqK=129', { seqQ: 17, seqK: 129 }],
  ...[32, 80, 96, 128, 256].map((d): [string, Partial<Case>] => [`headDim=${d}`, { headDim: d }]),
  ...[2, 4, 8].map((g): [string, Partial<Case>] => [`gqa=${g}`, { headsQ: 8, headsKv: 8 / g }]),
  ['causal', { causal: true }],
  ['causal,seqQ=100,seqK=40 (60 rows see no key)', { causal: true, seqQ: 100, seqK: 40 }],
  ['causal,seqQ=17,seqK=129', { causal: true, seqQ: 17, seqK: 129 }],
  ['layout=bnhd', { layout: 'bnhd' }],
  ['logits=1e4', { amplitude: 170 }],
  ['batch=2', { batch: 2 }],
  ['scale=0.5', { scale: 0.5 }],
];

const F32_ROUNDOFF = 2 ** -24;
const shapes = (c: Case): [Shape4, Shape4] => [
  { batch: c.batch, heads: c.headsQ, seq: c.seqQ, headDim: c.headDim },
  { batch: c.batch, heads: c.headsKv, seq: c.seqK, headDim: c.headDim },
];
const scaleOf = (c: Case) => c.scale ?? 1 / Math.sqrt(c.headDim);

/** Random q, k, v in the case's layout (float32 values, so every computation sees the same inputs). */
function inputs(c: Case, seed: number): [HostTensor, HostTensor, HostTensor] {
  const rand = rng(seed);
  const [sq, skv] = shapes(c);
  const t = (s: Shape4): HostTensor => ({
    data: randomData(
      dimsOf(s).reduce((a, b) => a * b),
      rand,
      c.amplitude,
    ),
    shape: s,
    layout: c.layout,
  });
  return [t(sq), t(skv), t(skv)];
}

let device: GPUDevice;
let attn: Attention;
beforeAll(async () => {
  device = (await acquireDevice()).device;
  attn = await createAttention({ backend: { device }, poisonOutputs: true });
});
afterAll(() => {
  attn?.destroy();
  device?.destroy();
});

/** Runs the basic kernel; O comes back in the case's layout, LSE as [B, Hq, Nq]. */
async function runBasic(c: Case, q: HostTensor, k: HostTensor, v: HostTensor): Promise<{ o: Float32Array; lse: Float32Array }> {
  const spec = basicKernel(c.headDim);
  const storage = (data: Float32Array | Float64Array, usage = 0) => {
    const buf = device.createBuffer({ label: spec.label, size: data.length * 4, usage: GPUBufferUsage.STORAGE | usage, mappedAtCreation: true });
    new Float32Array(buf.getMappedRange()).set(data);
    buf.unmap();
    return buf;
  };
  const strides = { q: stridesOf(q.shape, c.layout), k: stridesOf(k.shape, c.layout), v: stridesOf(v.shape, c.layout), out: stridesOf(q.shape, c.layout) };
  const paramBytes = packParams(BASIC_PARAMS, basicParams(c, strides, scaleOf(c), c.causal));
  const params = device.createBuffer({ label: spec.label, size: paramBytes.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(params, 0, paramBytes);
  const copySrc = GPUBufferUsage.COPY_SRC;
  const [out, lse] = [q.data.length, c.batch * c.headsQ * c.seqQ].map((n) => storage(new Float32Array(n).fill(NaN), copySrc)) as [GPUBuffer, GPUBuffer];
  const buffers = { params, q: storage(q.data), k: storage(k.data), v: storage(v.data), out, lse };
  const dispatch = prepareDispatch(device, spec, await getPipeline(device, spec), buffers, basicGrid(c));
  const encoder = device.createCommandEncoder({ label: spec.label });
  encodeDispatches(encoder, [dispatch]);
  const reads = [out, lse].map((b) => {
    const r = device.createBuffer({ label: spec.label, size: b.size, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    encoder.copyBufferToBuffer(b, 0, r, 0, b.size);
    return r;
  });
  device.queue.submit([encoder.finish()]);
  const [o, l] = await Promise.all(
    reads.map(async (r) => {
      await r.mapAsync(GPUMapMode.READ);
      return new Float32Array(r.getMappedRange().slice(0));
    }),
  );
  [...Object.values(buffers), ...reads].forEach((b) => b.destroy());
  return { o: o!, lse: l! };
}

/** Indices (b, h, q, d) of element i of a bhnd [B, H, N, D] array. */
function where(i: number, s: Shape4): string {
  const d = i % s.headDim;
  const n = Math.floor(i / s.headDim) % s.seq;
  const h = Math.floor(i / (s.headDim * s.seq)) % s.heads;
  return `(b ${Math.floor(i / (s.headDim * s.seq * s.heads))}, h ${h}, q ${n}, d ${d})`;
}

/**
 * The float64 reference and the tolerance of DESIGN.md, as verify computes it: 2× the
 * error of a plain float32 naive computation against float64 (at least what rounding
 * logits to float32 may cause), plus 1e-6 absolute.
 */
function expected(c: Case, q: HostTensor, k: HostTensor, v: HostTensor) {
  const opts = { causal: c.causal, scale: scaleOf(c) };
  const ref = referenceForward(q, k, v, opts);
  const ref32 = referenceForward(q, k, v, { ...opts, precision: 'f32' });
  const maxLogit = ref.lse.reduce((m, x) => (Number.isFinite(x) ? Math.max(m, Math.abs(x)) : m), 0);
  const maxV = Array.from(v.data).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const tol = (want32: Float64Array, want: Float64Array, floor: number) => 2 * Math.max(maxErr(want32, want).err, floor) + 1e-6;
  return {
    ref,
    tolO: tol(ref32.out, ref.out, F32_ROUNDOFF * maxLogit * maxV),
    tolLse: tol(ref32.lse, ref.lse, F32_ROUNDOFF * maxLogit),
  };
}

/** O (bhnd) and LSE against the reference; rows that see no key must be exactly O = 0, LSE = −∞. */
function check(c: Case, q: HostTensor, k: HostTensor, v: HostTensor, oBhnd: ArrayLike<number>, lse: ArrayLike<number>): string | undefined {
  const { ref, tolO, tolLse } = expected(c, q, k, v);
  const [sq] = shapes(c);
  for (const [name, got, want, tol, shape] of [
    ['O', oBhnd, ref.out, tolO, sq],
    ['LSE', lse, ref.lse, tolLse, { ...sq, headDim: 1 }],
  ] as const) {
    const { err, at } = maxErr(got, want);
    if (err > tol) return `${name}${where(at, shape)}: expected ${want[at]}, got ${got[at]} (|err| ${err} > tol ${tol})`;
  }
  for (let row = 0; row < ref.lse.length; row++) {
    if (ref.lse[row] !== -Infinity) continue;
    for (let d = 0; d < c.headDim; d++) {
      const i = row * c.headDim + d;
      if (!Object.is(oBhnd[i], 0)) return `O${where(i, sq)} of a row that sees no key: expected 0, got ${oBhnd[i]}`;
    }
  }
  return undefined;
}

describe('basic kernel against the float64 reference', () => {
  for (const [name, change] of GRID) {
    it(name, async () => {
      const c = { ...CONTROL, ...change };
      const seed = testSeed();
      const [q, k, v] = inputs(c, seed);
      const { o, lse } = await runBasic(c, q, k, v);
      const oBhnd = c.layout === 'bhnd' ? o : permute(o, q.shape, true);
      expect(check(c, q, k, v, oBhnd, lse), `[seed ${seed}]`).toBeUndefined();
      if (c.causal && c.seqQ > c.seqK) expect(lse.slice(0, c.seqQ - c.seqK).every((x) => x === -Infinity)).toBe(true);
    });
  }
});

describe("basic kernel against the fused 'flash' kernel (public API, same inputs)", () => {
  const shapesToCompare: [string, Case][] = [
    [
      'B=2,Hq=4,Hkv=2,Nq=100,Nk=70,D=64,causal,bnhd',
      { batch: 2, headsQ: 4, headsKv: 2, seqQ: 100, seqK: 70, headDim: 64, causal: true, layout: 'bnhd', amplitude: 1 },
    ],
    // Both causal at D = 64: one fused pipeline to compile (seconds each on SwiftShader).
    ['B=1,Hq=4,Hkv=2,N=129,D=64,causal', { ...CONTROL, headsQ: 4, seqQ: 129, seqK: 129, causal: true }],
  ];
  for (const [name, c] of shapesToCompare) {
    it(name, async () => {
      const seed = testSeed();
      const [q, k, v] = inputs(c, seed);
      const basic = await runBasic(c, q, k, v);
      const [tq, tk, tv] = [q, k, v].map((t) => attn.tensor(Float32Array.from(t.data), dimsOf(t.shape), { layout: c.layout }));
      const { out, lse } = await attn.forward(tq!, tk!, tv!, { causal: c.causal, scale: scaleOf(c), algorithm: 'flash', returnLse: true });
      const flash = { o: await out.read(), lse: await lse!.read() };
      [tq!, tk!, tv!, out, lse!].forEach((t) => t.destroy());
      const [sq] = shapes(c);
      const bhnd = (o: Float32Array) => (c.layout === 'bhnd' ? o : permute(o, sq, true));
      // Each kernel is within the tolerance of the reference …
      expect(check(c, q, k, v, bhnd(basic.o), basic.lse), `basic [seed ${seed}]`).toBeUndefined();
      expect(check(c, q, k, v, bhnd(flash.o), flash.lse), `flash [seed ${seed}]`).toBeUndefined();
      // … so they agree with each other within twice it (masked rows: both exactly 0 and −∞).
      const { tolO, tolLse } = expected(c, q, k, v);
      for (const [name, a, b, tol] of [
        ['O', basic.o, flash.o, tolO],
        ['LSE', basic.lse, flash.lse, tolLse],
      ] as const) {
        const { err, at } = maxErr(a, b);
        expect(err, `${name}[${at}]: basic ${a[at]}, flash ${b[at]} [seed ${seed}]`).toBeLessThanOrEqual(2 * tol);
      }
    });
  }
});
