/*
 * What every WGSL block of the forward kernel shares: the config checked once, the
 * tile's derived sizes, and how one invocation names its rows, its keys and the
 * elements of the workgroup tiles. The blocks (forward-blocks.ts) read only this.
 *
 * An invocation (tx, ty) owns RM query rows (ty·RM + r) and CN keys of each K/V tile
 * (tx + TX·c), and RM × OC vec4 columns of the output (tx + TX·c again).
 */
import type { Binding } from './spec.js';
import { tileMover, type TileMover } from './codegen.js';
import { forwardBindings, outCols, tileOptionsProblem, tileRows, type ForwardConfig, type ForwardTile, type KernelVariant } from './forward-config.js';
import { PAGES_BINDING } from './paged.js';
import { AUX_BINDING, positionNames, rowType, F32_ROWS, type PositionNames, type RowType } from './wgsl-common.js';

/** A checked forward config and the names its WGSL blocks share. */
export interface ForwardPlan {
  readonly cfg: ForwardConfig;
  readonly tile: ForwardTile;
  /** Query rows (BR) and keys (BC) of a workgroup tile. */
  readonly br: number;
  readonly bc: number;
  /** vec4 columns of a head (D/4). */
  readonly d4: number;
  /** Output vec4 columns each invocation owns. */
  readonly oc: number;
  /** Row max and row sum by subgroup shuffles (else through the workgroup buffer `red`). */
  readonly subgroups: boolean;
  /** Query heads of one K/V head stacked in a workgroup's rows (GQA packing); 1 = none. */
  readonly pack: number;
  readonly variant: KernelVariant | undefined;
  /** A score or mask modifier is compiled in (then each row names its query index `qi`). */
  readonly modded: boolean;
  /** The mask comes with a block mask: empty tiles are skipped, full ones go unmasked. */
  readonly blocks: boolean;
  /** The causal shift and the positions modifiers see (uniform, or from a per-batch table). */
  readonly pos: PositionNames;
  /** Group 0 in binding order: the forward bindings, then `aux` and `blocks` when used. */
  readonly bindings: readonly Binding[];
  /** How Q, K and V are read (f32 or packed f16), and how O is written. */
  readonly inRows: RowType;
  readonly outRows: RowType;
  /** The workgroup tiles' element (vec4<f32>, or vec4<f16> with halfTiles). */
  readonly tileElem: string;
  /** A tile element read as vec4<f32>, and a vec4<f32> (or f32 with `scalar`) as the tile holds it. */
  widen(x: string): string;
  toTile(x: string, scalar?: boolean): string;
  /** K/V are page pools read through the `pages` table (kernels/paged.ts). */
  readonly paged: boolean;
  /** The keys of this batch entry: the uniform `params.seqK`, or a paged call's per-entry `kLen`. */
  readonly seqK: string;
  /** Moves one K or V tile: device memory → registers → workgroup memory. */
  readonly mover: TileMover;
  /** The workgroup buffer P goes to: Ks once S is done (pInK), else its own Ps. */
  readonly pBuf: 'Ks' | 'Ps';
  /** Workgroup element (key, vec4 column) of K: padded rows, or unpadded rows with swizzled columns. */
  kAt(key: string, col: string): string;
  /** Workgroup element (key, vec4 column) of V: in the K buffer when shared, else dense in Vs. */
  vAt(key: string, col: string): string;
  /** This invocation's c-th key of a tile, or its c-th output vec4 column: tx + TX·c. */
  lane(c: number): string;
  /** `if (…) ` when output column c may run past D4 (TX does not divide it, e.g. D = 80), else ''. */
  columnGuard(c: number): string;
  /** Local row r: its query index, its query head, and whether it exists. */
  rowQ(r: number): string;
  rowH(r: number): string;
  rowOk(r: number): string;
}

/** Checks `cfg` (throws naming what cannot build) and derives the plan its blocks share. */
export function forwardPlan(cfg: ForwardConfig): ForwardPlan {
  const { headDim, tile: t } = cfg;
  const subgroups = Boolean(cfg.subgroups);
  if (subgroups && (t.tx & (t.tx - 1)) !== 0) throw new Error(`forwardKernel: subgroup reductions need TX a power of two, got ${t.tx}`);
  if (headDim % 4 !== 0) throw new Error(`forwardKernel: head dim ${headDim} is not a multiple of 4`);
  const { br, bc } = tileRows(t);
  if (bc % 4 !== 0) throw new Error(`forwardKernel: keys per tile (${bc}) must be a multiple of 4`);
  const pack = cfg.pack ?? 1;
  const v = cfg.variant;
  const modded = Boolean(v?.scoreFn || v?.maskFn);
  if (pack > 1 && modded) throw new Error('forwardKernel: GQA packing excludes score and mask modifiers');
  if (cfg.halfTiles && !cfg.half) throw new Error('forwardKernel: f16 workgroup tiles are for f16 tensors');
  const optionProblem = tileOptionsProblem(headDim, t);
  if (optionProblem) throw new Error(`forwardKernel: ${optionProblem}`);

  const d4 = headDim / 4;
  const usesAux = v && (v.readsTables || v.sinkOffset !== undefined || v.positionsAt !== undefined);
  const blocks = Boolean(v?.blockMask && v.maskFn);
  const kAt = (key: string, col: string) => (t.swizzle ? `Ks[(${key}) * D4 + ((${col}) ^ ((${key}) & (D4 - 1u)))]` : `Ks[(${key}) * KROW + ${col}]`);
  // Packed rows: row = head in group · Nq + query.
  const packed = (r: number) => `(q0 + ty * RM + ${r}u)`;
  const inRows = rowType(cfg.half);
  const outRows = cfg.partial ? F32_ROWS : inRows;
  const paged = cfg.pageSize !== undefined;
  if (paged && !(Number.isInteger(cfg.pageSize) && cfg.pageSize! >= 1))
    throw new Error(`forwardKernel: page size must be a positive integer, got ${cfg.pageSize}`);
  return {
    cfg,
    tile: t,
    br,
    bc,
    d4,
    oc: outCols(headDim, t),
    subgroups,
    pack,
    variant: v,
    modded,
    blocks,
    inRows,
    outRows,
    pos: positionNames(v?.positionsAt),
    bindings: [
      ...forwardBindings(inRows, outRows),
      ...(usesAux ? [AUX_BINDING] : []),
      ...(blocks ? [{ name: 'blocks', kind: 'read', type: 'array<u32>' } as const] : []),
      ...(paged ? [PAGES_BINDING] : []),
    ],
    tileElem: cfg.halfTiles ? 'vec4<f16>' : 'vec4<f32>',
    widen: (x) => (cfg.halfTiles ? `vec4<f32>(${x})` : x),
    toTile: (x, scalar) => (cfg.halfTiles ? `${scalar ? 'f16' : 'vec4<f16>'}(${x})` : x),
    paged,
    seqK: paged ? 'kLen' : 'params.seqK',
    mover: tileMover(bc, t.tx * t.ty, d4, inRows),
    pBuf: t.pInK ? 'Ks' : 'Ps',
    kAt,
    vAt: (key, col) => (t.shareKv ? kAt(key, col) : `Vs[(${key}) * D4 + ${col}]`),
    lane: (c) => `tx + ${t.tx * c}u`,
    columnGuard: (c) => ((c + 1) * t.tx <= d4 ? '' : `if (tx + ${t.tx * c}u < D4) `),
    rowQ: (r) => (pack > 1 ? `(${packed(r)} % params.seqQ)` : packed(r)),
    rowH: (r) => (pack > 1 ? `(hk * ${pack}u + ${packed(r)} / params.seqQ)` : 'h'),
    rowOk: (r) => `${packed(r)} < ${pack > 1 ? `${pack}u * params.seqQ` : 'params.seqQ'}`,
  };
}
