/*
 * Attention tensor shapes and layouts. A tensor is logically [B, H, N, D];
 * its memory order is either 'bhnd' (heads outer, the PyTorch SDPA default) or
 * 'bnhd' (tokens outer, as most models store Q/K/V after the projection).
 * Kernels never branch on the layout: they receive the three outer strides.
 */

/** Memory order of a [B, H, N, D] tensor. */
export type Layout = 'bhnd' | 'bnhd';

/** Logical shape of an attention tensor: batch, heads, sequence length, head dim. */
export interface Shape4 {
  readonly batch: number;
  readonly heads: number;
  readonly seq: number;
  readonly headDim: number;
}

/** Element strides (in floats) of the batch, head and sequence axes; the head-dim stride is 1. */
export interface Strides {
  readonly batch: number;
  readonly head: number;
  readonly seq: number;
}

/** Head dimensions the kernels are built and tested for. */
export const SUPPORTED_HEAD_DIMS: readonly number[] = [32, 64, 80, 96, 128, 256];

export const LAYOUTS: readonly Layout[] = ['bhnd', 'bnhd'];

/** Number of elements of a shape. */
export function numel(s: Shape4): number {
  return s.batch * s.heads * s.seq * s.headDim;
}

/** Strides of a dense tensor of shape `s` stored in `layout`. */
export function stridesOf(s: Shape4, layout: Layout): Strides {
  const d = s.headDim;
  return layout === 'bhnd' ? { batch: s.heads * s.seq * d, head: s.seq * d, seq: d } : { batch: s.seq * s.heads * d, head: d, seq: s.heads * d };
}

/** Flat offset of element (b, h, n, 0). */
export function rowOffset(st: Strides, b: number, h: number, n: number): number {
  return b * st.batch + h * st.head + n * st.seq;
}

/** [B, H, N, D] array form of a shape. */
export function dimsOf(s: Shape4): [number, number, number, number] {
  return [s.batch, s.heads, s.seq, s.headDim];
}

export function shapeToString(s: Shape4): string {
  return `[${dimsOf(s).join(', ')}]`;
}
