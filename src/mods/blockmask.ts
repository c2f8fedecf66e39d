/*
 * BlockMask: which (Q tile, K/V tile) pairs of a mask are empty, partial or
 * full, at the tile size of the kernel that uses it. Computed on the GPU by
 * the runtime (kernels/blockmask.ts) or here on the CPU; toString() draws it.
 */
import { maskFn } from './emit-js.js';
import { uses } from './ir.js';
import { expectModifiers, type Modifier } from './modifier.js';
import { needsPositionTable, resolvePositions, type OffsetOption, type Positions } from './positions.js';

export const TILE_SYMBOL = ['·', '░', '█'] as const; // empty, partial, full

export interface BlockMaskShape {
  readonly batch: number;
  readonly heads: number;
  readonly seqQ: number;
  readonly seqK: number;
  /**
   * Where the query rows sit, as forward()'s `queryOffset` (one for all, or one per batch entry).
   * Default seqK − seqQ: the rows are the last seqQ positions, as in forward().
   */
  readonly queryOffset?: OffsetOption;
  /** Where the keys sit, as forward()'s `keyOffset`. Default 0. */
  readonly keyOffset?: OffsetOption;
}

export class BlockMask {
  constructor(
    readonly mask: Modifier,
    readonly shape: BlockMaskShape,
    readonly rowsPerTile: number,
    readonly keysPerTile: number,
    /** Shape (Bm, Hm, nQ, nK); each state is 0 empty, 1 partial, 2 full. */
    readonly states: Uint32Array,
  ) {}

  get nQ(): number {
    return Math.ceil(this.shape.seqQ / this.rowsPerTile);
  }
  get nK(): number {
    return Math.ceil(this.shape.seqK / this.keysPerTile);
  }

  /** Counts of empty, partial and full tiles. */
  counts(): { empty: number; partial: number; full: number } {
    const c = [0, 0, 0];
    for (const s of this.states) c[s]!++;
    return { empty: c[0]!, partial: c[1]!, full: c[2]! };
  }

  /** ASCII map of batch b, head h: rows are Q tiles, columns K/V tiles; █ full, ░ partial, · empty. */
  toString(b = 0, h = 0): string {
    const { bm, hm } = stateDims(this.mask, this.shape);
    const base = (Math.min(b, bm - 1) * hm + Math.min(h, hm - 1)) * this.nQ * this.nK;
    const rows: string[] = [`BlockMask ${this.mask.label}: ${this.nQ}×${this.nK} tiles of ${this.rowsPerTile}×${this.keysPerTile}`];
    for (let i = 0; i < this.nQ; i++) {
      let row = '';
      for (let j = 0; j < this.nK; j++) row += TILE_SYMBOL[this.states[base + i * this.nK + j]! as 0 | 1 | 2];
      rows.push(row);
    }
    return rows.join('\n');
  }
}

/** Batch and head extents of a block mask: 1 where the mask does not read b or h. */
export function blockMaskDims(mask: Modifier, shape: BlockMaskShape): { bm: number; hm: number } {
  const { args } = uses(mask.ir);
  return { bm: args.has('b') ? shape.batch : 1, hm: args.has('h') ? shape.heads : 1 };
}

/** The positions a block mask's rows and keys sit at: forward()'s for the shape's offsets. */
export function blockMaskPositions(shape: BlockMaskShape): Positions {
  return resolvePositions(shape.batch, shape.seqQ, shape.seqK, shape.queryOffset, shape.keyOffset);
}

/**
 * Batch and head extents of a BlockMask's states: every batch entry where the mask reads b or
 * sees positions other than the call's indices (as forward() keeps its position table).
 */
function stateDims(mask: Modifier, shape: BlockMaskShape): { bm: number; hm: number } {
  const { bm, hm } = blockMaskDims(mask, shape);
  return { bm: needsPositionTable(blockMaskPositions(shape), true) ? shape.batch : bm, hm };
}

/** Classifies every tile on the CPU (small shapes, tests). */
export function blockMaskOnCpu(mask: Modifier, shape: BlockMaskShape, rowsPerTile: number, keysPerTile: number): BlockMask {
  expectModifiers([mask], 'mask', 'blockMaskOnCpu');
  const keep = maskFn(mask);
  const pos = blockMaskPositions(shape);
  const { bm, hm } = stateDims(mask, shape);
  const nQ = Math.ceil(shape.seqQ / rowsPerTile);
  const nK = Math.ceil(shape.seqK / keysPerTile);
  const states = new Uint32Array(bm * hm * nQ * nK);
  for (let b = 0; b < bm; b++)
    for (let h = 0; h < hm; h++)
      for (let i = 0; i < nQ; i++)
        for (let j = 0; j < nK; j++) {
          let kept = false;
          let masked = false;
          for (let q = i * rowsPerTile; q < Math.min(shape.seqQ, (i + 1) * rowsPerTile); q++) {
            for (let kv = j * keysPerTile; kv < Math.min(shape.seqK, (j + 1) * keysPerTile); kv++) {
              if (keep(b, h, pos.query[b]! + q, pos.key[b]! + kv)) kept = true;
              else masked = true;
            }
          }
          states[((b * hm + h) * nQ + i) * nK + j] = kept ? (masked ? 1 : 2) : 0;
        }
  return new BlockMask(mask, Object.freeze({ ...shape }), rowsPerTile, keysPerTile, states);
}
