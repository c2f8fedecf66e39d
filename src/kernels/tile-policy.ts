/*
 * One tile policy for every fused kernel: a tile a timed search found for the
 * call's shape class wins where it fits this adapter, else the family's default
 * for the adapter's limits. A forced tile (tests, tuning) must fit or the call
 * fails with AttentionLimitError naming the limit.
 */
import { AttentionInputError, AttentionLimitError } from '../tensor/errors.js';
import { backwardTileFits, backwardTileProblem, chooseBackwardTile, chooseDqTile, type BackwardTile } from './backward.js';
import type { BackwardCall, Caps } from './call.js';
import type { ForwardTile } from './forward.js';
import { chooseForwardTile, forwardTileProblem, tileFits } from './tiles.js';

/** What a tuned tile is for: the forward kernel, the backward's dK/dV pass ('backward'), or its dQ pass. */
export type Pass = 'forward' | 'backward' | 'dq';

/** Shapes that share a tuned tile: pass, head dim, causal, and N rounded up to 1K, 4K or 16K+. */
export function shapeClass(pass: Pass, headDim: number, causal: boolean, seq: number): string {
  const n = seq < 64 ? 'n<64' : seq <= 1024 ? 'n≤1k' : seq <= 4096 ? 'n≤4k' : 'n≤16k';
  return `${pass} d${headDim}${causal ? ' causal' : ''} ${n}`;
}

/**
 * The forward tile for a head dim and `seq` query rows: a tuned one for the shape
 * class, else the default for `rows` rows per head (more than `seq` where GQA
 * packing stacks a group's heads); `halfTiles`: the kernel keeps f16 workgroup tiles.
 */
export function forwardTile(caps: Caps, headDim: number, causal: boolean, seq: number, rows = seq, halfTiles = false): ForwardTile {
  const tuned = caps.tuned.get(shapeClass('forward', headDim, causal, seq)) as ForwardTile | undefined;
  if (tuned && tileFits(headDim, tuned, caps.limits, caps.subgroupWidth, halfTiles)) return tuned;
  const tile = chooseForwardTile(headDim, caps.limits, caps.subgroupWidth, rows, halfTiles);
  if (!tile) {
    throw new AttentionLimitError(`no forward tile fits head dim ${headDim} in ${caps.limits.maxComputeWorkgroupStorageSize} bytes of workgroup memory`);
  }
  return tile;
}

/**
 * A call's forward tile (`forced`, checked, else the policy's) and whether its kernel keeps
 * f16 workgroup tiles. With `caps.halfTiles` the tile is chosen among those that fit in f16
 * tiles, and f16 tiles are used only where the tile does not fit in f32 ones: where halving
 * the bytes buys a larger tile. (Where the f16 pick fits in f32, it is the f32 pick too: the
 * list is the same, and every tile that fits in f32 fits in f16.) On the H200 the larger tile
 * won (D = 128: 64×64 instead of 32×32, +21%), while the same tile with f16 workgroup tiles
 * measured −4% to +3% (D = 64; docs/PERF.md, "f16-shader").
 */
export function halfTileChoice(
  caps: Caps,
  headDim: number,
  causal: boolean,
  seq: number,
  rows = seq,
  forced?: ForwardTile,
): { tile: ForwardTile; halfTiles: boolean } {
  const f16 = Boolean(caps.halfTiles);
  const tile = forced ? checkForcedTile(caps, headDim, forced, f16) : forwardTile(caps, headDim, causal, seq, rows, f16);
  return { tile, halfTiles: f16 && !tileFits(headDim, tile, caps.limits, caps.subgroupWidth) };
}

/** A forced forward tile, checked against the adapter. */
export function checkForcedTile(caps: Caps, headDim: number, tile: ForwardTile, halfTiles = false): ForwardTile {
  const why = forwardTileProblem(headDim, tile);
  if (why) throw new AttentionInputError(`tile ${JSON.stringify(tile)} cannot run at head dim ${headDim}: ${why}`);
  if (!tileFits(headDim, tile, caps.limits, caps.subgroupWidth, halfTiles)) {
    throw new AttentionLimitError(
      `tile ${JSON.stringify(tile)} does not fit head dim ${headDim} on this device ` +
        `(${caps.limits.maxComputeWorkgroupStorageSize} bytes of workgroup memory, ` +
        `${caps.limits.maxComputeInvocationsPerWorkgroup} invocations)`,
    );
  }
  return tile;
}

/** The dK/dV pass's tile (tuned for the shape class when a search found one), or undefined if none fits. */
export function backwardTile(caps: Caps, headDim: number, causal = false, seq = 0): BackwardTile | undefined {
  const tuned = caps.tuned.get(shapeClass('backward', headDim, causal, seq)) as BackwardTile | undefined;
  if (tuned && backwardTileFits(headDim, tuned, caps.limits)) return tuned;
  return chooseBackwardTile(headDim, caps.limits);
}

/** The dQ pass's tile: a tuned one for the shape class, else its own default with dS in the V tile where one fits, else the dK/dV pass's. */
export function dqTile(caps: Caps, headDim: number, dkdvTile: BackwardTile, causal = false, seq = 0): BackwardTile {
  const tuned = caps.tuned.get(shapeClass('dq', headDim, causal, seq)) as BackwardTile | undefined;
  if (tuned && backwardTileFits(headDim, tuned, caps.limits)) return tuned;
  return chooseDqTile(headDim, caps.limits) ?? dkdvTile;
}

/** Both backward passes' tiles for a call: forced ones checked, else the policy's. */
export function backwardTiles(caps: Caps, c: BackwardCall): { dkdv: BackwardTile; dq: BackwardTile } {
  const p = c.problem;
  const dkdv = c.backwardTile ?? backwardTile(caps, p.headDim, c.causal, p.seqQ);
  if (!dkdv) {
    throw new AttentionLimitError(
      `no backward tile fits head dim ${p.headDim} in this device's ${caps.limits.maxComputeWorkgroupStorageSize} bytes of workgroup memory ` +
        "(maxComputeWorkgroupStorageSize): request the adapter's limit when making the device (requiredLimits(adapter))",
    );
  }
  for (const [name, t] of [
    ['backward tile', c.backwardTile],
    ['dQ tile', c.dqTile],
  ] as const) {
    const why = t && backwardTileProblem(p.headDim, t);
    if (why) throw new AttentionInputError(`${name} ${JSON.stringify(t)} cannot run at head dim ${p.headDim}: ${why}`);
    if (t && !backwardTileFits(p.headDim, t, caps.limits)) {
      throw new AttentionLimitError(`${name} ${JSON.stringify(t)} does not fit head dim ${p.headDim} on this device`);
    }
  }
  if (dkdv.dsInY) throw new AttentionInputError(`backward tile ${JSON.stringify(dkdv)}: dsInY is for the dQ pass only (pass it as dqTile)`);
  // The dQ pass has its own default where dS fits in its V tile (room for a larger tile); a forced tile serves both.
  const dq = c.dqTile ?? (c.backwardTile ? dkdv : dqTile(caps, p.headDim, dkdv, c.causal, p.seqQ));
  return { dkdv, dq };
}
