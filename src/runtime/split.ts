/*
 * Splitting a call that is too large to bind at once. WebGPU binds at most
 * maxStorageBufferBindingSize bytes of a buffer per binding, while a buffer may be
 * larger (maxBufferSize). Attention is independent per (batch, head), so a large
 * call runs as several dispatches, each binding only the ranges of Q, K, V, O and
 * LSE its (batch, head) block reads: first whole batches, then groups of K/V heads
 * (with their query heads) within one batch. Results are the same bits as unsplit.
 */
import { AttentionLimitError } from '../tensor/errors.js';
import type { Strides } from '../tensor/shape.js';
import type { Problem } from '../tensor/validate.js';

/** Batches [b0, b1) × query heads [h0, h1) (whole GQA groups). */
export interface Chunk {
  readonly b0: number;
  readonly b1: number;
  readonly h0: number;
  readonly h1: number;
}

/** A bound range of a buffer, and where it starts in the kernel's units. */
export interface BoundRange {
  readonly offset: number;
  readonly size: number;
}

/** [lo, hi) in floats of the elements a block of batches and heads covers in a tensor. */
function span(s: Strides, b0: number, b1: number, h0: number, h1: number, seq: number, headDim: number): [number, number] {
  const lo = b0 * s.batch + h0 * s.head;
  const hi = (b1 - 1) * s.batch + (h1 - 1) * s.head + (seq - 1) * s.seq + headDim;
  return [lo, hi];
}

/** The byte range to bind for [lo, hi) floats: offset aligned down, size a multiple of 16. */
export function boundRange(lo: number, hi: number, align: number): BoundRange {
  const offset = Math.floor((lo * 4) / align) * align;
  return { offset, size: Math.ceil((hi * 4 - offset) / 16) * 16 };
}

export interface SplitInput {
  readonly problem: Problem;
  readonly q: Strides;
  readonly k: Strides;
  readonly v: Strides;
}

/** The ranges a chunk binds: q (also O), k, v, and lse ([B, Hq, Nq] floats). */
export function chunkRanges(a: SplitInput, c: Chunk, align: number) {
  const p = a.problem;
  const g = p.headsQ / p.headsKv;
  const [hk0, hk1] = [c.h0 / g, c.h1 / g];
  return {
    q: boundRange(...span(a.q, c.b0, c.b1, c.h0, c.h1, p.seqQ, p.headDim), align),
    k: boundRange(...span(a.k, c.b0, c.b1, hk0, hk1, p.seqK, p.headDim), align),
    v: boundRange(...span(a.v, c.b0, c.b1, hk0, hk1, p.seqK, p.headDim), align),
    lse: boundRange((c.b0 * p.headsQ + c.h0) * p.seqQ, ((c.b1 - 1) * p.headsQ + c.h1) * p.seqQ, align),
  };
}

/** Chunks whose every bound range fits `limit` bytes; one chunk when the whole call fits. */
export function splitCall(a: SplitInput, limit: number, align: number): Chunk[] {
  const p = a.problem;
  const g = p.headsQ / p.headsKv;
  const fits = (c: Chunk) => Object.values(chunkRanges(a, c, align)).every((r) => r.size <= limit);
  const whole = { b0: 0, b1: p.batch, h0: 0, h1: p.headsQ };
  if (fits(whole)) return [whole];
  const most = (n: number, ok: (k: number) => boolean) => {
    let k = 0;
    while (k < n && ok(k + 1)) k++;
    return k;
  };
  const nb = most(p.batch, (k) => fits({ b0: 0, b1: k, h0: 0, h1: p.headsQ }));
  const chunks: Chunk[] = [];
  if (nb > 0) {
    for (let b = 0; b < p.batch; b += nb) chunks.push({ b0: b, b1: Math.min(p.batch, b + nb), h0: 0, h1: p.headsQ });
    return chunks;
  }
  const nh = most(p.headsKv, (k) => fits({ b0: 0, b1: 1, h0: 0, h1: k * g }));
  if (nh === 0) {
    const r = chunkRanges(a, { b0: 0, b1: 1, h0: 0, h1: g }, align);
    throw new AttentionLimitError(
      `one head group of this call binds ${Math.max(r.q.size, r.k.size, r.v.size, r.lse.size)} bytes at once ` +
        `(Q/O ${r.q.size}, K ${r.k.size}, V ${r.v.size}), but this device binds at most ${limit} bytes ` +
        '(maxStorageBufferBindingSize); use a shorter sequence per call',
    );
  }
  for (let b = 0; b < p.batch; b++) {
    for (let hk = 0; hk < p.headsKv; hk += nh) chunks.push({ b0: b, b1: b + 1, h0: hk * g, h1: Math.min(p.headsKv, hk + nh) * g });
  }
  return chunks;
}
