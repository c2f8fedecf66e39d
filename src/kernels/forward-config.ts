/*
 * The forward kernel's configuration and what follows from it without generating
 * any WGSL: tile shapes, the variant as kernels see it, the uniform fields and
 * bindings, and the workgroup memory and registers a tile needs (tiles.ts picks
 * default tiles by these numbers).
 */
import { PARAMS_BINDING, type Binding } from './spec.js';
import type { ParamLayout } from './params.js';
import type { RowType } from './wgsl-common.js';

/** Tile shape of the forward kernel. */
export interface ForwardTile {
  /** Invocations along keys / output columns. */
  readonly tx: number;
  /** Invocations along query rows. */
  readonly ty: number;
  /** Query rows per invocation. */
  readonly rm: number;
  /** Keys per invocation per tile. */
  readonly cn: number;
  /** Stage V in the K buffer after S is computed (less workgroup memory, one tile in flight). */
  readonly shareKv: boolean;
  /**
   * Write P into the K buffer once S is computed (one barrier more per tile, no P buffer):
   * frees BR·BC floats of workgroup memory for wider key tiles. Excludes shareKv.
   */
  readonly pInK?: boolean;
  /**
   * K rows unpadded, their vec4 columns XOR-swizzled by the key (d ^ (key mod D4)) against
   * bank conflicts instead of a padding vec4 per row: 1/D4 less K memory. Needs D4 a power of two.
   */
  readonly swizzle?: boolean;
}

/** One forward kernel: head dim, causal flag, tile, and the options compiled into it. */
export interface ForwardConfig {
  readonly headDim: number;
  readonly causal: boolean;
  readonly tile: ForwardTile;
  /** Attention variant compiled into the kernel (score/mask modifiers, sinks). */
  readonly variant?: KernelVariant;
  /**
   * Row max and row sum by subgroup shuffles instead of workgroup memory. Only when
   * the device has 'subgroups', its subgroups hold whole rows (size ≥ TX, TX a power
   * of two) and lanes follow local_invocation_index (runtime/probe.ts checks).
   */
  readonly subgroups?: boolean;
  /**
   * One key range of a split-K call (runtime/split.ts): instead of LSE, write each row's
   * running max (log2 frame) and denominator as a pair, so the combine pass
   * (kernels/combine.ts) merges the ranges with the same rounding as one pass.
   */
  readonly partial?: boolean;
  /**
   * GQA packing for few query rows (decoding): this many query heads of one K/V head
   * share a workgroup, their rows stacked (row = head in group · Nq + query), so the
   * workgroup reads its K/V once for all of them and fills rows that would be padding.
   * The grid's y runs over K/V heads. Not with score/mask modifiers (they see one head
   * per workgroup); learned sinks are per row.
   */
  readonly pack?: number;
  /**
   * Q, K, V and O hold f16 (packed pairs, wgsl-common.ts F16_ROWS); the arithmetic and
   * the workgroup tiles stay f32. A partial kernel's O parts stay f32 (the combine writes f16).
   */
  readonly half?: boolean;
  /**
   * With `half`, on a device with 'shader-f16': the workgroup tiles (Q, K, V, P) hold
   * vec4<f16>, half the bytes; values widen to f32 as they leave the tile, so products,
   * sums and the softmax statistics stay f32 (only P is rounded to f16, as FlashAttention's
   * f16 kernels do before P·V).
   */
  readonly halfTiles?: boolean;
  /**
   * Paged K/V (kernels/paged.ts): K and V are page pools of this many rows per page, read
   * through the `pages` table, with a key length per batch entry. Undefined: contiguous K/V.
   */
  readonly pageSize?: number;
}

/**
 * A variant as the kernels see it: WGSL functions emitted from the modifier IR
 * (mods/emit-wgsl.ts; never user text) and where the learned sinks live.
 */
export interface KernelVariant {
  /** `fn scoreMod(score: f32, b: i32, h: i32, q: i32, kv: i32) -> f32`, applied to the scaled score. */
  readonly scoreFn?: string;
  /** `fn maskMod(b: i32, h: i32, q: i32, kv: i32) -> bool`; false masks the key out. */
  readonly maskFn?: string;
  /** Offset in `aux` of one sink logit per query head, when the variant has learned sinks. */
  readonly sinkOffset?: number;
  /** Whether the modifiers read auxiliary tables (then kernels running them bind `aux`). */
  readonly readsTables: boolean;
  /** The mask comes with a block mask (binding `blocks`): empty tiles skipped, full ones unmasked. */
  readonly blockMask?: boolean;
  /**
   * Offset in `aux` of per-batch (query position, key position) pairs, when the call's
   * positions are more than the uniform `causalOffset` says (mods/positions.ts).
   */
  readonly positionsAt?: number;
}

/** The forward kernel's uniform fields, in order (the runtime fills them by name). */
export const FORWARD_PARAMS: ParamLayout = {
  fields: [
    ['seqQ', 'u32'],
    ['seqK', 'u32'],
    ['groupSize', 'u32'],
    ['headsQ', 'u32'],
    ['qkScale', 'f32'],
    ['causalOffset', 'i32'],
    ['negInf', 'f32'],
    ['headBase', 'u32'],
    // strides in vec4 units: batch, head, seq
    ['qsb', 'u32'],
    ['qsh', 'u32'],
    ['qsn', 'u32'],
    ['ksb', 'u32'],
    ['ksh', 'u32'],
    ['ksn', 'u32'],
    ['vsb', 'u32'],
    ['vsh', 'u32'],
    ['vsn', 'u32'],
    ['scale', 'f32'],
    // block mask strides (tiles): batch (0 if the mask ignores b), head (0 if it ignores h), row
    ['bmB', 'u32'],
    ['bmH', 'u32'],
    ['bmRow', 'u32'],
    // a NaN from the host: WGSL cannot write one as a constant
    ['nan', 'f32'],
    // A dispatch over part of a problem too large to bind at once (runtime splits it):
    // its first batch and Q tile, and where its bound ranges start (vec4 units; floats for lse).
    ['batchBase', 'u32'],
    ['tileBase', 'u32'],
    ['qOff', 'u32'],
    ['kOff', 'u32'],
    ['vOff', 'u32'],
    ['lseOff', 'u32'],
    // Split-K (runtime/split.ts): workgroup x = part · qTiles + Q tile; part p walks keys
    // [p·rangeKeys, (p+1)·rangeKeys) and writes its O and row stats oPart vec4 / statPart floats further on
    // (counted from qOff / lseOff like O and LSE: a split call's chunks each have their own parts).
    ['qTiles', 'u32'],
    ['rangeKeys', 'u32'],
    ['oPart', 'u32'],
    ['statPart', 'u32'],
  ],
};

/** Bindings every forward kernel declares, with Q/K/V of type `inRows` and O of `outRows`; `aux` and `blocks` follow when the variant needs them. */
export function forwardBindings(inRows: RowType, outRows: RowType): readonly Binding[] {
  return [
    PARAMS_BINDING,
    { name: 'q', kind: 'read', type: inRows.type },
    { name: 'k', kind: 'read', type: inRows.type },
    { name: 'v', kind: 'read', type: inRows.type },
    { name: 'o', kind: 'read_write', type: outRows.type },
    { name: 'lse', kind: 'read_write', type: 'array<f32>' },
  ];
}

/** Rows of Q and keys of K/V per workgroup tile. */
export function tileRows(t: ForwardTile): { br: number; bc: number } {
  return { br: t.rm * t.ty, bc: t.cn * t.tx };
}

/** vec4 slots of the K staging buffer (which also holds V when shared, P when pInK). */
export function kSlots(headDim: number, t: ForwardTile): number {
  const { br, bc } = tileRows(t);
  const k = bc * (headDim / 4 + (t.swizzle ? 0 : 1));
  return t.pInK ? Math.max(k, (br * bc) / 4) : k;
}

/**
 * Workgroup memory in bytes that a tile shape needs at head dim `headDim`; the row
 * reductions need a buffer only without subgroups.
 */
export function forwardWorkgroupBytes(headDim: number, t: ForwardTile, subgroups = false, halfTiles = false): number {
  const { br, bc } = tileRows(t);
  const d4 = headDim / 4;
  const q = br * d4;
  const v = t.shareKv ? 0 : bc * d4;
  const p = t.pInK ? 0 : (br * bc) / 4;
  return (q + kSlots(headDim, t) + v + p) * (halfTiles ? 8 : 16) + (subgroups ? 0 : br * t.tx * 4);
}

/** Why a tile's options cannot build at `headDim`, or undefined. */
export function tileOptionsProblem(headDim: number, t: ForwardTile): string | undefined {
  const d4 = headDim / 4;
  if (t.swizzle && (d4 & (d4 - 1)) !== 0) return `the K swizzle needs D/4 a power of two, got ${d4}`;
  if (t.pInK && t.shareKv) return 'P in the K buffer excludes V sharing it';
  return undefined;
}

/** Output vec4 columns each invocation owns. */
export function outCols(headDim: number, t: ForwardTile): number {
  return Math.ceil(headDim / 4 / t.tx);
}

/** Floats of accumulator each invocation holds; kept ≤ 64 so nothing spills. */
export function forwardAccFloats(headDim: number, t: ForwardTile): number {
  return t.rm * outCols(headDim, t) * 4;
}
