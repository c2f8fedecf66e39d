/*
 * Default tile shapes for the forward kernel, chosen from an ordered list by
 * what the device allows (workgroup memory, invocations) and what keeps the
 * accumulator in registers. The first candidate that fits wins; the list is
 * ordered from most reuse per byte staged to least.
 */
import { forwardAccFloats, forwardWorkgroupBytes, tileOptionsProblem, tileRows, type ForwardTile } from './forward.js';

/** The device limits a tile choice depends on. */
export interface TileLimits {
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
}

/** Most accumulator floats per invocation before register spills become likely. */
export const MAX_ACC_FLOATS = 64;

export const FORWARD_TILES: readonly ForwardTile[] = [
  // 64 rows × 64 keys, 256 invocations: needs subgroup rows and P in K's swizzled buffer to fit 48 KiB (H100 D64: 24.2 TFLOP/s)
  { tx: 16, ty: 16, rm: 4, cn: 4, shareKv: false, pInK: true, swizzle: true },
  { tx: 16, ty: 16, rm: 4, cn: 2, shareKv: false }, // 64 × 32 (H100 D64: 21.1)
  { tx: 8, ty: 16, rm: 4, cn: 4, shareKv: false }, // 64 × 32, 128 invocations (18.7)
  { tx: 8, ty: 16, rm: 4, cn: 4, shareKv: true },
  { tx: 16, ty: 8, rm: 4, cn: 2, shareKv: false, pInK: true, swizzle: true }, // 32 × 32, V apart (H100 D128: 20.2)
  { tx: 16, ty: 8, rm: 4, cn: 2, shareKv: true }, // 32 × 32 (H100 D128: 19.7)
  { tx: 8, ty: 8, rm: 4, cn: 4, shareKv: false }, // 32 × 32, 64 invocations
  { tx: 8, ty: 8, rm: 4, cn: 4, shareKv: true },
  { tx: 16, ty: 8, rm: 2, cn: 2, shareKv: true }, // 16 × 32
  { tx: 16, ty: 8, rm: 2, cn: 1, shareKv: true }, // 16 × 16
  { tx: 16, ty: 8, rm: 1, cn: 1, shareKv: true }, // 8 × 16
  { tx: 16, ty: 4, rm: 1, cn: 1, shareKv: true }, // 4 × 16
  { tx: 8, ty: 4, rm: 1, cn: 1, shareKv: true }, // 4 × 8: D256 within WebGPU's default 16 KiB
];

/**
 * Whether a tile reduces its rows by subgroup shuffles on a device whose subgroups
 * hold at least `subgroupWidth` lanes in index order (0: no usable subgroups).
 */
export function tileUsesSubgroups(t: ForwardTile, subgroupWidth: number): boolean {
  return (t.tx & (t.tx - 1)) === 0 && t.tx <= subgroupWidth;
}

/** Why `t` cannot run at head dim `headDim` on any device (its shape, not a device limit), or undefined. */
export function forwardTileProblem(headDim: number, t: ForwardTile): string | undefined {
  // Every invocation must own an output column: at D = 32 a 16-wide tile idles half of them in P·V.
  if (t.tx > headDim / 4) return `tx must be at most D/4 = ${headDim / 4} (each invocation owns an output column)`;
  const acc = forwardAccFloats(headDim, t);
  if (acc > MAX_ACC_FLOATS) return `it holds ${acc} accumulator floats an invocation (rm · ⌈D/4/tx⌉ · 4), more than ${MAX_ACC_FLOATS}`;
  return tileOptionsProblem(headDim, t);
}

/** Whether `t` can run at head dim `headDim` within `limits` (with subgroups `subgroupWidth` wide; f16 workgroup tiles with `halfTiles`). */
export function tileFits(headDim: number, t: ForwardTile, limits: TileLimits, subgroupWidth = 0, halfTiles = false): boolean {
  return (
    forwardTileProblem(headDim, t) === undefined &&
    t.tx * t.ty <= limits.maxComputeInvocationsPerWorkgroup &&
    forwardWorkgroupBytes(headDim, t, tileUsesSubgroups(t, subgroupWidth), halfTiles) <= limits.maxComputeWorkgroupStorageSize
  );
}

/**
 * The default forward tile for a head dim on a device, or undefined if none fits. With
 * fewer query rows than its Q tile (`seqQ`: decoding, short prompts) the tile with the
 * fewest rows that still covers them: padded rows are pure waste (H100, one query row
 * against 8192 keys, D = 128: 4-row tiles 1.8× faster than 32-row ones). f16 workgroup
 * tiles (`halfTiles`) take half the bytes, so larger tiles fit.
 */
export function chooseForwardTile(headDim: number, limits: TileLimits, subgroupWidth = 0, seqQ = Infinity, halfTiles = false): ForwardTile | undefined {
  const fitting = FORWARD_TILES.filter((t) => tileFits(headDim, t, limits, subgroupWidth, halfTiles));
  const rows = (t: ForwardTile) => tileRows(t).br;
  if (!fitting.length || seqQ >= rows(fitting[0]!)) return fitting[0];
  const covering = fitting.filter((t) => rows(t) >= seqQ);
  const fewest = Math.min(...covering.map(rows));
  return covering.find((t) => rows(t) === fewest);
}
