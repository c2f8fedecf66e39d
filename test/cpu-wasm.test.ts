/*
 * The CPU backend's WebAssembly SIMD forward kernel (src/cpu/wasm-forward.ts) against
 * the float64 reference on fresh random inputs, outputs poisoned with NaN: a control
 * case, then one axis at a time — causal, GQA, odd N (not a multiple of the 4-row
 * micro-block, the 8-key group or the 64-key tile), Nq ≠ Nk, head dims, layout, sinks,
 * large logits, non-finite values; and the switch back to the JS kernel.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createAttention } from '../src/api/attention.js';
import { loadWasmKernel, wasmForward } from '../src/cpu/wasm-forward.js';
import { randomData } from '../src/harness/random.js';
import { resolvePositions } from '../src/mods/positions.js';
import type { Layout } from '../src/tensor/shape.js';
import { checkAgainstReference, host, permute, rng, shape4, testSeed } from './helpers.js';

type Kernel = NonNullable<Awaited<ReturnType<typeof loadWasmKernel>>>;

interface Case {
  readonly b?: number;
  readonly hq?: number;
  readonly hkv?: number;
  readonly nq: number;
  readonly nk?: number;
  readonly d: number;
  readonly causal?: boolean;
  readonly layout?: Layout;
  readonly sinks?: boolean;
  /** Multiplies q, so logits reach ±1e4 at 100. */
  readonly qScale?: number;
  /** Per-batch query positions (keys at 0): the causal shift the kernel is given. */
  readonly queryOffset?: number[];
}

const CASES: Record<string, Case> = {
  control: { nq: 64, d: 64 },
  causal: { nq: 64, d: 64, causal: true },
  'gqa 4:1 causal': { hq: 8, hkv: 2, nq: 40, d: 64, causal: true },
  'gqa 8:1': { hq: 8, hkv: 1, nq: 33, d: 32 },
  'N=1': { nq: 1, d: 64 },
  'N=17 causal': { nq: 17, d: 64, causal: true },
  'N=127 causal': { nq: 127, d: 64, causal: true },
  'N=129': { nq: 129, d: 64 },
  'N=200 causal, 2 batches': { b: 2, nq: 200, d: 64, causal: true },
  'Nq=5 < Nk=131 causal': { nq: 5, nk: 131, d: 64, causal: true },
  'Nq=70 > Nk=23 causal (rows with no key)': { nq: 70, nk: 23, d: 64, causal: true },
  'D=16': { nq: 37, d: 16 },
  'D=80 causal': { nq: 75, d: 80, causal: true },
  'D=96': { nq: 50, d: 96 },
  'D=128 causal': { nq: 130, d: 128, causal: true },
  'D=256 causal': { nq: 70, d: 256, causal: true },
  'bnhd causal': { hq: 4, hkv: 2, nq: 45, d: 64, causal: true, layout: 'bnhd' },
  'sinks causal': { hq: 4, nq: 30, d: 64, causal: true, sinks: true },
  'logits ±1e4': { nq: 50, d: 64, qScale: 100 },
  // A bug this caught: the kernel was given Nk − Nq as the causal shift whatever the positions.
  'per-batch query positions, causal': { b: 2, nq: 6, nk: 50, d: 64, causal: true, queryOffset: [3, 40] },
};

function runCase(kernel: Kernel, c: Case, seed: number): string | undefined {
  const rand = rng(seed);
  const [B, Hq, Hkv, Nq, Nk, D] = [c.b ?? 1, c.hq ?? 2, c.hkv ?? c.hq ?? 2, c.nq, c.nk ?? c.nq, c.d];
  const layout = c.layout ?? 'bhnd';
  const qd = randomData(B * Hq * Nq * D, rand).map((x) => x * (c.qScale ?? 1));
  const kd = randomData(B * Hkv * Nk * D, rand);
  const vd = randomData(B * Hkv * Nk * D, rand);
  const sinks = c.sinks ? Array.from({ length: Hq }, () => rand() * 4 - 2) : undefined;
  const as = (data: Float32Array, h: number, n: number) => (layout === 'bhnd' ? data : permute(data, shape4([B, h, n, D])));
  const r = wasmForward(kernel, {
    problem: { batch: B, headsQ: Hq, headsKv: Hkv, seqQ: Nq, seqK: Nk, headDim: D },
    q: as(qd, Hq, Nq),
    k: as(kd, Hkv, Nk),
    v: as(vd, Hkv, Nk),
    qLayout: layout,
    kLayout: layout,
    vLayout: layout,
    scale: 1 / Math.sqrt(D),
    causal: c.causal ?? false,
    poison: true,
    sinks,
    positions: c.queryOffset && resolvePositions(B, Nq, Nk, c.queryOffset, 0),
  });
  const out = layout === 'bhnd' ? r.out : permute(r.out, shape4([B, Hq, Nq, D]), true);
  const q = host(qd, [B, Hq, Nq, D]);
  const k = host(kd, [B, Hkv, Nk, D]);
  const v = host(vd, [B, Hkv, Nk, D]);
  return checkAgainstReference(out, r.lse, q, k, v, c.causal ?? false, { sinks, queryOffset: c.queryOffset, keyOffset: c.queryOffset && 0 });
}

describe('cpu wasm kernel against the float64 reference', () => {
  let kernel: Kernel;
  beforeAll(async () => {
    const k = await loadWasmKernel();
    if (!k) throw new Error('this Node has no WebAssembly SIMD');
    kernel = k;
  });

  for (const [name, c] of Object.entries(CASES)) {
    it(name, () => {
      const seed = testSeed();
      expect(runCase(kernel, c, seed), `[seed ${seed}]`).toBeUndefined();
    });
  }

  it('non-finite values: NaN in q and k, inf in V reach exactly the rows that see them (causal)', () => {
    const [N, D] = [70, 64];
    const rand = rng(testSeed());
    const [q, k, v] = [0, 1, 2].map(() => randomData(N * D, rand)) as [Float32Array, Float32Array, Float32Array];
    q[7 * D + 3] = NaN; // row 7
    k[40 * D + 1] = NaN; // rows ≥ 40
    v[20 * D] = Infinity; // rows ≥ 20 (and NaN from row 40 on)
    const r = wasmForward(kernel, {
      problem: { batch: 1, headsQ: 1, headsKv: 1, seqQ: N, seqK: N, headDim: D },
      ...{ q, k, v, qLayout: 'bhnd', kLayout: 'bhnd', vLayout: 'bhnd' },
      ...{ scale: 0.125, causal: true, poison: true },
    });
    for (let i = 0; i < N; i++) {
      const row = r.out.subarray(i * D, (i + 1) * D);
      const nanRow = i === 7 || i >= 40;
      expect(Number.isNaN(r.lse[i]!), `lse row ${i}`).toBe(nanRow);
      expect(Number.isNaN(row[0]!), `out row ${i}, d 0`).toBe(nanRow);
      if (!nanRow) expect(row[0], `out row ${i}, d 0`).toBe(i >= 20 ? Infinity : row[0]);
      if (!nanRow) expect(row.slice(1).every(Number.isFinite), `out row ${i}`).toBe(true);
    }
  });
});

describe('cpu backend: wasm and JS kernels agree', () => {
  it.each([true, false])('wasm: %s', async (wasm) => {
    const attn = await createAttention({ backend: 'cpu', poisonOutputs: true, cpu: { wasm } });
    const data = Float32Array.from({ length: 2 * 33 * 64 }, (_, i) => Math.sin(i * 0.37));
    const t = attn.tensor(data, [1, 2, 33, 64]);
    const { out, lse } = await attn.forward(t, t, t, { causal: true, returnLse: true });
    const q = host(data, [1, 2, 33, 64]);
    expect(checkAgainstReference(await out.read(), await lse!.read(), q, q, q, true)).toBeUndefined();
  });
});
