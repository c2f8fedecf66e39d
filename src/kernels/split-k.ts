/*
 * Split-K's scratch and its last step: each key range of a forward call writes a
 * normalised partial O (f32) and its rows' (log2 max, denominator) at its own aligned
 * offset, and the combine (combine.ts) merges them into the call's O and LSE. Shared
 * by the fused kernel's key ranges and the decode kernel, which always writes parts.
 */
import type { AttentionCall } from './call.js';
import { COMBINE_PARAMS, combineColumns } from './combine.js';
import { padBytes, type BufferDecl, type Step } from './program.js';
import type { KernelSpec } from './spec.js';
import { chunkRanges, type BoundRange, type Chunk, type SplitInput } from './split.js';
import { bytesOf } from '../tensor/half.js';

/** Bytes between consecutive parts of the O and the row-stats scratch. */
export interface PartStrides {
  readonly oStride: number;
  readonly statsStride: number;
}

/**
 * Bytes of one key range's partial O (f32 whatever the dtype: the combine rounds once, at
 * the end) and row (max, denominator) pairs, for the largest chunk's bound Q and LSE ranges,
 * each aligned so that part s starts at an aligned offset.
 */
export function partStrides(split: SplitInput, chunks: readonly Chunk[], align: number): PartStrides {
  const up = (n: number) => Math.ceil(padBytes(n) / align) * align;
  let [o, stats] = [0, 0];
  for (const ch of chunks) {
    const r = chunkRanges(split, ch, align);
    o = Math.max(o, (r.q.size / split.elemBytes) * 4);
    stats = Math.max(stats, 2 * r.lse.size);
  }
  return { oStride: up(o), statsStride: up(stats) };
}

/** The scratch of `splits` parts: 'oParts' and 'stats', as the forward kernels and the combine bind them. */
export function partBuffers(parts: PartStrides, splits: number): Record<string, BufferDecl> {
  return {
    oParts: { role: 'scratch', bytes: parts.oStride * splits, label: 'attention.forward key-range parts' },
    stats: { role: 'scratch', bytes: parts.statsStride * splits, label: 'attention.forward key-range row stats' },
  };
}

/**
 * The split-K combine of one chunk: a workgroup per row, or per block of a row's columns
 * when its parts are many (combineColumns), merges its parts into 'out' and 'lse'.
 */
export function combineStep(
  c: AttentionCall,
  spec: KernelSpec,
  parts: PartStrides,
  splits: number,
  ch: Chunk,
  r: { readonly q: BoundRange; readonly lse: BoundRange },
): Step {
  const p = c.problem;
  const rows = (ch.b1 - ch.b0) * (ch.h1 - ch.h0) * (ch.n1 - ch.n0);
  const v4 = (n: number) => n / 4;
  const cols = combineColumns(p.headDim, spec.workgroupSize[0], splits, rows);
  const workgroups = rows * (v4(p.headDim) / cols);
  const wgx = Math.min(workgroups, 65535);
  return {
    spec,
    params: COMBINE_PARAMS,
    values: {
      rows,
      seqQ: p.seqQ,
      headsQ: p.headsQ,
      splits,
      b0: ch.b0,
      h0: ch.h0,
      n0: ch.n0,
      chunkHeads: ch.h1 - ch.h0,
      chunkRows: ch.n1 - ch.n0,
      qOff: r.q.offset / (4 * bytesOf(c.dtype)),
      lseOff: r.lse.offset / 4,
      qsb: v4(c.q.strides.batch),
      qsh: v4(c.q.strides.head),
      qsn: v4(c.q.strides.seq),
      partVec4: parts.oStride / 16,
      partStats: parts.statsStride / 4,
      cols,
      negInf: -Infinity,
      nan: NaN,
    },
    buffers: { oParts: 'oParts', stats: 'stats', o: { name: 'out', ...r.q }, lse: { name: 'lse', ...r.lse }, aux: 'aux' },
    grid: [wgx, Math.ceil(workgroups / wgx), 1],
  };
}
