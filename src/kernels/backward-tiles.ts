/*
 * Tiles of the backward kernels and how one is chosen for a head dim and a device.
 * Both passes share one shape vocabulary: TX×TY invocations, each owning RM rows of
 * the workgroup's outer tile (the rows it keeps: dQ pass Q/dO, dK/dV pass K/V) and CN
 * rows of the inner tile it walks (dQ pass K/V, dK/dV pass Q/dO). Candidates are
 * listed best first (docs/PERF.md); the first that fits the device wins.
 */

/**
 * Tile shape of the backward kernels: TX×TY invocations, each owning RM outer
 * rows and CN inner rows (strided by TX). Outer tile RM·TY rows, inner CN·TX.
 */
export interface BackwardTile {
  readonly tx: number;
  readonly ty: number;
  readonly rm: number;
  readonly cn: number;
  /**
   * dQ pass only: dS written into the V tile once S and dP are done (one barrier more,
   * no dS buffer), with K/V rows unpadded and XOR-swizzled; frees room for larger tiles.
   */
  readonly dsInY?: boolean;
}

/** Which of the two main backward kernels: dQ (per Q tile) or dK/dV (per K/V tile). */
export type BackwardPass = 'dq' | 'dkdv';

/** Device limits a tile must respect. */
export interface BackwardLimits {
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
}

/** Ordered from most reuse per staged byte to least; the first that fits wins. */
export const BACKWARD_TILES: readonly BackwardTile[] = [
  { tx: 16, ty: 8, rm: 4, cn: 2 }, // outer 32 × inner 32, 128 invocations
  { tx: 16, ty: 16, rm: 2, cn: 2 }, // 32 × 32, 256 invocations
  { tx: 16, ty: 8, rm: 2, cn: 2 }, // 16 × 32
  { tx: 16, ty: 8, rm: 2, cn: 1 }, // 16 × 16
  { tx: 8, ty: 8, rm: 2, cn: 2 }, // 16 × 16
  { tx: 16, ty: 4, rm: 1, cn: 1 }, // 4 × 16
  { tx: 8, ty: 4, rm: 1, cn: 1 }, // 4 × 8
];

/**
 * dQ-pass tiles with dS in the V tile (no dS buffer, swizzled K/V rows), best first (H100
 * sweep in docs/PERF.md): twice the rows of the dK/dV pass's tile, which needs K, V, Q,
 * dO, P and dS at once and has no such room.
 */
export const DQ_TILES: readonly BackwardTile[] = [
  { tx: 16, ty: 16, rm: 4, cn: 2, dsInY: true }, // 64 Q rows × 32 keys, 256 invocations (D ≥ 64)
  { tx: 16, ty: 8, rm: 4, cn: 4, dsInY: true }, // 32 × 64, 128 invocations
  { tx: 16, ty: 8, rm: 4, cn: 1, dsInY: true }, // 32 × 16 (D = 128)
];

/** The dQ pass's own tile where one with dS in the V tile fits; otherwise the dK/dV tile serves both. */
export function chooseDqTile(headDim: number, limits: BackwardLimits): BackwardTile | undefined {
  return DQ_TILES.find((t) => backwardTileFits(headDim, t, limits));
}

/** Outer and inner rows per workgroup tile. */
export function backwardTileRows(t: BackwardTile): { outer: number; inner: number } {
  return { outer: t.rm * t.ty, inner: t.cn * t.tx };
}

/** Workgroup bytes of the dK/dV kernel (the larger of the two passes), or of the dQ pass with dS in the V tile. */
export function backwardWorkgroupBytes(headDim: number, t: BackwardTile): number {
  const { outer, inner } = backwardTileRows(t);
  const d4 = headDim / 4;
  if (t.dsInY) return (2 * outer * d4 + 2 * inner * d4) * 16;
  return (2 * outer * d4 + 2 * inner * (d4 + 1)) * 16 + 2 * outer * inner * 4 + 2 * inner * 4;
}

/** Why a tile's dS-in-V option cannot apply at this head dim (rows must swizzle and dS fit the V tile), or undefined. */
export function dsInYProblem(headDim: number, t: BackwardTile): string | undefined {
  if (!t.dsInY) return undefined;
  const d4 = headDim / 4;
  if ((d4 & (d4 - 1)) !== 0) return `dS in the V tile swizzles its rows: D/4 must be a power of two, got ${d4}`;
  if (t.rm * t.ty > headDim) return `dS in the V tile needs outer rows ≤ D, got ${t.rm * t.ty} > ${headDim}`;
  return undefined;
}

/** Accumulator floats per invocation of the dK/dV kernel (two gradients). */
export function backwardAccFloats(headDim: number, t: BackwardTile): number {
  return 2 * t.rm * Math.ceil(headDim / 4 / t.tx) * 4;
}

/** Why a backward tile cannot run at head dim `headDim` on any device (its shape, not a device limit), or undefined. */
export function backwardTileProblem(headDim: number, t: BackwardTile): string | undefined {
  if (t.tx > headDim / 4) return `tx must be at most D/4 = ${headDim / 4}`;
  if ((t.cn * t.tx) % 4 !== 0) return `cn · tx must be a multiple of 4, got ${t.cn * t.tx}`;
  if (t.cn > t.ty) return `cn must be at most ty (each inner row's LSE and D is fetched by one invocation)`;
  const acc = backwardAccFloats(headDim, t);
  if (acc > 64) return `it holds ${acc} accumulator floats an invocation (2 · rm · ⌈D/4/tx⌉ · 4), more than 64`;
  return dsInYProblem(headDim, t);
}

/** Whether a tile can run at this head dim within the device's limits (and the register budget). */
export function backwardTileFits(headDim: number, t: BackwardTile, limits: BackwardLimits): boolean {
  return (
    backwardTileProblem(headDim, t) === undefined &&
    t.tx * t.ty <= limits.maxComputeInvocationsPerWorkgroup &&
    backwardWorkgroupBytes(headDim, t) <= limits.maxComputeWorkgroupStorageSize
  );
}

/** The dK/dV pass's tile (also the dQ pass's where no dQ tile fits): the first of BACKWARD_TILES that fits. */
export function chooseBackwardTile(headDim: number, limits: BackwardLimits): BackwardTile | undefined {
  return BACKWARD_TILES.find((t) => backwardTileFits(headDim, t, limits));
}
