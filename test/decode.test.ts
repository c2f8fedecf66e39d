/*
 * The decode kernel (kernels/decode.ts): few query rows per K/V head over many keys, in
 * key ranges merged by split-K's combine. Forced on (decodeKernel: true) at small sizes
 * for SwiftShader, against the float64 reference: GQA groups, Nq > 1 with causal rows,
 * positions (ragged offsets), f16, head dims whose columns do not split evenly, sinks,
 * ranges no row sees, paged K/V; the plan, and the errors of asking for it where it cannot run.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { WebGpuBackend } from '../src/api/backends.js';
import type { Program } from '../src/kernels/program.js';
import { createAttention, type Attention } from '../src/api/attention.js';
import { decodeLayout, decodeRanges } from '../src/kernels/decode-program.js';
import { decodeKernel, decodeSizes } from '../src/kernels/decode.js';
import { warpDecodeKernel } from '../src/kernels/decode-warp.js';
import { alibi, alibiSlopes, learnedSinks } from '../src/mods/builtins.js';
import { AttentionInputError } from '../src/tensor/errors.js';
import type { AttentionCall, Caps } from '../src/kernels/call.js';
import { checkForward, plannedCall, type Dims } from './forward-check.js';
import { checkPaged } from './paged-check.js';
import { errorOf, randomHost, rng } from './helpers.js';
import { referenceForward } from '../src/reference/forward.js';

const caps: Caps = {
  limits: {
    maxComputeWorkgroupStorageSize: 16384,
    maxComputeInvocationsPerWorkgroup: 256,
    maxComputeWorkgroupsPerDimension: 65535,
    minStorageBufferOffsetAlignment: 256,
    maxBufferSize: 2 ** 30,
  },
  maxBindingBytes: 2 ** 27,
  subgroupWidth: 32,
  tuned: new Map(),
};

describe('decode kernel plan', () => {
  it('runs every call it can unless turned off, insists where forced; what cannot run says why', () => {
    const on = { decodeKernel: true } as const;
    expect(decodeLayout(plannedCall([1, 32, 1, 128], [1, 8, 32768, 128]), caps)).toBeDefined(); // by default
    expect(decodeLayout(plannedCall([1, 32, 1, 128], [1, 8, 32768, 128], { decodeKernel: false }), caps)).toBeUndefined();
    expect(decodeLayout(plannedCall([1, 32, 1, 128], [1, 8, 32768, 128], on), caps)).toBeDefined();
    // By default a call it cannot run goes to the fused kernel without a word.
    expect(decodeLayout(plannedCall([1, 8, 1, 64], [1, 8, 4096, 64], { score: alibi(alibiSlopes(8)) }), caps)).toBeUndefined();
    expect(decodeLayout(plannedCall([1, 8, 64, 64], [1, 8, 4096, 64]), caps)).toBeUndefined();
    // A forced tile is checked against the device.
    const tile = (t: { threads: number; lanes: number; loadBytes: number }) => () =>
      decodeLayout(plannedCall([1, 8, 1, 64], [1, 8, 4096, 64], { decodeKernel: t }), caps);
    expect(tile({ threads: 128, lanes: 8, loadBytes: 128 })()?.cfg).toMatchObject({ threads: 128, lanes: 8 });
    expect(tile({ threads: 512, lanes: 4, loadBytes: 256 })).toThrow(/threads must be a power of two ≤ 256/);
    expect(tile({ threads: 256, lanes: 3, loadBytes: 256 })).toThrow(/lanes must be a power of two ≤ 16/);
    // A small forced tile: the rows that meet per round are written by one invocation per (row, column),
    // so they fit its invocations; and every row's max is set up by one invocation (rows ≤ threads).
    const small = decodeLayout(plannedCall([1, 2, 4, 32], [1, 1, 5000, 32], { decodeKernel: { threads: 32, lanes: 1, loadBytes: 64 } }), caps)!;
    expect(small.cfg.roundRows * decodeSizes(small.cfg).d4).toBeLessThanOrEqual(32);
    expect(() => decodeLayout(plannedCall([1, 4, 4, 32], [1, 1, 5000, 32], { decodeKernel: { threads: 8, lanes: 1, loadBytes: 256 } }), caps)).toThrow(
      /decodeKernel.threads 8 cannot hold 16 query rows/,
    );
    // A huge loadBytes is planned at once (the keys ahead start where the scores still fit), not key by key.
    const t0 = performance.now();
    expect(tile({ threads: 256, lanes: 4, loadBytes: 2 ** 30 })()?.cfg.keysAhead).toBeGreaterThan(1);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(decodeLayout(plannedCall([1, 2, 1, 64], [1, 2, 10, 64], on), caps)).toBeDefined(); // short caches too
    const cannot =
      (extra: Partial<AttentionCall>, q: Dims = [1, 8, 1, 64], kv: Dims = [1, 8, 4096, 64]) =>
      () =>
        decodeLayout(plannedCall(q, kv, { ...on, ...extra }), caps);
    expect(cannot({ score: alibi(alibiSlopes(8)) })).toThrow(/score or mask modifier/);
    expect(cannot({ tile: { tx: 8, ty: 8, rm: 1, cn: 2, shareKv: false } })).toThrow(/tile is forced/);
    expect(cannot({}, [1, 8, 64, 64])).toThrow(/64 query rows per K\/V head/);
    expect(cannot({}, [1, 32, 1, 64], [1, 1, 4096, 64])).toThrow(/32 query rows per K\/V head \(group × Nq\) exceed 16/);
    expect(cannot({ algorithm: 'naive' })).toThrow(/algorithm 'naive'/);
  });

  it('ranges hold at most the keys that fit workgroup memory, and more while the GPU would be idle', () => {
    // 8 workgroups (one per K/V head): 32 ranges to reach 256 workgroups of 256, ≥ 64 keys each.
    expect(decodeRanges(8192, 8, 1024, 256).length).toBe(32);
    expect(decodeRanges(32768, 8, 256, 256).length).toBe(128); // bound by 256 keys a range
    expect(decodeRanges(1000, 8, 1024, 256).length).toBe(16); // 64 keys each at least
    expect(decodeRanges(32768, 512, 1024, 256).length).toBe(32); // full already: fewest ranges
    expect(decodeRanges(300, 1, 1024, 256, 3)).toEqual([
      [0, 100],
      [100, 200],
      [200, 300],
    ]);
    const r = decodeRanges(5000, 2, 256, 256);
    expect(r[0]![0]).toBe(0);
    expect(r.at(-1)![1]).toBe(5000);
    for (let i = 1; i < r.length; i++) expect(r[i]![0]).toBe(r[i - 1]![1]);
    for (const [lo, hi] of r) expect(hi - lo).toBeLessThanOrEqual(256);
  });

  it('its workgroup memory is what it declares, within the limit it was planned for', () => {
    const layout = decodeLayout(plannedCall([1, 32, 2, 128], [1, 8, 8192, 128], { decodeKernel: true }), caps)!;
    expect(layout.cfg.pack * layout.cfg.seqQ).toBe(8);
    const spec = decodeKernel(layout.cfg);
    expect(spec.workgroupBytes).toBeLessThanOrEqual(caps.limits.maxComputeWorkgroupStorageSize);
    expect(spec.wgsl).toContain(`sc: array<vec4<f32>, ${2 * decodeSizes(layout.cfg).keys}>`); // key-major, 8 rows in 2 vec4s
    // 16 rows of D = 256 do not fit 16 KiB (their Q rows alone take it all).
    expect(() => decodeLayout(plannedCall([1, 16, 4, 256], [1, 4, 8192, 256], { decodeKernel: true }), caps)).toThrow(/workgroup memory/);
  });
});

describe('subgroup decode kernel (decode-warp.ts): planned where subgroups have exactly 32 lanes', () => {
  // SwiftShader's subgroups have 4 lanes, so this kernel runs on the GPU machine only (verify's decode
  // cases at D = 128 passed on it on the H200, docs/PERF.md); here: its plan, its refusals, and its WGSL.
  const caps32: Caps = { ...caps, subgroupExact: 32, limits: { ...caps.limits, maxComputeWorkgroupStorageSize: 49152 } };

  it("asked for (decodeKernel: 'subgroups'), takes D = 128 with up to 8 rows; anything else says why", () => {
    const sg = { decodeKernel: 'subgroups' } as const;
    const layout = decodeLayout(plannedCall([1, 32, 1, 128], [1, 8, 32768, 128], sg), caps32)!;
    expect(layout.warp?.cfg.subgroups).toBe(8);
    expect([layout.warp?.cfg.wideK, layout.warp?.cfg.wideV]).toEqual([undefined, undefined]); // f32 rows are 16 bytes already
    const half = decodeLayout(plannedCall([1, 32, 1, 128], [1, 8, 32768, 128], { ...sg, dtype: 'f16' }), caps32)!;
    expect([half.warp?.cfg.wideK, half.warp?.cfg.wideV]).toEqual([true, true]); // f16: 16-byte loads
    // ~2048 subgroups in all: 256 ranges per head of 128 keys, 8 to a workgroup.
    expect(layout.warp?.rangeKeys).toBe(128);
    expect(layout.ranges.length).toBe(32);
    expect(layout.ranges[1]).toEqual([1024, 2048]);
    expect(decodeLayout(plannedCall([1, 32, 1, 128], [1, 8, 32768, 128], { ...sg, keySplits: 64 }), caps32)?.warp?.rangeKeys).toBe(512);
    const few = decodeLayout(plannedCall([1, 8, 1, 128], [1, 2, 100, 128], sg), caps32)!; // ⌈100 / 64⌉ ranges, rounded up to a workgroup of 8
    expect([few.warp?.rangeKeys, few.ranges]).toEqual([13, [[0, 100]]]);
    expect(decodeLayout(plannedCall([1, 8, 2, 128], [1, 2, 4096, 128], { ...sg, causal: true }), caps32)?.warp?.cfg).toMatchObject({
      causal: true,
      seqQ: 2,
      pack: 4,
    });
    const cannot =
      (q: Dims, kv: Dims, c: Caps = caps32) =>
      () =>
        decodeLayout(plannedCall(q, kv, sg), c);
    expect(cannot([1, 32, 1, 128], [1, 8, 4096, 128], caps)).toThrow(/exactly 32 lanes.*here: no subgroups of one width/); // SwiftShader-like caps
    expect(cannot([1, 32, 1, 64], [1, 8, 4096, 64])).toThrow(/head dim 64/);
    expect(cannot([1, 32, 4, 128], [1, 8, 4096, 128])).toThrow(/16 rows/);
  });

  it('by default where its plan has ≥ 1024 subgroups (B = 1, 8 K/V heads: from 8k keys), decode.ts below and where kept out', () => {
    const warp = (q: Dims, kv: Dims, opts = {}) => decodeLayout(plannedCall(q, kv, opts), caps32)?.warp;
    expect(warp([1, 32, 1, 128], [1, 8, 32768, 128])?.rangeKeys).toBe(128);
    expect(warp([1, 32, 1, 128], [1, 8, 8192, 128], { decodeKernel: true })).toBeDefined();
    expect(warp([1, 32, 1, 128], [1, 8, 4096, 128])).toBeUndefined(); // 512 subgroups: the barrier kernel
    expect(warp([16, 32, 1, 128], [16, 8, 2048, 128])?.rangeKeys).toBe(128); // the batch fills the GPU
    expect(warp([1, 32, 1, 128], [1, 8, 32768, 128], { decodeKernel: { threads: 256, lanes: 4, loadBytes: 256 } })).toBeUndefined();
    expect(decodeLayout(plannedCall([1, 32, 1, 128], [1, 8, 32768, 128]), caps)?.warp).toBeUndefined(); // no 32-lane subgroups
    // Just over the threshold (1152 subgroups), causal too; keySplits shapes the kernel's ranges but does not pick it.
    expect(warp([2, 32, 1, 128], [2, 8, 4100, 128])).toBeDefined();
    expect(warp([2, 32, 2, 128], [2, 8, 4100, 128], { causal: true })).toBeDefined();
    expect(warp([1, 32, 1, 128], [1, 8, 32768, 128], { keySplits: 16 })?.rangeKeys).toBe(2048);
    expect(warp([1, 32, 1, 128], [1, 8, 4096, 128], { keySplits: 512 })).toBeUndefined();
  });

  it('its modules are valid WGSL: f32 and f16 (16-byte loads too), 1 to 8 rows, causal chunks with positions, paged K/V', async () => {
    const attn = await createAttention({ backend: 'webgpu' });
    try {
      const device = attn.device!;
      const base = { seqQ: 1, pack: 4, causal: false, half: false, subgroups: 8 };
      const specs = [
        warpDecodeKernel(base),
        warpDecodeKernel({ ...base, half: true, pack: 1 }),
        warpDecodeKernel({ ...base, half: true, seqQ: 2, causal: true, positionsAt: 0, subgroups: 4 }),
        warpDecodeKernel({ ...base, pack: 8, pageSize: 16 }),
        warpDecodeKernel({ ...base, half: true, wideK: true, wideV: true }),
        warpDecodeKernel({ ...base, half: true, pack: 8, pageSize: 16, causal: true, seqQ: 1, wideK: true, wideV: true }),
        warpDecodeKernel({ ...base, half: true, seqQ: 2, pack: 2, causal: true, positionsAt: 0, wideK: true }),
        warpDecodeKernel({ ...base, half: true, wideV: true }),
        // Odd row counts (28 query heads over 4 K/V heads, 24 over 8, 3 rows of 1 head): halved as one more, a padding row.
        warpDecodeKernel({ ...base, pack: 7 }),
        warpDecodeKernel({ ...base, half: true, pack: 3, wideK: true, wideV: true }),
        warpDecodeKernel({ ...base, half: true, pack: 1, seqQ: 3, causal: true, positionsAt: 0, wideK: true, wideV: true }),
        warpDecodeKernel({ ...base, pack: 5, causal: true, pageSize: 16 }),
      ];
      for (const spec of specs) {
        const info = await device.createShaderModule({ label: spec.label, code: spec.wgsl }).getCompilationInfo();
        expect(
          info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`),
          spec.label,
        ).toEqual([]);
        expect(spec.workgroupBytes).toBeLessThanOrEqual(49152);
      }
    } finally {
      attn.destroy();
    }
  });
});

describe('decode kernel on the GPU', () => {
  let attn: Attention;
  beforeAll(async () => {
    attn = await createAttention({ backend: 'webgpu', poisonOutputs: true });
  });
  afterAll(() => attn?.destroy());
  const on = { decodeKernel: true } as const;

  it('one query row, GQA 4:1 and 1:1, ranges automatic, forced to 3, and one', async () => {
    for (const keySplits of [undefined, 3, 1]) await checkForward(attn, [1, 8, 1, 64], [1, 2, 700, 64], { ...on, keySplits });
    await checkForward(attn, [2, 2, 1, 32], [2, 2, 300, 32], on);
  });

  it('f16, head dims whose vec4 columns do not split evenly over lanes or invocations (80, 96), bnhd', async () => {
    await checkForward(attn, [1, 4, 1, 128], [1, 1, 520, 128], { ...on, dtype: 'f16' });
    await checkForward(attn, [1, 4, 2, 80], [1, 2, 260, 80], { ...on, causal: true });
    await checkForward(attn, [1, 2, 1, 96], [1, 2, 270, 96], on, 'bnhd');
  });

  it('Nq > 1 with causal rows, rows that see no key in some ranges, and Nq > Nk (rows that see none: LSE −∞)', async () => {
    await checkForward(attn, [2, 8, 4, 64], [2, 2, 300, 64], { ...on, causal: true, keySplits: 5 });
    await checkForward(attn, [1, 2, 8, 32], [1, 2, 5, 32], { ...on, causal: true });
  });

  it('rows that fill no whole vec4 of scores (padding rows in the key-major layout): 3 rows, 6 causal rows, 2 rows f16', async () => {
    await checkForward(attn, [1, 3, 1, 32], [1, 1, 300, 32], on);
    await checkForward(attn, [1, 4, 3, 32], [1, 2, 200, 32], { ...on, causal: true, keySplits: 2 });
    await checkForward(attn, [1, 2, 1, 64], [1, 1, 150, 64], { ...on, dtype: 'f16' });
  });

  it('positions: ragged per-sequence offsets with causal (as a KV cache reads past each sequence)', async () => {
    await checkForward(attn, [2, 4, 2, 64], [2, 2, 400, 64], { ...on, causal: true, queryOffset: [150, 397], keyOffset: 0, keySplits: 4 });
  });

  it('learned sinks join once, in the combine', async () => {
    await checkForward(attn, [1, 4, 1, 64], [1, 2, 300, 64], { ...on, sinks: learnedSinks([0.5, -1, 2, 30]), keySplits: 3 });
  });

  it('paged K/V: shuffled pages, ragged lengths, f32 and f16, GQA, causal chunk at the end', async () => {
    await checkPaged(attn, { hq: 4, hkv: 2, d: 32, nq: 1, lens: [300, 37, 5, 129], pageSize: 16, opts: on });
    await checkPaged(attn, { hq: 4, hkv: 1, d: 64, nq: 3, lens: [280, 90], pageSize: 8, half: true, opts: { ...on, causal: true } });
  });

  it('without subgroups: one lane per key row, no shuffles (and by default, as every device gets it)', async () => {
    const plain = await createAttention({ backend: 'webgpu', subgroups: false, poisonOutputs: true });
    const spy = vi.spyOn(plain.impl as WebGpuBackend, 'forwardProgram');
    try {
      await checkForward(plain, [1, 8, 1, 64], [1, 2, 700, 64], { dtype: 'f16' });
      await checkForward(plain, [1, 4, 2, 32], [1, 2, 300, 32], { causal: true, keySplits: 3 });
      expect(spy.mock.results.length).toBe(2);
      for (const r of spy.mock.results) expect((r.value as Program).labels[0]).toMatch(/^attention\.decode .* l1 t256/);
    } finally {
      plain.destroy();
    }
  });

  it('a forced small tile: 32 invocations, 8 rows of 8 vec4 columns (more than meet in one round of 32)', async () => {
    await checkForward(attn, [1, 2, 4, 32], [1, 1, 300, 32], { decodeKernel: { threads: 32, lanes: 1, loadBytes: 64 }, causal: true });
  });

  /** The decode kernel's O against the float64 reference: finite within 1e-5, NaN and inf exactly where it has them. */
  async function checkNonFinite(
    qd: ArrayLike<number>,
    kd: ArrayLike<number>,
    vd: ArrayLike<number>,
    qDims: Dims,
    kvDims: Dims,
    causal: boolean,
    keySplits: number,
  ) {
    const t = [attn.tensor(Float32Array.from(qd), qDims), attn.tensor(Float32Array.from(kd), kvDims), attn.tensor(Float32Array.from(vd), kvDims)];
    const { out } = await attn.forward(t[0]!, t[1]!, t[2]!, { ...on, causal, keySplits });
    const got = await out.read();
    [...t, out].forEach((x) => x.destroy());
    const host = (data: ArrayLike<number>, dims: Dims) => ({ ...randomHost(dims, () => 0), data: Float32Array.from(data) });
    const ref = referenceForward(host(qd, qDims), host(kd, kvDims), host(vd, kvDims), { causal }).out;
    const d = qDims[3];
    for (let i = 0; i < ref.length; i++) {
      const where = `O[${i}] (row ${Math.floor(i / d)}, column ${i % d})`;
      if (Number.isFinite(ref[i]!)) expect(Math.abs(got[i]! - ref[i]!), where).toBeLessThan(1e-5);
      else expect(got[i], where).toBe(ref[i]); // NaN or inf exactly where the reference has it
    }
    return ref;
  }

  it('non-finite: NaN in a key reaches only the rows that see it; inf and NaN in V add nothing to a row the key is masked for', async () => {
    // GQA 2 × 2 causal rows over 40 keys in 3 ranges: key 39 is seen by the last row of each head only.
    const rand = rng(7);
    const [q, k, v] = [randomHost([1, 2, 2, 32], rand), randomHost([1, 1, 40, 32], rand), randomHost([1, 1, 40, 32], rand)];
    const kNan = Float32Array.from(k.data);
    kNan[39 * 32 + 3] = NaN;
    const vBad = Float32Array.from(v.data);
    [vBad[39 * 32 + 1], vBad[39 * 32 + 2]] = [Infinity, NaN];
    await checkNonFinite(q.data, kNan, v.data, [1, 2, 2, 32], [1, 1, 40, 32], true, 3);
    await checkNonFinite(q.data, k.data, vBad, [1, 2, 2, 32], [1, 1, 40, 32], true, 3);
    // 2 heads × 3 causal rows (6 rows, padded to 8 in the scores): key 59 seen by rows 2 and 5 only; +inf in V.
    const [q6, k6, v6] = [randomHost([1, 2, 3, 32], rand), randomHost([1, 1, 60, 32], rand), randomHost([1, 1, 60, 32], rand)];
    const vInf = Float32Array.from(v6.data);
    vInf[59 * 32 + 30] = Infinity;
    const ref = await checkNonFinite(q6.data, k6.data, vInf, [1, 2, 3, 32], [1, 1, 60, 32], true, 2);
    expect(ref.filter((x) => !Number.isFinite(x)).length).toBe(2); // column 30 of rows 2 and 5
  });

  it('non-finite: inf and NaN in V of a key whose P underflows to 0 in one row add nothing there, and reach the rows that see it', async () => {
    // GQA 4 × 1 row over 100 keys: key 50 scores −10⁴ against the zero-P head's row (P = 0 in f32 and in float64), and
    // ±1 against the others; its V holds +inf and NaN. The zero-P row first (it alone finds the V bad), then a later one.
    for (const zeroRow of [0, 2]) {
      const rand = rng(11 + zeroRow);
      const [q, k, v] = [randomHost([1, 4, 1, 32], rand), randomHost([1, 1, 100, 32], rand), randomHost([1, 1, 100, 32], rand)];
      for (let h = 0; h < 4; h++) q.data[h * 32] = h === zeroRow ? 100 : 0;
      k.data[50 * 32] = -100 * Math.sqrt(32); // the scale 1/√32 leaves −10⁴
      [v.data[50 * 32 + 5], v.data[50 * 32 + 6]] = [Infinity, NaN];
      const ref = await checkNonFinite(q.data, k.data, v.data, [1, 4, 1, 32], [1, 1, 100, 32], false, 2);
      for (let h = 0; h < 4; h++) {
        const bad = [5, 6].map((col) => ref[h * 32 + col]!);
        expect(
          bad.every((x) => Number.isFinite(x)),
          `row ${h}`,
        ).toBe(h === zeroRow);
      }
    }
  });

  it('asked for where it cannot run: AttentionInputError before any GPU work', async () => {
    const err = await errorOf(() => checkForward(attn, [1, 4, 1, 64], [1, 4, 300, 64], { ...on, score: alibi(alibiSlopes(4)) }));
    expect(err).toBeInstanceOf(AttentionInputError);
  });
});
