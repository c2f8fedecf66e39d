/*
 * Split-K's scratch and its last step: each key range of a forward call writes a
 * normalised partial O (f32) and its rows' (log2 max, denominator) at its own aligned
 * offset, and the combine (combine.ts) merges them into the call's O and LSE. Shared
 * by the fused kernel's key ranges and the decode kernel, which always writes parts.
 */
import type { AttentionCall, Caps } from './call.js';
import { COMBINE_PARAMS, combineKernel } from './combine.js';
import type { BufferDecl, Step } from './program.js';

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

/** The split-K combine: one invocation per (row, vec4 column) merges the parts into 'out' and 'lse'. */
export function combineStep(c: AttentionCall, parts: { oStride: number; statsStride: number }, splits: number, sinkOffset: number | undefined): Step {
  const p = c.problem;
  const rows = p.batch * p.headsQ * p.seqQ;
  const v4 = (n: number) => n / 4;
  const groups = Math.ceil((rows * p.headDim) / 4 / 64);
  const wgx = Math.min(groups, 65535);
  return {
    spec: combineKernel(p.headDim, sinkOffset, c.dtype === 'f16'),
    params: COMBINE_PARAMS,
    values: {
      rows,
      seqQ: p.seqQ,
      headsQ: p.headsQ,
      splits,
      qsb: v4(c.q.strides.batch),
      qsh: v4(c.q.strides.head),
      qsn: v4(c.q.strides.seq),
      partVec4: parts.oStride / 16,
      partStats: parts.statsStride / 4,
      negInf: -Infinity,
      nan: NaN,
    },
    buffers: { oParts: 'oParts', stats: 'stats', o: 'out', lse: 'lse', aux: 'aux' },
    grid: [wgx, Math.ceil(groups / wgx), 1],
  };
}
