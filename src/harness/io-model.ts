/*
 * The IO model: device-memory bytes each algorithm must move, step by step, as
 * the lectures count them (each step reads its inputs from HBM and writes its
 * result back). Q, K, V, O and dO take `elemBytes` per element (4 for f32, 2 for
 * f16); S, P and the statistics (LSE, row max and denominator) are f32 always.
 *
 * naive:  scores  read Q, K          write S (N×N per head)
 *         mask    read S             write S        (causal only)
 *         softmax read S             write P, LSE
 *         pv      read P, V          write O
 * flash:  one kernel: read Q once; read K and V once per Q tile (only the tiles a
 *         causal row block can see); write O and LSE once. Nothing N×N.
 *         With GQA packing a tile holds the rows of a group's query heads, so K/V
 *         are read once per K/V head; with key ranges (split-K) each range writes
 *         its partial O and row (max, denominator), which a combine pass reads back.
 */
import type { Problem } from '../tensor/validate.js';
import type { Algorithm } from '../api/options.js';

export interface IoStep {
  readonly step: string;
  readonly readBytes: number;
  readonly writeBytes: number;
}

const F32 = 4;

/**
 * How a fused kernel lays a call out (kernels/forward-program.ts `forwardLayout`): Q tile height,
 * query heads stacked per workgroup (GQA packing; default 1) and key ranges (split-K;
 * default one range over all keys).
 */
export interface FlashLayout {
  readonly br: number;
  readonly pack?: number;
  readonly ranges?: readonly (readonly [number, number])[];
}

/**
 * Keys the Q tiles of one head (one K/V head when packed) must visit, summed over tiles
 * and key ranges: all of them, or up to the causal diagonal of the tile's last row.
 */
export function keysVisited(p: Problem, causal: boolean, layout: FlashLayout): number {
  const { br, pack = 1, ranges = [[0, p.seqK]] } = layout;
  let keys = 0;
  for (let q0 = 0; q0 < p.seqQ * pack; q0 += br) {
    // A packed tile holds rows of every query position, so it sees as far as the last one.
    const last = pack > 1 ? p.seqQ : Math.min(q0 + br, p.seqQ);
    const end = causal ? Math.max(0, Math.min(p.seqK, last + p.seqK - p.seqQ)) : p.seqK;
    for (const [k0, k1] of ranges) keys += Math.max(0, Math.min(k1, end) - k0);
  }
  return keys;
}

/**
 * Steps of the IO model for `algorithm`; `layout` is the fused kernel's (default: 64-row Q
 * tiles, one range). The naive pipeline of an f16 call is modelled as an f16 pipeline
 * would run (Q/K/V/O in f16, S and P in f32), not as this library's widen-narrow wrapper.
 */
export function ioSteps(p: Problem, algorithm: Algorithm, causal: boolean, layout: FlashLayout = { br: 64 }, elemBytes = F32): IoStep[] {
  const heads = p.batch * p.headsQ;
  const q = heads * p.seqQ * p.headDim * elemBytes;
  const kv = heads * p.seqK * p.headDim * elemBytes; // K (or V) as each query head reads it
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
  const pack = layout.pack ?? 1;
  const splits = layout.ranges?.length ?? 1;
  const kvTiles = (heads / pack) * keysVisited(p, causal, layout) * p.headDim * elemBytes;
  if (splits === 1) return [{ step: 'fused (Q once, K/V per Q tile)', readBytes: q + 2 * kvTiles, writeBytes: q + lse }];
  const parts = splits * ((q / elemBytes) * F32 + 2 * lse); // partial O (f32) and (max, denominator) per row and range
  return [
    { step: `fused over ${splits} key ranges (partial O, max, denominator)`, readBytes: q + 2 * kvTiles, writeBytes: parts },
    { step: 'combine the ranges', readBytes: parts, writeBytes: q + lse },
  ];
}

/** Total bytes of the IO model. */
export function modelBytes(p: Problem, algorithm: Algorithm, causal: boolean, layout: FlashLayout = { br: 64 }, elemBytes = F32): number {
  return ioSteps(p, algorithm, causal, layout, elemBytes).reduce((a, s) => a + s.readBytes + s.writeBytes, 0);
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
export function compulsoryBytes(p: Problem, pass: 'forward' | 'backward' = 'forward', elemBytes = F32): number {
  const q = p.batch * p.headsQ * p.seqQ * p.headDim;
  const kv = p.batch * p.headsKv * p.seqK * p.headDim;
  const rows = p.batch * p.headsQ * p.seqQ;
  return elemBytes * (pass === 'forward' ? 2 * q + 2 * kv : 4 * q + 4 * kv) + F32 * rows;
}

/** The floor of a problem on a device: its FLOPs at the FMA peak or its compulsory bytes at the copy bandwidth, whichever takes longer (ms). */
export function floorMs(flops: number, bytes: number, peaks: { flops: number; bytesPerSecond: number }): number {
  return Math.max(flops / peaks.flops, bytes / peaks.bytesPerSecond) * 1e3;
}
