/*
 * The fused forward's program: how a call is laid out (tile, chunks that fit one
 * binding, GQA packing, key ranges) and the dispatches that run it — the fused
 * kernel per chunk, and with key ranges the combine that merges their partial
 * results. A mask brings its block mask (empty tiles skipped, full tiles unmasked).
 */
import { sharedCausalShift, type Positions } from '../mods/positions.js';
import type { Problem } from '../tensor/validate.js';
import { blockParams, cachedBlockMask } from './blockmask.js';
import type { AttentionCall, Caps } from './call.js';
import { FORWARD_PARAMS, forwardKernel, tileRows, type ForwardTile } from './forward.js';
import { strideValues, type BufferDecl, type Program, type Step } from './program.js';
import { chunkRanges, keyRanges, packGroup, splitCall, type BoundRange, type Chunk, type SplitInput } from './split.js';
import { halfTileChoice } from './tile-policy.js';
import { tileUsesSubgroups } from './tiles.js';
import { lowerVariant, type LoweredVariant } from './variant.js';
import { bytesOf } from '../tensor/half.js';
import { pagedBuffers, pagedSplit, poolRange } from './paged-program.js';
import { combineKernel } from './combine.js';
import { combineStep, partBuffers, partStrides } from './split-k.js';

/** How the fused kernel lays a call out; the IO model reads it too. */
export interface ForwardLayout {
  readonly tile: ForwardTile;
  readonly br: number;
  readonly bc: number;
  readonly split: SplitInput;
  /** Dispatches, each binding ranges that fit one binding; one when the call fits whole. */
  readonly chunks: readonly Chunk[];
  /** Query heads stacked per workgroup (GQA packing), or 1. */
  readonly pack: number;
  /** The kernel keeps f16 workgroup tiles (an f16 call on a device with the f16-shader tier). */
  readonly halfTiles: boolean;
  /** Key ranges [lo, hi) merged by a combine pass, the same in every chunk; one range when unsplit. */
  readonly ranges: readonly (readonly [number, number])[];
  /** With several ranges: bytes one range's partial O and row stats take (the largest chunk's, aligned). */
  readonly parts?: { readonly oStride: number; readonly statsStride: number };
}

/** The fused kernel's layout of a call on an adapter. */
export function forwardLayout(c: AttentionCall, caps: Caps): ForwardLayout {
  const p = c.problem;
  // Few query rows and shared K/V heads: stack a group's query heads in one workgroup.
  const packable = packGroup(p, Boolean(c.score || c.mask));
  // f16 workgroup tiles (the f16-shader tier) only where they buy a larger tile, or fit a forced one.
  const f16Tiles = c.dtype === 'f16' && Boolean(caps.halfTiles);
  const { tile, halfTiles } = halfTileChoice({ ...caps, halfTiles: f16Tiles }, p.headDim, c.causal, p.seqQ, p.seqQ * packable, c.tile);
  const { br, bc } = tileRows(tile);
  const split = pagedSplit(c, { problem: p, q: c.q.strides, k: c.k.strides, v: c.v.strides, elemBytes: bytesOf(c.dtype) }, caps);
  const align = caps.limits.minStorageBufferOffsetAlignment;
  const chunks = splitCall(split, caps.maxBindingBytes, align, br);
  // A packed workgroup holds every query head and row of its K/V head: chunks may split batches only.
  const pack = chunks.every((ch) => ch.h0 === 0 && ch.h1 === p.headsQ && ch.n0 === 0 && ch.n1 === p.seqQ) ? packable : 1;
  // Too few rows to fill the GPU: the keys run in ranges whose partial results a combine
  // pass merges. Planned on the first chunk (the largest), run alike in every chunk.
  const first = chunks[0]!;
  const rows = { ...p, batch: first.b1 - first.b0, headsQ: first.h1 - first.h0, seqQ: first.n1 - first.n0 };
  const rowsOf = pack > 1 ? { ...rows, headsQ: p.headsKv, seqQ: p.seqQ * pack } : rows; // workgroups' view of the rows
  const threads = tile.tx * tile.ty;
  let ranges = keyRanges(rowsOf, br, bc, threads, c.keySplits);
  if (ranges.length === 1) return { tile, br, bc, split, chunks, pack, ranges, halfTiles };
  // The parts are bound whole (each chunk reuses them): as many ranges as fit one binding.
  const parts = partStrides(split, chunks, align);
  const most = Math.floor(caps.maxBindingBytes / Math.max(parts.oStride, parts.statsStride));
  if (ranges.length > most) ranges = most > 1 ? keyRanges(rowsOf, br, bc, threads, most) : [[0, p.seqK]];
  return { tile, br, bc, split, chunks, pack, ranges, halfTiles, ...(ranges.length > 1 ? { parts } : {}) };
}

/** The fused forward: outputs 'out' (q's layout) and 'lse' ([B, Hq, Nq]); binds the caller's 'q', 'k', 'v'. */
export function flashProgram(c: AttentionCall, caps: Caps): Program {
  const p = c.problem;
  const layout = forwardLayout(c, caps);
  const { tile, br, bc, chunks, pack, ranges } = layout;
  const lowered = lowerVariant(c);
  const blocks = c.mask ? cachedBlockMask(c.mask, lowered, { batch: p.batch, heads: p.headsQ, seqQ: p.seqQ, seqK: p.seqK }, br, bc) : undefined;
  const variant = lowered.kernel && { ...lowered.kernel, blockMask: Boolean(blocks) };
  const half = c.dtype === 'f16';
  const buffers = forwardBuffers(c, lowered);
  if (blocks) buffers.blocks = blocks.decl;
  const { parts } = layout;
  if (parts) Object.assign(buffers, partBuffers(parts, ranges.length));
  // With parts, the sinks join in the combine (each range would otherwise count them once).
  const spec = forwardKernel({
    headDim: p.headDim,
    causal: c.causal,
    tile,
    subgroups: tileUsesSubgroups(tile, caps.subgroupWidth),
    partial: Boolean(parts),
    pack,
    half,
    halfTiles: layout.halfTiles,
    variant: variant && (parts ? { ...variant, sinkOffset: undefined } : variant),
    pageSize: c.pages?.pageSize,
  });
  const align = caps.limits.minStorageBufferOffsetAlignment;
  const rangeKeys = ranges[0]![1] - ranges[0]![0];
  const combine = parts && combineKernel(p.headDim, variant?.sinkOffset, half, caps.limits.maxComputeInvocationsPerWorkgroup);
  const steps: Step[] = chunks.flatMap((ch) => {
    // One dispatch per chunk; with key ranges, its x dimension runs over (range, Q tile), and
    // the chunk's combine follows (the parts are the chunk's own, reused by the next chunk).
    const r = poolRange(c, chunkRanges(layout.split, ch, align));
    const qTiles = Math.ceil(((ch.n1 - ch.n0) * pack) / br);
    const fused: Step = {
      spec,
      params: FORWARD_PARAMS,
      values: {
        ...boundValues(c, r),
        ...blockParams(blocks?.dims),
        headBase: ch.h0,
        batchBase: ch.b0,
        tileBase: ch.n0 / br,
        qTiles,
        rangeKeys,
        oPart: parts ? parts.oStride / 16 : 0,
        statPart: parts ? parts.statsStride / 4 : 0,
      },
      buffers: {
        ...boundInputs(r),
        o: parts ? 'oParts' : { name: 'out', ...r.q },
        lse: parts ? 'stats' : { name: 'lse', ...r.lse },
        aux: 'aux',
        blocks: 'blocks',
        pages: 'pages',
      },
      grid: [qTiles * ranges.length, pack > 1 ? p.headsKv : ch.h1 - ch.h0, ch.b1 - ch.b0],
    };
    return parts && combine ? [fused, combineStep(c, combine, parts, ranges.length, ch, r)] : [fused];
  });
  // What ran, named once: the fused kernel (its chunks and key ranges), then the combine.
  const times = chunks.length > 1 ? ` ×${chunks.length} chunks` : '';
  const labels = [`${spec.label}${times}${parts ? ` ×${ranges.length} key ranges` : ''}`];
  if (combine) labels.push(`${combine.label}${times}`);
  return { buffers, steps, labels };
}

/** A forward program's outputs 'out' (q's layout and dtype) and 'lse', with the variant's tables and the page table where the call has them. */
export function forwardBuffers(c: AttentionCall, lowered: LoweredVariant): Record<string, BufferDecl> {
  const p = c.problem;
  const buffers: Record<string, BufferDecl> = {
    out: { role: 'output', bytes: p.batch * p.headsQ * p.seqQ * p.headDim * bytesOf(c.dtype), label: 'attention out' },
    lse: { role: 'output', bytes: p.batch * p.headsQ * p.seqQ * 4, label: 'attention lse' },
  };
  if (lowered.aux) buffers.aux = { role: 'upload', data: lowered.aux, label: 'attention aux tables' };
  if (c.pages) Object.assign(buffers, pagedBuffers(c.pages));
  return buffers;
}

/** FORWARD_PARAMS fields fixed by the call and the ranges a dispatch binds: sizes, scales, strides, bound offsets. */
export function boundValues(c: AttentionCall, r: { readonly [K in 'q' | 'k' | 'v' | 'lse']: BoundRange }) {
  const vecBytes = 4 * bytesOf(c.dtype); // Q, K, V and O offsets are in vec4 rows of the dtype
  return {
    ...commonValues(c.problem, c.positions),
    qkScale: c.scale * Math.LOG2E,
    ...strideValues(c, 4),
    scale: c.scale,
    qOff: r.q.offset / vecBytes,
    kOff: r.k.offset / vecBytes,
    vOff: r.v.offset / vecBytes,
    lseOff: r.lse.offset / 4,
  };
}

/** The caller's Q, K and V as a dispatch binds them. */
export function boundInputs(r: { readonly [K in 'q' | 'k' | 'v']: BoundRange }) {
  return { q: { name: 'q', ...r.q }, k: { name: 'k', ...r.k }, v: { name: 'v', ...r.v } };
}

/** Parameter fields the forward families share (the causal shift: the batch's shared one; with a position table it is unused). */
export function commonValues(p: Problem, positions?: Positions) {
  return {
    seqQ: p.seqQ,
    seqK: p.seqK,
    groupSize: p.headsQ / p.headsKv,
    headsQ: p.headsQ,
    causalOffset: positions ? (sharedCausalShift(positions) ?? 0) : p.seqK - p.seqQ,
    negInf: -Infinity,
    nan: NaN,
    headBase: 0,
  };
}
