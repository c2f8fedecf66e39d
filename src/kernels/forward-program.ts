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
import { padBytes, strideValues, type BufferDecl, type Program, type Step } from './program.js';
import { chunkRanges, keyRanges, packGroup, splitCall, type Chunk, type SplitInput } from './split.js';
import { halfTileChoice } from './tile-policy.js';
import { tileUsesSubgroups } from './tiles.js';
import { lowerVariant } from './variant.js';
import { bytesOf } from '../tensor/half.js';
import { pagedBuffers, pagedSplit, poolRange } from './paged-program.js';
import { combineStep, keyParts } from './split-k.js';

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
  /** Key ranges [lo, hi) merged by a combine pass; one range when unsplit. */
  readonly ranges: readonly (readonly [number, number])[];
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
  const chunks = splitCall(split, caps.maxBindingBytes, caps.limits.minStorageBufferOffsetAlignment, br);
  // Too few rows to fill the GPU: the keys run in ranges whose partial results a combine
  // pass merges (only for calls that bind whole; those are small by definition).
  const pack = chunks.length === 1 ? packable : 1;
  const rowsOf = pack > 1 ? { ...p, headsQ: p.headsKv, seqQ: p.seqQ * pack } : p; // workgroups' view of the rows
  const ranges = chunks.length === 1 ? keyRanges(rowsOf, br, bc, tile.tx * tile.ty, c.keySplits) : [[0, p.seqK] as [number, number]];
  return { tile, br, bc, split, chunks, pack, ranges, halfTiles };
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
  const vecBytes = 4 * bytesOf(c.dtype); // Q, K, V and O offsets are in vec4 rows of the dtype
  const outBytes = p.batch * p.headsQ * p.seqQ * p.headDim * bytesOf(c.dtype);
  const lseBytes = p.batch * p.headsQ * p.seqQ * 4;
  const buffers: Record<string, BufferDecl> = {
    out: { role: 'output', bytes: outBytes, label: 'attention out' },
    lse: { role: 'output', bytes: lseBytes, label: 'attention lse' },
  };
  if (lowered.aux) buffers.aux = { role: 'upload', data: lowered.aux, label: 'attention aux tables' };
  if (blocks) buffers.blocks = blocks.decl;
  if (c.pages) Object.assign(buffers, pagedBuffers(c.pages));
  // O parts are f32 whatever the dtype: the combine rounds once, at the end.
  const partBytes = p.batch * p.headsQ * p.seqQ * p.headDim * 4;
  const parts = ranges.length > 1 ? keyParts(caps, ranges.length, padBytes(partBytes), padBytes(lseBytes) * 2) : undefined;
  if (parts) Object.assign(buffers, parts.buffers);
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
  const steps: Step[] = chunks.map((ch) => {
    // One dispatch per chunk; with key ranges, its x dimension runs over (range, Q tile).
    const r = poolRange(c, chunkRanges(layout.split, ch, align));
    const qTiles = Math.ceil(((ch.n1 - ch.n0) * pack) / br);
    return {
      spec,
      params: FORWARD_PARAMS,
      values: {
        ...commonValues(p, c.positions),
        qkScale: c.scale * Math.LOG2E,
        ...strideValues(c, 4),
        scale: c.scale,
        ...blockParams(blocks?.dims),
        headBase: ch.h0,
        batchBase: ch.b0,
        tileBase: ch.n0 / br,
        qOff: r.q.offset / vecBytes,
        kOff: r.k.offset / vecBytes,
        vOff: r.v.offset / vecBytes,
        lseOff: r.lse.offset / 4,
        qTiles,
        rangeKeys,
        oPart: parts ? parts.oStride / 16 : 0,
        statPart: parts ? parts.statsStride / 4 : 0,
      },
      buffers: {
        q: { name: 'q', ...r.q },
        k: { name: 'k', ...r.k },
        v: { name: 'v', ...r.v },
        o: parts ? 'oParts' : { name: 'out', ...r.q },
        lse: parts ? 'stats' : { name: 'lse', ...r.lse },
        aux: 'aux',
        blocks: 'blocks',
        pages: 'pages',
      },
      grid: [qTiles * ranges.length, pack > 1 ? p.headsKv : ch.h1 - ch.h0, ch.b1 - ch.b0],
    };
  });
  const labels = [chunks.length > 1 ? `${spec.label} ×${chunks.length} chunks` : parts ? `${spec.label} ×${ranges.length} key ranges` : spec.label];
  if (parts) {
    const combine = combineStep(c, parts, ranges.length, variant?.sinkOffset);
    steps.push(combine);
    labels.push(combine.spec.label);
  }
  return { buffers, steps, labels };
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
