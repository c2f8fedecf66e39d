/*
 * The IO model: device-memory bytes each algorithm must move, step by step, as
 * the lectures count them (each step reads its inputs from HBM and writes its
 * result back). f32: 4 bytes per element.
 *
 * naive:  scores  read Q, K          write S (N×N per head)
 *         mask    read S             write S        (causal only)
 *         softmax read S             write P, LSE
 *         pv      read P, V          write O
 * flash:  one kernel: read Q once; read K and V once per Q tile (only the tiles a
 *         causal row block can see); write O and LSE once. Nothing N×N.
 */
import type { Problem } from '../tensor/validate.js';
import type { Algorithm } from './options.js';

export interface IoStep {
  readonly step: string;
  readonly readBytes: number;
  readonly writeBytes: number;
}

const F32 = 4;

/** Keys each Q tile of `br` rows must visit (all of them, or up to the causal diagonal). */
export function keysVisited(p: Problem, causal: boolean, br: number): number {
  let keys = 0;
  for (let q0 = 0; q0 < p.seqQ; q0 += br) {
    keys += causal ? Math.max(0, Math.min(p.seqK, q0 + br + p.seqK - p.seqQ)) : p.seqK;
  }
  return keys;
}

/** Steps of the IO model for `algorithm`; `br` is the fused kernel's Q tile height. */
export function ioSteps(p: Problem, algorithm: Algorithm, causal: boolean, br = 64): IoStep[] {
  const heads = p.batch * p.headsQ;
  const q = heads * p.seqQ * p.headDim * F32;
  const kv = heads * p.seqK * p.headDim * F32; // K (or V) as each query head reads it
  const s = heads * p.seqQ * p.seqK * F32;
  const lse = heads * p.seqQ * F32;
  if (algorithm === 'naive') {
    return [
      { step: 'scores S = scale·QKᵀ', readBytes: q + kv, writeBytes: s },
      ...(causal ? [{ step: 'mask', readBytes: s, writeBytes: s }] : []),
      { step: 'softmax P = softmax(S)', readBytes: s, writeBytes: s + lse },
      { step: 'output O = P·V', readBytes: s + kv, writeBytes: q },
    ];
  }
  const kvTiles = heads * keysVisited(p, causal, br) * p.headDim * F32;
  return [{ step: 'fused (Q once, K/V per Q tile)', readBytes: q + 2 * kvTiles, writeBytes: q + lse }];
}

/** Total bytes of the IO model. */
export function modelBytes(p: Problem, algorithm: Algorithm, causal: boolean, br = 64): number {
  return ioSteps(p, algorithm, causal, br).reduce((a, s) => a + s.readBytes + s.writeBytes, 0);
}

/** Forward FLOPs by the convention of DESIGN.md: 4·B·Hq·Nq·Nk·D, halved when causal. */
export function forwardFlops(p: Problem, causal: boolean): number {
  const f = 4 * p.batch * p.headsQ * p.seqQ * p.seqK * p.headDim;
  return causal ? f / 2 : f;
}

/**
 * Bytes any algorithm must move: read Q, K, V once and write O and LSE once
 * (forward); backward also reads O, dO and LSE and writes dQ, dK, dV.
 */
export function compulsoryBytes(p: Problem, pass: 'forward' | 'backward' = 'forward'): number {
  const q = p.batch * p.headsQ * p.seqQ * p.headDim;
  const kv = p.batch * p.headsKv * p.seqK * p.headDim;
  const rows = p.batch * p.headsQ * p.seqQ;
  return F32 * (pass === 'forward' ? 2 * q + 2 * kv + rows : 4 * q + 4 * kv + rows);
}

/** The floor of a problem on a device: its FLOPs at the FMA peak or its compulsory bytes at the copy bandwidth, whichever takes longer (ms). */
export function floorMs(flops: number, bytes: number, peaks: { flops: number; bytesPerSecond: number }): number {
  return Math.max(flops / peaks.flops, bytes / peaks.bytesPerSecond) * 1e3;
}
