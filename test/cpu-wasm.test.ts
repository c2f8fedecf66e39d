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
import { WASM_CASES, type WasmCase } from './wasm-cases.js';
import { checkAgainstReference, host, permute, rng, shape4, testSeed } from './helpers.js';

type Kernel = NonNullable<Awaited<ReturnType<typeof loadWasmKernel>>>;

type Case = WasmCase;

const CASES = WASM_CASES;

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
