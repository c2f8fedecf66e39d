/*
 * The split-K combine kernel (kernels/combine.ts) on parts made by hand, against a
 * float64 merge of the same parts: maxima that rise and fall across a split lane's
 * parts (a one-pass merge that rescales l or acc wrongly shows), parts that saw no key
 * (l = 0 with a masked or −∞ max, or a large max that must not count), a NaN part, a NaN
 * in one part's O, logits of ±1e4, sinks; at one workgroup per row and with a row's
 * columns split over several workgroups (forced and as the host chooses), at 256 and
 * 128 invocations, a head dim whose lanes are not a power of two, and ≥ 300 parts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import type { WebGpuBackend } from '../src/api/backends.js';
import { combineColumns, combineKernel, COMBINE_TARGET_WORKGROUPS } from '../src/kernels/combine.js';
import type { Program } from '../src/kernels/program.js';
import { combineStep } from '../src/kernels/split-k.js';
import { fromHalf } from '../src/tensor/half.js';
import { plannedCall } from './forward-check.js';
import { rng, testSeed } from './helpers.js';

/** The fused kernel's max for a row a range saw nothing of (log2 frame). */
const MASKED = -3.0e38;
const HEADS = 2;
const SEQ = 4;
const ROWS = HEADS * SEQ;

/** Parts of ROWS rows (bhnd, batch 1): row r's (m, l) at s·statsFloats + 2r, its O at s·partFloats + r·D. */
interface Parts {
  readonly splits: number;
  readonly headDim: number;
  readonly stats: Float32Array;
  readonly o: Float32Array;
  readonly statsFloats: number;
  readonly partFloats: number;
}

/** Each row a pattern a one-pass merge can get wrong (see the top comment); values float32. */
function makeParts(splits: number, headDim: number, seed: number): Parts {
  const rand = rng(seed);
  const up = (n: number) => Math.ceil(n / 64) * 64; // parts 256-byte aligned, as split-K lays them out
  const [statsFloats, partFloats] = [up(2 * ROWS), up(ROWS * headDim)];
  const stats = new Float32Array(splits * statsFloats);
  const o = Float32Array.from({ length: splits * partFloats }, () => 2 * rand() - 1);
  const set = (s: number, r: number, m: number, l: number) => ((stats[s * statsFloats + 2 * r] = m), (stats[s * statsFloats + 2 * r + 1] = l));
  const nanPart = Math.floor(splits / 2);
  for (let s = 0; s < splits; s++) {
    const l = 1 + 30 * rand();
    set(s, 0, 24 * rand() - 12, l); // rises and falls at random
    // Every third part saw nothing: a masked max, −∞, or a large max that must not count.
    const dead = [MASKED, -Infinity, 40][Math.floor(s / 3) % 3]!;
    set(s, 1, s % 3 === 1 ? dead : 24 * rand() - 12, s % 3 === 1 ? 0 : l);
    set(s, 2, MASKED, 0); // no part saw row 2
    set(s, 3, 24 * rand() - 12, s === nanPart ? NaN : l); // one NaN denominator: the row is NaN
    set(s, 4, 24 * rand() - 12, l); // one NaN in one part's O (below)
    set(s, 5, 0.05 * s, l); // the max rises at every part (each trip rescales)
    set(s, 6, -0.05 * s, l); // the max falls at every part
    set(s, 7, (rand() < 0.5 ? -1 : 1) * 1e4 * Math.LOG2E * (0.9 + 0.1 * rand()), l); // logits of ±1e4
  }
  o[nanPart * partFloats + 4 * headDim + 5] = NaN;
  return { splits, headDim, stats, o, statsFloats, partFloats };
}

/** The float64 merge of `p` (sink logits per head in natural units, optional). */
function merge64(p: Parts, sinks?: readonly number[]) {
  const d = p.headDim;
  const out = new Float64Array(ROWS * d);
  const lse = new Float64Array(ROWS);
  for (let r = 0; r < ROWS; r++) {
    const at = (s: number) => [p.stats[s * p.statsFloats + 2 * r]!, p.stats[s * p.statsFloats + 2 * r + 1]!] as const;
    let [mx, nan] = [-Infinity, false];
    for (let s = 0; s < p.splits; s++) {
      const [m, l] = at(s);
      nan ||= Number.isNaN(m) || Number.isNaN(l);
      if (l > 0) mx = Math.max(mx, m);
    }
    const sink = sinks && sinks[Math.floor(r / SEQ)]! * Math.LOG2E;
    if (sink !== undefined) mx = Math.max(mx, sink);
    let sum = sink === undefined ? 0 : 2 ** (sink - mx);
    for (let s = 0; s < p.splits; s++) {
      const [m, l] = at(s);
      if (!(l > 0)) continue;
      const w = l * 2 ** (m - mx);
      sum += w;
      for (let c = 0; c < d; c++) out[r * d + c] += w * p.o[s * p.partFloats + r * d + c]!;
    }
    for (let c = 0; c < d; c++) out[r * d + c] = nan ? NaN : sum > 0 ? out[r * d + c]! / sum : 0;
    lse[r] = nan ? NaN : sum > 0 ? mx * Math.LN2 + Math.log(sum) : -Infinity;
  }
  return { out, lse };
}

/** Expects got within tol (scaled by |want| at least 1) of want, NaN where want is NaN, ±∞ exactly. */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) {
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i]!, want[i]!];
    const ok = Number.isNaN(w) ? Number.isNaN(g) : Number.isFinite(w) ? Math.abs(g - w) <= tol * Math.max(1, Math.abs(w)) : g === w;
    if (!ok) expect.fail(`${what}: at ${i} (row ${Math.floor(i / (want.length / ROWS))}) expected ${w}, got ${g}`);
  }
}

describe('split-K combine kernel on hand-made parts', () => {
  let attn: Attention;
  beforeAll(async () => {
    attn = await createAttention({ backend: 'webgpu', poisonOutputs: true });
  });
  afterAll(() => attn?.destroy());

  /** Runs the combine of `p` (its column blocks `cols` forced, else as the host chooses); O and LSE back. */
  async function combine(p: Parts, o: { cols?: number; maxThreads?: number; sinks?: number[]; half?: boolean } = {}) {
    const runner = (attn.impl as WebGpuBackend).runner;
    const d = p.headDim;
    const call = plannedCall([1, HEADS, SEQ, d], [1, HEADS, 64, d], { dtype: o.half ? 'f16' : 'f32' });
    const spec = combineKernel(d, o.sinks && 0, o.half, o.maxThreads);
    const ch = { b0: 0, b1: 1, h0: 0, h1: HEADS, n0: 0, n1: SEQ };
    const outBytes = ROWS * d * (o.half ? 2 : 4);
    const bound = { q: { offset: 0, size: outBytes }, lse: { offset: 0, size: ROWS * 4 } };
    const auto = combineStep(call, spec, { oStride: p.partFloats * 4, statsStride: p.statsFloats * 4 }, p.splits, ch, bound);
    const cols = o.cols ?? (auto.values.cols as number);
    const step = { ...auto, values: { ...auto.values, cols }, grid: [(ROWS * d) / 4 / cols, 1, 1] as const };
    const program: Program = {
      buffers: {
        oParts: { role: 'upload', data: p.o, label: 'test parts' },
        stats: { role: 'upload', data: p.stats, label: 'test stats' },
        aux: { role: 'upload', data: Float32Array.from(o.sinks ?? [0]), label: 'test sinks' },
        out: { role: 'output', bytes: outBytes, label: 'test out' },
        lse: { role: 'output', bytes: ROWS * 4, label: 'test lse' },
      },
      steps: [step],
      labels: [spec.label],
    };
    const { outputs } = await runner.execute(program, {});
    const out = o.half ? fromHalf(new Uint16Array(await runner.buffers.read(outputs.out!, outBytes))) : await runner.read(outputs.out!, ROWS * d);
    const lse = await runner.read(outputs.lse!, ROWS);
    Object.values(outputs).forEach((b) => b.destroy());
    return { out, lse, cols };
  }

  async function check(splits: number, headDim: number, o: Parameters<typeof combine>[1] = {}) {
    const seed = testSeed();
    const p = makeParts(splits, headDim, seed);
    const got = await combine(p, o);
    const want = merge64(p, o.sinks);
    const what = `${splits} parts, D ${headDim}, ${JSON.stringify({ ...o, cols: got.cols })} [seed ${seed}]`;
    expectClose(got.out, want.out, o.half ? 1e-3 : 1e-5, `O, ${what}`);
    expectClose(got.lse, want.lse, 1e-6, `LSE, ${what}`);
    return got.cols;
  }

  it('the host splits a row over more workgroups only when its parts take its lanes more than one trip', () => {
    // D = 128, 256 invocations: 8 lanes × 4 parts a trip at 32 columns.
    expect([2, 16, 32].map((s) => combineColumns(128, 256, s, 32))).toEqual([32, 32, 32]);
    expect([33, 128, 256, 512, 4096].map((s) => combineColumns(128, 256, s, 32))).toEqual([16, 8, 4, 2, 2]);
    // Rows enough: no more than COMBINE_TARGET_WORKGROUPS workgroups; D/4 not a power of two: halved while even.
    expect(combineColumns(128, 256, 512, COMBINE_TARGET_WORKGROUPS / 4)).toBe(8);
    expect(combineColumns(128, 256, 512, COMBINE_TARGET_WORKGROUPS)).toBe(32);
    expect(combineColumns(96, 120, 512, 1)).toBe(3);
    expect(combineColumns(80, 200, 512, 1)).toBe(5);
  });

  it('one workgroup per row, lanes over several trips: rising, falling and random maxima, dead parts, NaN, ±1e4', async () => {
    expect(await check(150, 64, { cols: 16 })).toBe(16); // 16 lanes, 3 trips
    await check(150, 64, { cols: 16, maxThreads: 128 }); // 8 lanes, 5 trips
    await check(7, 64, { cols: 16 }); // fewer parts than lanes
    await check(1, 64); // one part
  });

  it('columns split over workgroups (forced and chosen), a lane count not a power of two, sinks', async () => {
    for (const cols of [8, 4, 2]) await check(150, 64, { cols });
    expect(await check(150, 64)).toBe(4);
    await check(61, 96, { maxThreads: 128, cols: 24 }); // 5 lanes
    await check(61, 96, { maxThreads: 128, cols: 3 }); // 40 lanes
    await check(90, 64, { sinks: [0.7, -3] });
    await check(90, 64, { sinks: [30, -30], cols: 16 }); // a sink that is the frame: LSE from its logit
  });

  it("an inf in O whose part's weight underflows: the same row wherever the parts sit (same trip, across lanes, next trip)", async () => {
    // Found by review: a weight that rounds to 0 dropped the part inside a trip (5) but not across trips or lanes (0 · inf = NaN).
    const d = 64;
    const splits = 65;
    const place = async (b: number) => {
      const p = makeParts(splits, d, 1);
      p.stats.fill(0);
      p.o.fill(0);
      for (let s = 0; s < splits; s++) for (let r = 0; r < ROWS; r++) p.stats[s * p.statsFloats + 2 * r] = MASKED;
      p.stats.set([0, 1], 0); // part 0, row 0: m = 0, l = 1, O[0] = inf
      p.o[0] = Infinity;
      p.stats.set([200, 1], b * p.statsFloats); // part b, row 0: m = 200 (2^-200 outweighs part 0 to 0 in f32), O = 5
      p.o.fill(5, b * p.partFloats, b * p.partFloats + d);
      return combine(p, { cols: 16 });
    };
    for (const b of [16, 1, 64]) {
      const { out, lse } = await place(b);
      expect(out[0], `part ${b}`).toBeNaN(); // as the unsplit kernel: its rescale multiplies the inf by 0
      expect(Array.from(out.subarray(1, d))).toEqual(new Array(d - 1).fill(5));
      expect(lse[0]).toBeCloseTo(200 * Math.LN2, 4);
    }
  });

  it('≥ 300 parts: a row over 16 workgroups of 128 lanes, two trips each (f32 and f16 O, sinks)', async () => {
    expect(await check(520, 128)).toBe(2);
    await check(520, 128, { sinks: [1.5, -2] });
    await check(300, 128, { half: true });
  });
});
