/*
 * KV caches (attn.kvCache) and attn.decode: every step of a generation — append the
 * new tokens' K and V, then attention of their query rows over the cache — checked
 * against the float64 reference over the LOGICAL sequence (every token so far, at its
 * true position, causal, under streamingSinks for the streaming cache). Scenarios vary
 * one axis at a time: token by token vs one call, ragged batches, truncate then
 * append, growth past the capacity, streaming eviction past the window, GQA 1/2/4,
 * f32/f16, learned sinks, host data vs tensors; on the CPU backend (all of them) and
 * on WebGPU (a few: each kernel variant compiles for seconds on SwiftShader). The same
 * loop runs over a paged cache (attn.pagedKVCache, its pages handed out in shuffled
 * order, a fork sharing a prefix and copying on write) and must give what the
 * contiguous cache gives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import type { DecodeOptions } from '../src/api/decode.js';
import type { KVCacheLike, KVCacheOptions } from '../src/api/kv-cache-types.js';
import { PagedKVCache } from '../src/api/paged-cache.js';
import { randomData } from '../src/harness/random.js';
import { alibi, alibiSlopes, learnedSinks, streamingSinks } from '../src/mods/builtins.js';
import { maskFn, scoreFn } from '../src/mods/emit-js.js';
import { and } from '../src/mods/modifier.js';
import { referenceForward, type HostTensor, type ReferenceOptions } from '../src/reference/forward.js';
import { AttentionInputError } from '../src/tensor/errors.js';
import { roundHalf, type DType } from '../src/tensor/half.js';
import { errorOf, maxErr, permute, rng, testSeed } from './helpers.js';

const D = 32;

/**
 * One step: append counts[b] tokens to sequence b and decode their rows (or the last `rows[b]` of them);
 * or truncate; or fork: the last sequence (empty so far) becomes a copy of sequence `fork` (a paged
 * cache frees its last sequence and forks, sharing the pages; a contiguous one appends the copy).
 */
type Step = { readonly append: readonly number[]; readonly rows?: readonly number[] } | { readonly truncate: readonly number[] } | { readonly fork: number };

interface Scenario {
  readonly heads: [number, number];
  readonly dtype: DType;
  readonly steps: readonly Step[];
  readonly capacity?: number;
  readonly streaming?: { sinks: number; window: number; maxChunk?: number };
  readonly opts?: DecodeOptions;
  /** How K/V are appended: host arrays ('bhnd' or 'bnhd'), or tensors of the same Attention. */
  readonly via?: 'host' | 'bnhd' | 'tensor';
  /** A paged cache of pages of this many tokens instead (its free list shuffled first). */
  readonly pageSize?: number;
}

/** Per sequence, the logical K and V so far: [Hkv, position, D] as growing arrays of rows. */
type Logical = { k: number[][][]; v: number[][][] };

/** The reference's options for a decode over the logical sequence. */
function refOpts(s: Scenario, queryOffset: number): ReferenceOptions {
  const o = s.opts ?? {};
  const masks = [o.mask, s.streaming && streamingSinks(s.streaming.sinks, s.streaming.window)].filter((m) => m !== undefined);
  const mask = masks.length > 1 ? and(...masks) : masks[0];
  return { causal: true, queryOffset, score: o.score && scoreFn(o.score), mask: mask && maskFn(mask), sinks: o.sinks?.logits };
}

/** Runs a scenario; returns each decode's real rows (per sequence, bhnd [Hq, rows, D]) for comparisons between scenarios. */
async function play(attn: Attention, s: Scenario, seed: number): Promise<Float32Array[][]> {
  const rand = rng(seed);
  const [hq, hkv] = s.heads;
  const B = s.steps.find((x) => 'append' in x)!.append.length;
  const round = (x: Float32Array) => (s.dtype === 'f16' ? x.map(roundHalf) : x);
  const opts: KVCacheOptions = { batch: B, heads: hkv, headDim: D, dtype: s.dtype, capacity: s.capacity, streaming: s.streaming };
  const cache: KVCacheLike = s.pageSize ? shuffledPaged(attn, B, hkv, s, rng(seed + 1)) : attn.kvCache(opts);
  const logical: Logical[] = Array.from({ length: B }, () => ({ k: [], v: [] }));
  const outputs: Float32Array[][] = [];
  const tol = s.dtype === 'f16' ? 'f16' : 'f32';
  try {
    for (const step of s.steps) {
      if ('truncate' in step) {
        cache.truncate(step.truncate);
        step.truncate.forEach((n, b) => ['k', 'v'].forEach((w) => logical[b]![w as 'k'].forEach((rows) => (rows.length = n))));
        expect(cache.lengths).toEqual(step.truncate);
        continue;
      }
      if ('fork' in step) {
        fork(cache, step.fork, logical, s);
        continue;
      }
      const n = Math.max(...step.append);
      const [k, v] = [round(randomData(B * hkv * n * D, rand)), round(randomData(B * hkv * n * D, rand))];
      await append(attn, cache, s, k, v, [B, hkv, n, D], step.append);
      // The logical sequence: sequence b's new tokens are rows 0 … counts[b] − 1 of its part.
      step.append.forEach((c, b) => {
        for (const [w, data] of [
          ['k', k],
          ['v', v],
        ] as const)
          for (let h = 0; h < hkv; h++) {
            const rows = (logical[b]![w][h] ??= []);
            for (let i = 0; i < c; i++) rows.push(Array.from(data.subarray(((b * hkv + h) * n + i) * D, ((b * hkv + h) * n + i + 1) * D)));
          }
      });
      const rows = step.rows ?? step.append;
      const nq = Math.max(...rows);
      const q = round(randomData(B * hq * nq * D, rand));
      const qt = attn.tensor(q, [B, hq, nq, D], { dtype: s.dtype });
      const r = await attn.decode(qt, cache, { ...s.opts, counts: rows, returnLse: true });
      const [out, lse] = [await r.out.read(), await r.lse!.read()];
      [qt, r.out, r.lse!].forEach((t) => t.destroy());
      outputs.push(rows.map((c, b) => check(s, logical[b]!, q, out, lse, { b, hq, nq, c, len: cache.lengths[b]! }, tol, seed)));
    }
  } finally {
    cache.destroy();
  }
  return outputs;
}

/**
 * A paged cache of `batch` empty sequences whose free list is shuffled: one page taken by each
 * of numPages throwaway sequences, freed in random order (pages come back off the free list's end).
 */
function shuffledPaged(attn: Attention, batch: number, heads: number, s: Scenario, rand: () => number): PagedKVCache {
  const numPages = 48;
  const cache = attn.pagedKVCache({ heads, headDim: D, pageSize: s.pageSize!, numPages, dtype: s.dtype });
  const junk = Array.from({ length: numPages }, () => cache.create());
  cache.append(new Float32Array(numPages * heads * D), new Float32Array(numPages * heads * D)); // one token each
  for (let i = junk.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [junk[i], junk[j]] = [junk[j]!, junk[i]!];
  }
  junk.forEach((id) => cache.free(id));
  for (let b = 0; b < batch; b++) cache.create();
  return cache;
}

/** The fork step: the last sequence (empty) becomes a copy of sequence `from`, in the cache and in `logical`. */
function fork(cache: KVCacheLike, from: number, logical: Logical[], s: Scenario) {
  const last = cache.batch - 1;
  expect(cache.lengths[last]).toBe(0);
  const n = cache.lengths[from]!;
  logical[last] = { k: logical[from]!.k.map((h) => [...h]), v: logical[from]!.v.map((h) => [...h]) };
  if (cache instanceof PagedKVCache) {
    const ids = cache.sequences();
    cache.free(ids[last]!);
    const id = cache.fork(ids[from]!);
    expect(cache.sequences().indexOf(id)).toBe(last); // the newest id is the last batch entry
    expect(cache.pages(id)).toEqual(cache.pages(ids[from]!)); // shared, not copied
  } else {
    const hkv = s.heads[1];
    const [k, v] = [new Float32Array(cache.batch * hkv * n * D), new Float32Array(cache.batch * hkv * n * D)];
    for (let h = 0; h < hkv; h++)
      for (let t = 0; t < n; t++) {
        k.set(logical[from]!.k[h]![t]!, ((last * hkv + h) * n + t) * D);
        v.set(logical[from]!.v[h]![t]!, ((last * hkv + h) * n + t) * D);
      }
    cache.append(k, v, { counts: Array.from({ length: cache.batch }, (_, b) => (b === last ? n : 0)) });
  }
  expect(cache.lengths[last]).toBe(n);
}

/** Appends K and V the scenario's way. */
async function append(
  attn: Attention,
  cache: KVCacheLike,
  s: Scenario,
  k: Float32Array,
  v: Float32Array,
  dims: [number, number, number, number],
  counts: readonly number[],
) {
  if (s.via === 'tensor') {
    const [kt, vt] = [attn.tensor(k, dims, { dtype: s.dtype }), attn.tensor(v, dims, { dtype: s.dtype })];
    cache.append(kt, vt, { counts });
    // The copy is enqueued: the source tensors may go at once.
    kt.destroy();
    vt.destroy();
  } else if (s.via === 'bnhd') {
    const shape = { batch: dims[0], heads: dims[1], seq: dims[2], headDim: dims[3] };
    cache.append(permute(k, shape), permute(v, shape), { counts, layout: 'bnhd' });
  } else cache.append(k, v, { counts });
}

/** Sequence b's `c` real rows against the reference over its logical keys; returns them. */
function check(
  s: Scenario,
  seq: Logical,
  q: Float32Array,
  out: Float32Array,
  lse: Float32Array,
  at: { b: number; hq: number; nq: number; c: number; len: number },
  tol: 'f32' | 'f16',
  seed: number,
): Float32Array {
  const { b, hq, nq, c, len } = at;
  if (c === 0) return new Float32Array(0); // no new token in this sequence this step
  const hkv = s.heads[1];
  const mine = (x: Float32Array, w: number) => {
    const r = new Float32Array(hq * c * w);
    for (let h = 0; h < hq; h++) r.set(x.subarray((b * hq + h) * nq * w, ((b * hq + h) * nq + c) * w), h * c * w);
    return r;
  };
  const host = (data: ArrayLike<number>, heads: number, n: number): HostTensor => ({
    data: Float64Array.from(data),
    shape: { batch: 1, heads, seq: n, headDim: D },
    layout: 'bhnd',
  });
  const flat = (rows: number[][][]) => rows.flatMap((h) => h.flat());
  const args = [host(mine(q, D), hq, c), host(flat(seq.k), hkv, len), host(flat(seq.v), hkv, len)] as const;
  const opts = refOpts(s, len - c);
  const ref = referenceForward(...args, opts);
  const ref32 = referenceForward(...args, { ...opts, precision: 'f32' });
  // O: f32 within 2× a plain f32 computation's error; f16 within 3× naive f16's. LSE (always f32): the f32 rule.
  const tolOut =
    tol === 'f16'
      ? 3 * maxErr(referenceForward(...args, { ...opts, precision: 'f16' }).out, ref.out).err + 2 ** -24
      : 2 * maxErr(ref32.out, ref.out).err + 1e-6;
  const tols = { out: tolOut, lse: 2 * maxErr(ref32.lse, ref.lse).err + 1e-6 };
  const got = { out: mine(out, D), lse: mine(lse, 1) };
  for (const f of ['out', 'lse'] as const) {
    const { err, at: i } = maxErr(got[f], ref[f]);
    expect(err, `sequence ${b} (length ${len}, ${c} rows) ${f}[${i}]: ${got[f][i]} vs ${ref[f][i]} (seed ${seed})`).toBeLessThanOrEqual(tols[f]);
  }
  return got.out;
}

const tokens = (n: number, B: number): Step[] => Array.from({ length: n }, () => ({ append: Array<number>(B).fill(1) }));
const RAGGED: Step[] = [{ append: [5, 2, 3] }, { append: [1, 3, 0] }, { append: [2, 1, 4], rows: [1, 1, 2] }, { truncate: [6, 4, 5] }, { append: [3, 2, 1] }];
const sinks4 = learnedSinks([0.5, -1, 1.5, 0]);

/** The CPU grid: one control scenario, then one axis varied at a time. */
const CPU_SCENARIOS: Readonly<Record<string, Scenario>> = {
  'contiguous f32, GQA 1': { heads: [2, 2], dtype: 'f32', steps: RAGGED },
  'GQA 2': { heads: [4, 2], dtype: 'f32', steps: RAGGED },
  'GQA 4': { heads: [4, 1], dtype: 'f32', steps: RAGGED },
  f16: { heads: [4, 2], dtype: 'f16', steps: RAGGED },
  'f16 tensors': { heads: [4, 1], dtype: 'f16', steps: RAGGED, via: 'tensor' },
  'bnhd host data': { heads: [4, 2], dtype: 'f32', steps: RAGGED, via: 'bnhd' },
  'growth past the capacity (2 → 4 → 8 → 16)': { heads: [2, 1], dtype: 'f32', steps: [...tokens(3, 2), { append: [8, 5] }], capacity: 2 },
  'learned sinks + ALiBi': { heads: [4, 2], dtype: 'f32', steps: RAGGED, opts: { sinks: sinks4, score: alibi(alibiSlopes(4)) } },
  'streaming f32, eviction past the window': {
    heads: [2, 2],
    dtype: 'f32',
    streaming: { sinks: 2, window: 5, maxChunk: 3 },
    steps: [{ append: [3, 1] }, ...tokens(6, 2), { append: [3, 2] }, { append: [1, 3] }, { truncate: [12, 11] }, { append: [2, 1] }, ...tokens(5, 2)],
  },
  'streaming, GQA 4, f16, learned sinks, tensors': {
    heads: [4, 1],
    dtype: 'f16',
    streaming: { sinks: 3, window: 4, maxChunk: 2 },
    steps: [{ append: [2, 4], rows: [2, 2] }, ...tokens(9, 2), { append: [2, 1] }],
    opts: { sinks: sinks4 },
    via: 'tensor',
  },
  'streaming: a long prefill, then decode': {
    heads: [4, 2],
    dtype: 'f32',
    streaming: { sinks: 2, window: 6, maxChunk: 4 },
    steps: [{ append: [20, 13], rows: [4, 3] }, ...tokens(3, 2)],
  },
};

/**
 * Prompts for sequences 0 and 1 (a page and a half, and less than a page, of 4), sequence 2 a
 * fork of 0 (sharing its pages), then token-by-token steps (the first copies the shared partial
 * page), a chunk of few causal rows, a truncation into the page 0 and 2 still share (the next
 * append copies it), and more tokens.
 */
const FORK: Step[] = [{ append: [6, 3, 0] }, { fork: 0 }, ...tokens(2, 3), { append: [3, 1, 2] }, { truncate: [3, 4, 7] }, ...tokens(3, 3)];

/** Scenarios played over a contiguous cache and over a paged one (pages of 4), which must agree. */
const CPU_PAIRED: Readonly<Record<string, Scenario>> = {
  'f32, GQA 2, learned sinks + ALiBi': { heads: [4, 2], dtype: 'f32', steps: FORK, opts: { sinks: sinks4, score: alibi(alibiSlopes(4)) } },
  'f16, GQA 4, tensors': { heads: [4, 1], dtype: 'f16', steps: FORK, via: 'tensor' },
  'f32, GQA 1, bnhd host data': { heads: [2, 2], dtype: 'f32', steps: FORK, via: 'bnhd' },
};

function suite(
  name: string,
  open: () => Promise<Attention>,
  scenarios: Readonly<Record<string, Scenario>>,
  paired: Readonly<Record<string, Scenario>>,
  tile?: DecodeOptions['tile'],
) {
  describe(`KV caches on ${name}`, () => {
    let attn: Attention;
    beforeAll(async () => {
      attn = await open();
    });
    afterAll(() => attn?.destroy());

    for (const [label, s] of Object.entries(scenarios)) {
      it(`${label}: every decode step = the reference over the logical sequence`, async () => {
        await play(attn, { ...s, opts: { ...s.opts, tile } }, testSeed());
      });
    }

    for (const [label, s] of Object.entries(paired)) {
      it(`the same loop over a contiguous and a paged cache (shuffled pages, fork, copy-on-write), ${label}: both = the reference`, async () => {
        const seed = testSeed();
        const contiguous = await play(attn, { ...s, opts: { ...s.opts, tile } }, seed);
        const paged = await play(attn, { ...s, pageSize: 4, opts: { ...s.opts, tile } }, seed);
        const tol = s.dtype === 'f16' ? 2 ** -10 : 2e-6;
        contiguous.forEach((step, t) =>
          step.forEach((rows, b) => expect(maxErr(paged[t]![b]!, rows).err, `step ${t}, sequence ${b} (seed ${seed})`).toBeLessThanOrEqual(tol)),
        );
      });
    }

    it('token by token (decode of one row after each append) = one append and one decode of every row', async () => {
      const seed = testSeed();
      const s: Scenario = { heads: [4, 2], dtype: 'f32', steps: tokens(7, 2), opts: { tile } };
      const stepwise = await play(attn, s, seed);
      // The same tokens in one call: the same random stream, drawn K, V, Q per token above, so replay the draws here.
      const rand = rng(seed);
      const [k, v, q] = [[], [], []] as Float32Array[][];
      for (let t = 0; t < 7; t++) {
        k.push(randomData(2 * 2 * D, rand));
        v.push(randomData(2 * 2 * D, rand));
        q.push(randomData(2 * 4 * D, rand));
      }
      const cat = (parts: Float32Array[], heads: number) => {
        const out = new Float32Array(2 * heads * 7 * D);
        parts.forEach((p, t) => {
          for (let bh = 0; bh < 2 * heads; bh++) out.set(p.subarray(bh * D, (bh + 1) * D), (bh * 7 + t) * D);
        });
        return out;
      };
      const cache = attn.kvCache({ batch: 2, heads: 2, headDim: D });
      cache.append(cat(k, 2), cat(v, 2));
      const qt = attn.tensor(cat(q, 4), [2, 4, 7, D]);
      const one = await (await attn.decode(qt, cache, { tile })).out.read();
      for (let t = 0; t < 7; t++)
        for (let b = 0; b < 2; b++)
          for (let h = 0; h < 4; h++) {
            const got = stepwise[t]![b]!.subarray(h * D, (h + 1) * D);
            const want = one.subarray(((b * 4 + h) * 7 + t) * D, ((b * 4 + h) * 7 + t + 1) * D);
            expect(maxErr(got, want).err, `token ${t}, sequence ${b}, head ${h} (seed ${seed})`).toBeLessThanOrEqual(2e-6);
          }
      cache.destroy();
      qt.destroy();
    });
  });
}

suite('the CPU', () => createAttention({ backend: 'cpu', poisonOutputs: true, cpu: { threads: 0 } }), CPU_SCENARIOS, CPU_PAIRED);
// WebGPU: one tile for every call (few kernels to compile), a contiguous f32 scenario with
// tensors and sinks, a streaming f16 one (two parts merged by the device's combine), and
// the fork scenario over a contiguous and a paged cache.
suite(
  'WebGPU',
  () => createAttention({ backend: 'webgpu', poisonOutputs: true }),
  {
    'contiguous f32, GQA 2, ragged, truncate, tensors, sinks': { heads: [4, 2], dtype: 'f32', steps: RAGGED, via: 'tensor', opts: { sinks: sinks4 } },
    'streaming f16, GQA 4, eviction': CPU_SCENARIOS['streaming, GQA 4, f16, learned sinks, tensors']!,
  },
  { 'f32, GQA 2, tensors, learned sinks': { heads: [4, 2], dtype: 'f32', steps: FORK, via: 'tensor', opts: { sinks: sinks4 } } },
  { tx: 8, ty: 8, rm: 2, cn: 4, shareKv: false },
);

describe('KV cache errors', () => {
  it('rejects bad options, shapes, counts and truncations with clear messages', async () => {
    const attn = await createAttention({ backend: 'cpu', cpu: { threads: 0 } });
    const e = async (fn: () => unknown, text: RegExp) => {
      const err = await errorOf(fn);
      expect(err).toBeInstanceOf(AttentionInputError);
      expect(err.message).toMatch(text);
    };
    await e(() => attn.kvCache({ batch: 1, heads: 1 } as KVCacheOptions), /headDim is missing/);
    await e(() => attn.kvCache({ batch: 1, heads: 1, headDim: D, capcity: 4 } as KVCacheOptions), /did you mean 'capacity'/);
    await e(() => attn.kvCache({ batch: 1, heads: 1, headDim: D, capacity: 8, streaming: { sinks: 1, window: 4 } }), /leave out capacity/);
    const cache = attn.kvCache({ batch: 2, heads: 1, headDim: D });
    await e(() => cache.append(new Float32Array(3 * D), new Float32Array(3 * D)), /not a whole number/);
    await e(() => cache.append(new Float32Array(4 * D), new Float32Array(4 * D), { counts: [1, 3] }), /counts\[1\] must be an integer in \[0, 2\]/);
    cache.append(new Float32Array(4 * D), new Float32Array(4 * D), { counts: [2, 1] });
    expect(cache.lengths).toEqual([2, 1]);
    await e(() => cache.truncate([3, 0]), /sequence 0 holds 2 tokens, cannot grow to 3/);
    await e(() => cache.truncate(-1), /lengths\[0\] must be an integer ≥ 0, got -1/);
    // A head dim no kernel takes is refused when the cache is made, not at its first decode.
    await e(() => attn.kvCache({ batch: 1, heads: 1, headDim: 48 }), /headDim must be one of the supported head dims 32, 64, 80, 96, 128, 256, got 48/);
    await e(() => attn.pagedKVCache({ heads: 1, headDim: 48, pageSize: 4, numPages: 2 }), /headDim must be one of the supported head dims/);
    const q = attn.tensor(new Float32Array(2 * 2 * D), [2, 1, 2, D]);
    await e(() => attn.decode(q, cache), /counts\[1\] is 2, but sequence 1 holds 1 tokens/);
    await e(() => attn.decode(q, cache, { causal: false } as DecodeOptions), /decode\(\) sets causal itself \(from the cache: always causal\)/);
    // causal: true is what decode does: forward()'s and backward()'s options object serves here too,
    // by type as well (no cast: test/tsconfig.json checks it), and then counts is what fails.
    const shared = { causal: true, tableGrads: false };
    await e(() => attn.decode(q, cache, shared), /counts\[1\] is 2, but sequence 1 holds 1 tokens/);
    await e(
      () => attn.decode(attn.tensor(new Float32Array(2 * 2 * D), [2, 2, 1, D]), attn.kvCache({ batch: 2, heads: 3, headDim: D })),
      /multiple of its heads/,
    );
    const s = attn.kvCache({ batch: 1, heads: 1, headDim: D, streaming: { sinks: 1, window: 2, maxChunk: 2 } });
    s.append(new Float32Array(8 * D), new Float32Array(8 * D));
    s.truncate(6); // dropped tokens at 6, 7; the ring kept 5 … 7, so the rows at 4, 5 would need keys from 3
    await e(() => attn.decode(attn.tensor(new Float32Array(2 * D), [1, 1, 2, D]), s), /need keys from position 3, but it keeps them only from 5/);
    cache.destroy();
    await e(() => cache.append(new Float32Array(2 * D), new Float32Array(2 * D)), /destroyed/);
    attn.destroy();
  });
});
