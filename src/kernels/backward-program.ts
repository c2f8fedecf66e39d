/*
 * The fused backward's program: Delta = rowsum(dO∘O) (preprocess), then the
 * dK/dV pass (one workgroup per K/V tile) and the dQ pass (one per Q tile), each
 * recomputing P from Q, K and the saved LSE. Deterministic: no float atomics; the
 * table gradients accumulate in 64-bit fixed point. Sink-logit gradients and the
 * fixed-point words become floats on the host afterwards (`host`).
 */
import { sharedCausalShift } from '../mods/positions.js';
import { BACKWARD_PARAMS, backwardKernel, backwardPreprocessKernel, backwardTileRows, type BackwardPass } from './backward.js';
import { blockParams, cachedBlockMask } from './blockmask.js';
import type { BackwardCall, Caps } from './call.js';
import { checkWholeBindings, padBytes, strideValues, type BufferDecl, type HostStep, type Program, type Step } from './program.js';
import { bytesOf } from '../tensor/half.js';
import { backwardTiles } from './tile-policy.js';
import { lowerScoreGrad, lowerTableGrads, lowerVariant } from './variant.js';

/**
 * What both backward programs (these f32 passes and the f16 tensor-core ones) share: the
 * whole bindings checked against the limit, the uniforms every pass reads (block-mask
 * strides 0: each pass adds its own), the gradient outputs and D's scratch, and the
 * preprocess step D = rowsum(dO∘O) reading O and dO in the call's dtype.
 */
export function backwardFrame(c: BackwardCall, caps: Caps) {
  const p = c.problem;
  const eb = bytesOf(c.dtype);
  const qBytes = p.batch * p.headsQ * p.seqQ * p.headDim * eb;
  const kvBytes = p.batch * p.headsKv * p.seqK * p.headDim * eb;
  checkWholeBindings(caps.maxBindingBytes, 'the backward pass', { q: qBytes, k: kvBytes, v: kvBytes, out: qBytes, dOut: qBytes });
  const rows = p.batch * p.headsQ * p.seqQ;
  const values = {
    seqQ: p.seqQ,
    seqK: p.seqK,
    groupSize: p.headsQ / p.headsKv,
    headsQ: p.headsQ,
    headsKv: p.headsKv,
    scale: c.scale,
    qkScale: c.scale * Math.LOG2E,
    causalOffset: c.positions ? (sharedCausalShift(c.positions) ?? 0) : p.seqK - p.seqQ, // with a position table, unused
    rows,
    ...strideValues(c, 4),
    ...blockParams(undefined),
  };
  const buffers: Record<string, BufferDecl> = {
    dq: { role: 'output', bytes: qBytes, label: 'attention dq' },
    dk: { role: 'output', bytes: kvBytes, label: 'attention dk' },
    dv: { role: 'output', bytes: kvBytes, label: 'attention dv' },
    dd: { role: 'scratch', bytes: padBytes(rows * 4), label: 'attention.backward D' },
  };
  const groups = Math.ceil(rows / 64);
  const maxWg = caps.limits.maxComputeWorkgroupsPerDimension;
  const preprocess: Step = {
    spec: backwardPreprocessKernel(p.headDim, c.dtype === 'f16'),
    params: BACKWARD_PARAMS,
    values,
    buffers: { o: 'out', dout: 'dout', dd: 'dd' },
    grid: [Math.min(groups, maxWg), Math.ceil(groups / maxWg), 1],
  };
  return { values, buffers, preprocess };
}

/** Outputs 'dq' (q's layout), 'dk', 'dv' (k's, v's); binds the caller's 'q', 'k', 'v', 'out', 'dout', 'lse'. */
export function backwardProgram(c: BackwardCall, caps: Caps): Program {
  const p = c.problem;
  const { values: shared, buffers, preprocess } = backwardFrame(c, caps);
  const tiles = backwardTiles(caps, c);
  const lowered = lowerVariant(c);
  const scoreGradFn = lowerScoreGrad(c, lowered);
  const tableGrads = c.tableGrads ? lowerTableGrads(c, lowered) : undefined;
  if (lowered.aux) buffers.aux = { role: 'upload', data: lowered.aux, label: 'attention aux tables' };
  // Fixed-point (lo, hi) words per element of the packed tables; fresh buffers are zero.
  if (tableGrads) {
    const words = 2 * Math.max(...tableGrads.tables.map((t) => t.offset + t.length));
    buffers.tgrad = { role: 'scratch', bytes: 4 * words, label: 'attention table grads', zeroed: true };
  }
  const tensors = { q: 'q', k: 'k', v: 'v', dout: 'dout', lse: 'lse', dd: 'dd', dq: 'dq', dk: 'dk', dv: 'dv', aux: 'aux', tgrad: 'tgrad' };
  // Each pass has its own tile geometry (dq: Q rows outer; dkdv: keys outer), so its own block mask and params.
  const pass = (which: BackwardPass): Step => {
    const tile = which === 'dq' ? tiles.dq : tiles.dkdv;
    const { outer, inner } = backwardTileRows(tile);
    const [br, bc] = which === 'dq' ? [outer, inner] : [inner, outer];
    const blocks = c.mask ? cachedBlockMask(c.mask, lowered, { batch: p.batch, heads: p.headsQ, seqQ: p.seqQ, seqK: p.seqK }, br, bc) : undefined;
    if (blocks) buffers[`blocks_${which}`] = blocks.decl;
    const spec = backwardKernel(
      {
        headDim: p.headDim,
        causal: c.causal,
        tile,
        scoreGradFn,
        variant: lowered.kernel && { ...lowered.kernel, blockMask: Boolean(blocks) },
        tableGrads: which === 'dq' ? tableGrads?.code : undefined,
      },
      which,
    );
    const grid: Step['grid'] = which === 'dq' ? [Math.ceil(p.seqQ / outer), p.headsQ, p.batch] : [Math.ceil(p.seqK / outer), p.headsKv, p.batch];
    return { spec, params: BACKWARD_PARAMS, values: { ...shared, ...blockParams(blocks?.dims) }, buffers: { ...tensors, blocks: `blocks_${which}` }, grid };
  };
  const steps = [preprocess, pass('dkdv'), pass('dq')];
  return { buffers, steps, labels: steps.map((s) => s.spec.label), host: hostGrads(c, tableGrads?.tables) };
}

/**
 * Host work after the passes: dsink_h = −Σ_i exp(sink_h − LSE_i)·D_i (a per-head sum over
 * rows), and the table gradients' fixed-point words as floats.
 */
function hostGrads(
  c: BackwardCall,
  tables: readonly { readonly id: string; readonly offset: number; readonly length: number }[] | undefined,
): HostStep | undefined {
  const sinks = c.sinks;
  if (!sinks && !tables) return undefined;
  const p = c.problem;
  return {
    reads: [...(sinks ? ['dd', 'lse'] : []), ...(tables ? ['tgrad'] : [])],
    compute(read) {
      let dsinks: Float32Array | undefined;
      if (sinks) {
        const rows = p.batch * p.headsQ * p.seqQ;
        const [D, lse] = [new Float32Array(read.dd!), new Float32Array(read.lse!)];
        dsinks = new Float32Array(p.headsQ);
        for (let r = 0; r < rows; r++) {
          const h = Math.floor(r / p.seqQ) % p.headsQ;
          if (lse[r] !== -Infinity) dsinks[h] -= Math.exp(sinks[h]! - lse[r]!) * D[r]!;
        }
      }
      let dtables: Map<string, Float32Array> | undefined;
      if (tables) {
        const words = new Uint32Array(read.tgrad!);
        const hi = new Int32Array(read.tgrad!);
        dtables = new Map();
        for (const t of tables) {
          dtables.set(
            t.id,
            Float32Array.from({ length: t.length }, (_, i) => hi[2 * (t.offset + i) + 1]! + words[2 * (t.offset + i)]! / 2 ** 32),
          );
        }
      }
      return { dsinks, dtables };
    },
  };
}
