/*
 * The one validated call every backend and kernel program reads. `api/` checks
 * the public options once and builds it; nothing below re-validates or re-shapes
 * it. `Caps` is what a kernel program needs to know of the adapter: limits, the
 * usable subgroup width and tiles a timed search found. Both are plain data.
 */
import type { DecodeTile } from './decode-config.js';
import type { MatrixCaps, MatrixTile } from './matrix-program.js';
import type { Modifier } from '../mods/modifier.js';
import type { DType } from '../tensor/half.js';
import { resolvePositions, type Positions } from '../mods/positions.js';
import type { Layout, Strides } from '../tensor/shape.js';
import type { Problem } from '../tensor/validate.js';
import type { BackwardTile } from './backward.js';
import type { ForwardTile } from './forward.js';
import type { PagedKv } from './paged.js';

/**
 * 'flash': the fused kernel (default). 'naive': the four-kernel baseline that writes N×N
 * to memory. 'basic': the teaching kernel, fused in its plainest form (no variants).
 */
export type Algorithm = 'flash' | 'naive' | 'basic';

export const ALGORITHMS: readonly Algorithm[] = ['flash', 'naive', 'basic'];

/** How one operand (Q, K, V, O, dO, …) lies in memory: its layout and the strides that follow, in elements. */
export interface Operand {
  readonly layout: Layout;
  readonly strides: Strides;
}

/** One attention forward call, validated: sizes, operand layouts, scale, masking, variant and overrides. */
export interface AttentionCall {
  readonly problem: Problem;
  readonly q: Operand;
  readonly k: Operand;
  readonly v: Operand;
  /**
   * Element type of Q, K, V and O (and of dO, dQ, dK, dV in backward): 'f16' is stored
   * as packed pairs and computed in f32. LSE and every statistic stay f32.
   */
  readonly dtype: DType;
  /** Softmax scale (default 1/√D already applied). */
  readonly scale: number;
  /** Causal mask: a key is visible when its position is ≤ the query's. */
  readonly causal: boolean;
  /**
   * Where each batch entry's query rows and keys sit (mods/positions.ts); causal and the
   * modifiers see positions. Undefined: the default (keys at 0 … Nk−1, queries at their end).
   */
  readonly positions?: Positions;
  readonly algorithm: Algorithm;
  /** Score modifier applied to the scaled score. */
  readonly score?: Modifier;
  /** Mask modifier, combined with `causal`. */
  readonly mask?: Modifier;
  /** Learned sink logits, one per query head. */
  readonly sinks?: Float32Array;
  /** Forced forward tile (tuning, tests). */
  readonly tile?: ForwardTile;
  /** Forced number of key ranges (split-K); 1 never splits. */
  readonly keySplits?: number;
  /** Run on the decode kernel (kernels/decode.ts; opt-in, experimental), with a forced tile if one is given. */
  readonly decodeKernel?: boolean | 'subgroups' | DecodeTile;
  /** Run f16 calls on the tensor-core kernel (kernels/matrix.ts): false never, true or a tile always; unset where it can. */
  readonly tensorCores?: boolean | MatrixTile;
  /**
   * Paged K/V (kernels/paged.ts): k and v are page pools, the problem's seqK is the longest
   * sequence, and each batch entry's keys are read through its page table up to its length.
   */
  readonly pages?: PagedKv;
}

/** The call's positions, the default filled in. */
export function callPositions(c: Pick<AttentionCall, 'problem' | 'positions'>): Positions {
  const p = c.problem;
  return c.positions ?? resolvePositions(p.batch, p.seqQ, p.seqK);
}

/** A backward call: the forward's call (O and dO share q's layout), plus what to differentiate. */
export interface BackwardCall extends AttentionCall {
  /** Also the gradients of the tables the score modifier reads. */
  readonly tableGrads: boolean;
  /** Forced tile of both passes (or of the dK/dV pass, with dqTile). */
  readonly backwardTile?: BackwardTile;
  /** Forced tile of the dQ pass. */
  readonly dqTile?: BackwardTile;
}

/** Tiles a timed search found, by shape class (kernels/tile-policy.ts shapeClass). */
export type TunedTiles = Map<string, ForwardTile | BackwardTile>;

/** The adapter as a kernel program sees it. */
export interface Caps {
  readonly limits: {
    readonly maxComputeWorkgroupStorageSize: number;
    readonly maxComputeInvocationsPerWorkgroup: number;
    readonly maxComputeWorkgroupsPerDimension: number;
    readonly minStorageBufferOffsetAlignment: number;
    readonly maxBufferSize: number;
  };
  /** Largest range one storage binding may cover, in bytes (the device's, or less for tests). */
  readonly maxBindingBytes: number;
  /** Lanes of the smallest subgroup the forward kernel may rely on (0: none usable). */
  readonly subgroupWidth: number;
  /** Lanes of every subgroup, where the adapter's smallest and largest are the same (absent or 0: they differ, or none usable). */
  readonly subgroupExact?: number;
  /** Tiles found by `bench --tune`; they win over the defaults where they fit. */
  readonly tuned: TunedTiles;
  /** f16 calls stage their tiles as f16 in workgroup memory (the device has 'shader-f16' and the tier is on). */
  readonly halfTiles?: boolean;
  /** f16 → f32 subgroup matrices the tensor-core kernel can use (absent: none, or turned off). */
  readonly matrix?: MatrixCaps;
}
