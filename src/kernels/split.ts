/*
 * Splitting a call that is too large to bind at once. WebGPU binds at most
 * maxStorageBufferBindingSize bytes of a buffer per binding, while a buffer may be
 * larger (maxBufferSize). Attention is independent per (batch, head), so a large
 * call runs as several dispatches, each binding only the ranges of Q, K, V, O and
 * LSE its block reads: whole batches; else groups of K/V heads (with their query
 * heads) within one batch; else single query heads; else runs of Q tiles of one
 * head (rows are independent too). Results are the same bits as unsplit.
 */
import { AttentionLimitError } from '../tensor/errors.js';
import type { Strides } from '../tensor/shape.js';
import type { Problem } from '../tensor/validate.js';

/** Batches [b0, b1) × query heads [h0, h1) × query rows [n0, n1) (n0 a multiple of the Q tile). */
export interface Chunk {
  readonly b0: number;
  readonly b1: number;
  readonly h0: number;
  readonly h1: number;
  readonly n0: number;
  readonly n1: number;
}

/** A bound range of a buffer, and where it starts in the kernel's units. */
export interface BoundRange {
  readonly offset: number;
  readonly size: number;
}

/** [lo, hi) in floats of the elements a block of batches, heads and rows [n0, n1) covers in a tensor. */
function span(s: Strides, b0: number, b1: number, h0: number, h1: number, n0: number, n1: number, headDim: number): [number, number] {
  const lo = b0 * s.batch + h0 * s.head + n0 * s.seq;
  const hi = (b1 - 1) * s.batch + (h1 - 1) * s.head + (n1 - 1) * s.seq + headDim;
  return [lo, hi];
}

/**
 * The byte range to bind for elements [lo, hi) of `bytes` bytes each: offset aligned
 * down, size a whole number of vec4 rows (16 bytes for f32, 8 for f16).
 */
export function boundRange(lo: number, hi: number, align: number, bytes = 4): BoundRange {
  const offset = Math.floor((lo * bytes) / align) * align;
  const vec = 4 * bytes;
  return { offset, size: Math.ceil((hi * bytes - offset) / vec) * vec };
}

export interface SplitInput {
  readonly problem: Problem;
  readonly q: Strides;
  readonly k: Strides;
  readonly v: Strides;
  /** Bytes per element of Q, K, V and O (4 for f32, 2 for f16); LSE is always f32. */
  readonly elemBytes: number;
}

/** The ranges a chunk binds: q (also O), k, v, and lse ([B, Hq, Nq] floats). */
export function chunkRanges(a: SplitInput, c: Chunk, align: number) {
  const p = a.problem;
  const g = p.headsQ / p.headsKv;
  const [hk0, hk1] = [Math.floor(c.h0 / g), Math.floor((c.h1 - 1) / g) + 1];
  return {
    q: boundRange(...span(a.q, c.b0, c.b1, c.h0, c.h1, c.n0, c.n1, p.headDim), align, a.elemBytes),
    k: boundRange(...span(a.k, c.b0, c.b1, hk0, hk1, 0, p.seqK, p.headDim), align, a.elemBytes),
    v: boundRange(...span(a.v, c.b0, c.b1, hk0, hk1, 0, p.seqK, p.headDim), align, a.elemBytes),
    lse: boundRange((c.b0 * p.headsQ + c.h0) * p.seqQ + c.n0, ((c.b1 - 1) * p.headsQ + c.h1 - 1) * p.seqQ + c.n1, align),
  };
}

/** Chunks whose every bound range fits `limit` bytes; one chunk when the whole call fits. `tileRows` is the Q tile. */
export function splitCall(a: SplitInput, limit: number, align: number, tileRows: number): Chunk[] {
  const p = a.problem;
  const g = p.headsQ / p.headsKv;
  const N = p.seqQ;
  const fits = (c: Chunk) => Object.values(chunkRanges(a, c, align)).every((r) => r.size <= limit);
  const most = (n: number, ok: (k: number) => boolean) => {
    let k = 0;
    while (k < n && ok(k + 1)) k++;
    return k;
  };
  const chunks: Chunk[] = [];
  if (fits({ b0: 0, b1: p.batch, h0: 0, h1: p.headsQ, n0: 0, n1: N })) return [{ b0: 0, b1: p.batch, h0: 0, h1: p.headsQ, n0: 0, n1: N }];
  const nb = most(p.batch, (k) => fits({ b0: 0, b1: k, h0: 0, h1: p.headsQ, n0: 0, n1: N }));
  if (nb > 0) {
    for (let b = 0; b < p.batch; b += nb) chunks.push({ b0: b, b1: Math.min(p.batch, b + nb), h0: 0, h1: p.headsQ, n0: 0, n1: N });
    return chunks;
  }
  const nh = most(p.headsKv, (k) => fits({ b0: 0, b1: 1, h0: 0, h1: k * g, n0: 0, n1: N }));
  if (nh > 0) {
    for (let b = 0; b < p.batch; b++) {
      for (let hk = 0; hk < p.headsKv; hk += nh) chunks.push({ b0: b, b1: b + 1, h0: hk * g, h1: Math.min(p.headsKv, hk + nh) * g, n0: 0, n1: N });
    }
    return chunks;
  }
  // One query head at a time (its K/V head whole), all rows if they fit, else runs of Q tiles.
  const tiles = Math.ceil(N / tileRows);
  const nt = most(tiles, (k) => fits({ b0: 0, b1: 1, h0: 0, h1: 1, n0: 0, n1: Math.min(N, k * tileRows) }));
  if (nt === 0) {
    const r = chunkRanges(a, { b0: 0, b1: 1, h0: 0, h1: 1, n0: 0, n1: Math.min(N, tileRows) }, align);
    throw new AttentionLimitError(
      `one Q tile of one head still binds ${Math.max(r.q.size, r.k.size, r.v.size, r.lse.size)} bytes at once ` +
        `(Q/O ${r.q.size}, K ${r.k.size}, V ${r.v.size}): its keys alone exceed the ${limit} bytes this device ` +
        'binds (maxStorageBufferBindingSize); use fewer keys per call',
    );
  }
  for (let b = 0; b < p.batch; b++) {
    for (let h = 0; h < p.headsQ; h++) {
      for (let t = 0; t < tiles; t += nt) chunks.push({ b0: b, b1: b + 1, h0: h, h1: h + 1, n0: t * tileRows, n1: Math.min(N, (t + nt) * tileRows) });
    }
  }
  return chunks;
}

/**
 * Split-K: invocations a call should have in flight before splitting the keys is not
 * worth a combine pass: 256 workgroups of 256 (two per SM on the H100's 132 SMs), or
 * as many more small workgroups as make the same count. Smaller GPUs are full sooner
 * and lose only the (small) combine.
 */
export const SPLIT_TARGET_INVOCATIONS = 65536;

/**
 * Keys a range should have at least. Each range has fixed costs (staging its Q tile,
 * writing a partial O, one more part for the combine to read) against work in
 * proportion to its keys, so the time is about a·Nk/ranges + b·ranges, least at
 * ranges ∝ √Nk. On the H100 (decoding, GQA packed, 8 workgroups) the best forced
 * counts were 32 ranges of 256 keys at Nk = 8192 and 64 of 512 at 32768: √(8·Nk) keys.
 */
export function minRangeKeys(seqK: number): number {
  return Math.max(256, Math.sqrt(8 * seqK));
}

/**
 * Key ranges [lo, hi) for one fused forward call: one range unless the call has too
 * few invocations (Q tiles × heads × batch × `threads` per workgroup) for the GPU
 * while each row walks many key tiles; then enough ranges to reach the target, each
 * of at least two tiles and minRangeKeys keys. `forced` (tests, tuning) asks for a
 * number of ranges instead (capped at one per tile).
 */
export function keyRanges(p: Problem, br: number, bc: number, threads: number, forced?: number): [number, number][] {
  const tiles = Math.ceil(p.seqK / bc);
  const workgroups = p.batch * p.headsQ * Math.ceil(p.seqQ / br);
  const target = Math.ceil(SPLIT_TARGET_INVOCATIONS / threads);
  const most = Math.max(1, Math.min(Math.floor(tiles / 2), Math.floor(p.seqK / minRangeKeys(p.seqK))));
  const wanted = forced ?? (workgroups >= target || tiles < 4 ? 1 : Math.min(Math.ceil(target / workgroups), most));
  const per = Math.ceil(tiles / Math.max(1, Math.min(wanted, tiles)));
  const ranges: [number, number][] = [];
  for (let t = 0; t < tiles; t += per) ranges.push([t * bc, Math.min(p.seqK, (t + per) * bc)]);
  return ranges.length ? ranges : [[0, p.seqK]];
}

/**
 * Query heads per K/V head to stack into one workgroup's rows (GQA packing), or 1:
 * for calls with fewer query rows than a small tile (decoding, Nq < 64) and K/V heads
 * shared by several query heads, when no score or mask modifier needs one head per
 * workgroup. The group then reads its K/V once instead of once per query head.
 */
export function packGroup(p: Problem, modifiers: boolean): number {
  const group = p.headsQ / p.headsKv;
  return group > 1 && p.seqQ < 64 && !modifiers ? group : 1;
}
