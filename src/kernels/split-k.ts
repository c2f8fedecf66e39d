/*
 * Split-K's scratch and its last step: each key range of a forward call writes a
 * normalised partial O (f32) and its rows' (log2 max, denominator) at its own aligned
 * offset, and the combine (combine.ts) merges them into the call's O and LSE. Shared
 * by the fused kernel's key ranges and the decode kernel, which always writes parts.
 */
import type { AttentionCall, Caps } from './call.js';
import { COMBINE_PARAMS } from './combine.js';
import type { BufferDecl, Step } from './program.js';
import type { KernelSpec } from './spec.js';
import type { BoundRange, Chunk } from './split.js';
import { bytesOf } from '../tensor/half.js';

/** Scratch for the partial O and row (max, denominator) of `splits` key ranges, each part at an aligned offset. */
export function keyParts(caps: Caps, splits: number, oBytes: number, statsBytes: number) {
  const align = caps.limits.minStorageBufferOffsetAlignment;
  const up = (n: number) => Math.ceil(n / align) * align;
  const [oStride, statsStride] = [up(oBytes), up(statsBytes)];
  const buffers: Record<string, BufferDecl> = {
    oParts: { role: 'scratch', bytes: oStride * splits, label: 'attention.forward key-range parts' },
    stats: { role: 'scratch', bytes: statsStride * splits, label: 'attention.forward key-range row stats' },
  };
  return { buffers, oStride, statsStride };
}

/** The split-K combine of one chunk: one invocation per (row, vec4 column) merges its parts into 'out' and 'lse'. */
export function combineStep(
  c: AttentionCall,
  spec: KernelSpec,
  parts: { oStride: number; statsStride: number },
  splits: number,
  ch: Chunk,
  r: { readonly q: BoundRange; readonly lse: BoundRange },
): Step {
  const p = c.problem;
  const rows = (ch.b1 - ch.b0) * (ch.h1 - ch.h0) * (ch.n1 - ch.n0);
  const v4 = (n: number) => n / 4;
  const groups = Math.ceil((rows * p.headDim) / 4 / 64);
  const wgx = Math.min(groups, 65535);
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
      negInf: -Infinity,
      nan: NaN,
    },
    buffers: { oParts: 'oParts', stats: 'stats', o: { name: 'out', ...r.q }, lse: { name: 'lse', ...r.lse }, aux: 'aux' },
    grid: [wgx, Math.ceil(groups / wgx), 1],
  };
}
