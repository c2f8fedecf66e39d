/*
 * The CPU backend's WebAssembly SIMD backward (src/cpu/wasm-backward.ts) against the
 * float64 reference gradients on fresh random inputs, gradients poisoned with NaN: a
 * control case, then one axis at a time — causal, GQA, odd N (not a multiple of the
 * 4-row micro-block, the 8-key group or the 64-key tile), Nq ≠ Nk, head dims, layout,
 * sinks, large logits, per-batch positions. Then through the backend: f16 tensors,
 * the wasm and JS backwards agreeing, and the calls that fall back to the JS backward.
 * (Bit-identity across worker counts: test/cpu-workers.test.ts.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createAttention } from '../src/api/attention.js';
import type { CpuBackwardArgs } from '../src/cpu/backward.js';
import { loadWasmKernel } from '../src/cpu/wasm-forward.js';
import { wasmBackward, wasmBackwardFits } from '../src/cpu/wasm-backward.js';
import { randomData } from '../src/harness/random.js';
import { runBackwardCase } from '../src/harness/verify-backward.js';
import { F32_ROUNDOFF, maxAbsFinite, verifyCases } from '../src/harness/verify.js';
import { alibi, alibiSlopes, learnedSinks } from '../src/mods/builtins.js';
import { resolvePositions } from '../src/mods/positions.js';
import { referenceBackward } from '../src/reference/backward.js';
import { referenceForward } from '../src/reference/forward.js';
import { WASM_CASES, type WasmCase } from './wasm-cases.js';
import { host, maxErr, permute, rng, shape4, testSeed } from './helpers.js';

type Kernel = NonNullable<Awaited<ReturnType<typeof loadWasmKernel>>>;

type Case = WasmCase;

const CASES: Record<string, Case> = {
  ...WASM_CASES,
  'Nq=150 > Nk=67': { nq: 150, nk: 67, d: 64 },
  'D=20 (not a multiple of 8)': { nq: 30, d: 20, causal: true },
  'sinks, gqa 2:1': { hq: 4, hkv: 2, nq: 70, d: 32, sinks: true },
};

/** The verify harness's gradient tolerance (src/harness/verify-backward.ts), for one gradient. */
function tolerance(want: Float64Array, maxLogit: number, cancellation: number): number {
  return (1e-4 + 16 * F32_ROUNDOFF * maxLogit) * maxAbsFinite(want) + cancellation + 1e-6;
}

function runCase(kernel: Kernel, c: Case, seed: number): string | undefined {
  const rand = rng(seed);
  const [B, Hq, Hkv, Nq, Nk, D] = [c.b ?? 1, c.hq ?? 2, c.hkv ?? c.hq ?? 2, c.nq, c.nk ?? c.nq, c.d];
  const layout = c.layout ?? 'bhnd';
  const qd = randomData(B * Hq * Nq * D, rand).map((x) => x * (c.qScale ?? 1));
  const [kd, vd] = [randomData(B * Hkv * Nk * D, rand), randomData(B * Hkv * Nk * D, rand)];
  const dod = randomData(B * Hq * Nq * D, rand);
  const sinks = c.sinks ? Array.from({ length: Hq }, () => rand() * 4 - 2) : undefined;
  const [q, k, v, dout] = [host(qd, [B, Hq, Nq, D]), host(kd, [B, Hkv, Nk, D]), host(vd, [B, Hkv, Nk, D]), host(dod, [B, Hq, Nq, D])];
  const opts = { causal: c.causal ?? false, sinks: sinks && Float64Array.from(sinks), queryOffset: c.queryOffset, keyOffset: c.queryOffset && 0 };
  const fwd = referenceForward(q, k, v, opts);
  const ref = referenceBackward(q, k, v, dout, opts);
  const [sq, skv] = [shape4([B, Hq, Nq, D]), shape4([B, Hkv, Nk, D])];
  const as = (data: ArrayLike<number>, s: typeof sq) => (layout === 'bhnd' ? Float32Array.from(data) : permute(data, s));
  const g = wasmBackward(kernel, {
    problem: { batch: B, headsQ: Hq, headsKv: Hkv, seqQ: Nq, seqK: Nk, headDim: D },
    ...{ q: as(qd, sq), k: as(kd, skv), v: as(vd, skv), out: as(fwd.out, sq), dout: as(dod, sq), lse: Float32Array.from(fwd.lse) },
    ...{ qLayout: layout, kLayout: layout, vLayout: layout, scale: 1 / Math.sqrt(D), causal: c.causal ?? false, poison: true, sinks },
    positions: c.queryOffset && resolvePositions(B, Nq, Nk, c.queryOffset, 0),
  });
  const back = (data: Float32Array, s: typeof sq) => (layout === 'bhnd' ? data : permute(data, s, true));
  const maxLogit = maxAbsFinite(fwd.lse);
  const dp = 4 * F32_ROUNDOFF * D * maxAbsFinite(dod) * maxAbsFinite(vd) * (1 / Math.sqrt(D));
  const checks: [string, Float32Array, Float64Array, number][] = [
    ['dQ', back(g.dq, sq), ref.dq, dp * maxAbsFinite(kd)],
    ['dK', back(g.dk, skv), ref.dk, dp * maxAbsFinite(qd)],
    ['dV', back(g.dv, skv), ref.dv, 0],
  ];
  if (ref.dsinks) checks.push(['dsinks', g.dsinks!, ref.dsinks, 0]);
  for (const [name, got, want, cancellation] of checks) {
    const tol = tolerance(want, maxLogit, cancellation);
    const { err, at } = maxErr(got, want);
    if (err > tol) return `${name}[${at}]: expected ${want[at]}, got ${got[at]} (|err| ${err} > tol ${tol})`;
  }
  return undefined;
}

describe('cpu wasm backward against the float64 reference', () => {
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
});

describe('cpu backend backward: wasm and JS', () => {
  const f16Cases = verifyCases().filter((c) => c.dtype === 'f16' && !c.variant && !c.decodeKernel && !c.infInV);
  for (const c of f16Cases) {
    it(`wasm backward, ${c.name}`, async () => {
      const attn = await createAttention({ backend: 'cpu', poisonOutputs: true, cpu: { wasm: true, threads: 1 } });
      const r = await runBackwardCase(attn, c, testSeed());
      expect(r.ok, `${r.message} [seed ${r.seed}]`).toBe(true);
    });
  }

  /**
   * dQ, dK, dV, dsinks of one backward on fixed inputs, on the wasm or the JS backward; O and
   * LSE from the JS forward either way, so both backwards see the same inputs.
   */
  async function grads(wasm: boolean, opts: object, infInV = false) {
    const rand = rng(41);
    const dims = [1, 4, 77, 64] as const;
    const [qd, kd, vd, dod] = [0, 1, 2, 3].map(() => randomData(4 * 77 * 64, rand)) as [Float32Array, Float32Array, Float32Array, Float32Array];
    if (infInV) vd[5 * 64 + 2] = Infinity;
    const js = await createAttention({ backend: 'cpu', cpu: { wasm: false, threads: 1 } });
    const f = await js.forward(...([qd, kd, vd].map((x) => js.tensor(x, [...dims])) as [never, never, never]), { ...opts, returnLse: true });
    const [od, lsed] = [await f.out.read(), await f.lse!.read()];
    const attn = await createAttention({ backend: 'cpu', cpu: { wasm, threads: 1 } });
    const [q, k, v, dOut, out] = [qd, kd, vd, dod, od].map((x) => attn.tensor(x, [...dims]));
    const lse = attn.tensor(lsed, [1, 4, 77, 1]);
    const g = await attn.backward(dOut!, { q: q!, k: k!, v: v!, out: out!, lse }, opts);
    return { dq: await g.dq.read(), dk: await g.dk.read(), dv: await g.dv.read(), dsinks: g.dsinks };
  }

  it('wasm on and off agree (causal, sinks)', async () => {
    const opts = { causal: true, sinks: learnedSinks([0.5, -1, 2, 0]) };
    const [w, j] = [await grads(true, opts), await grads(false, opts)];
    for (const key of ['dq', 'dk', 'dv'] as const) {
      const { err, at } = maxErr(w[key], j[key]);
      expect(err, `${key}[${at}]`).toBeLessThan(1e-4 * maxAbsFinite(j[key]) + 1e-6);
    }
    expect(maxErr(new Float32Array(w.dsinks!), new Float32Array(j.dsinks!)).err).toBeLessThan(1e-5);
    // Not the same code: the wasm backward accumulates in f32, the JS one in float64.
    expect(maxErr(w.dq, j.dq).err).toBeGreaterThan(0);
  });

  it.each([
    ['a score modifier', { score: alibi(alibiSlopes(4)) }, false],
    ['an inf in V', { causal: true }, true],
  ] as const)('%s falls back to the JS backward (bit-identical to wasm: false)', async (_, opts, infInV) => {
    const [w, j] = [await grads(true, opts, infInV), await grads(false, opts, infInV)];
    for (const key of ['dq', 'dk', 'dv'] as const) expect(w[key], key).toEqual(j[key]);
  });

  it('wasmBackwardFits: modifiers, table gradients, D > 256 and non-finite inputs stay on JS', () => {
    const n = 8 * 4;
    const base: CpuBackwardArgs = {
      problem: { batch: 1, headsQ: 1, headsKv: 1, seqQ: 8, seqK: 8, headDim: 4 },
      ...{ q: new Float32Array(n), k: new Float32Array(n), v: new Float32Array(n), out: new Float32Array(n), dout: new Float32Array(n) },
      ...{ lse: new Float32Array(8), qLayout: 'bhnd', kLayout: 'bhnd', vLayout: 'bhnd', scale: 0.5, causal: false },
    };
    expect(wasmBackwardFits(base)).toBe(true);
    expect(wasmBackwardFits({ ...base, mask: () => true })).toBe(false);
    expect(wasmBackwardFits({ ...base, score: (s) => s, scoreGrad: () => 1 })).toBe(false);
    expect(wasmBackwardFits({ ...base, problem: { ...base.problem, headDim: 264 } })).toBe(false);
    expect(wasmBackwardFits({ ...base, dout: new Float32Array(n).fill(NaN) })).toBe(false);
    // A fully masked row's LSE of −∞ is expected, not a reason to fall back.
    expect(wasmBackwardFits({ ...base, lse: new Float32Array(8).fill(-Infinity) })).toBe(true);
  });
});
