/*
 * Fused attention backward (FlashAttention-2 style), f32, deterministic.
 *
 *   preprocess  D_i = dO_i · O_i                          one invocation per row
 *   dkdv        per K/V tile, for every query head of its GQA group and every
 *               Q tile that can see it: recompute P = exp(s − LSE) and
 *               dS = P (dO·V − D) score'(z) for the block, then
 *               dV_j += Σ_i P_ij dO_i, dK_j += scale Σ_i dS_ij Q_i
 *   dq          per Q tile, over the K/V tiles it sees: the same block, then
 *               dQ_i += scale Σ_j dS_ij K_j
 *
 * dQ gets its own pass instead of atomics (WGSL has no float atomics, and a
 * compare-exchange loop would give different bits on every run), so every
 * gradient element is written by exactly one invocation in a fixed order: the
 * same bits on every run. Nothing N×N touches device memory.
 *
 * Each pass has its own generator: backward-dq.ts and backward-dkdv.ts, built from the
 * blocks in backward-shared.ts; tiles and their choice are in backward-tiles.ts, the
 * preprocess in backward-preprocess.ts. This file is the entry point: it re-exports them
 * and picks the pass. The workgroup owns an "outer" tile it stages once (dq: Q and dO
 * rows; dkdv: K and V rows) and walks "inner" tiles fetched through registers one tile
 * ahead (dq: K and V; dkdv: Q, dO and their LSE and D). Each invocation computes RM
 * outer × CN inner elements of both S and dP in one pass over the head dim, writes
 * P/dS to workgroup memory, then accumulates RM outer rows × OC vec4 columns of its
 * gradient(s) from registers, exactly like the forward kernel's P·V.
 *
 * Versions (speed logged in docs/PERF.md):
 *   v1  scalar phases (one (row, key) pair per invocation for the block, vec4
 *       column slices per invocation for the accumulation). H100: 7.1 TFLOP/s
 *       at N=4096 D=64, backward/forward 7.4×.
 *   v2  register tiles (RM×CN block of S and dP, RM×OC gradient block per
 *       invocation), inner tiles prefetched into registers, fma chains, exp2,
 *       interior tiles unmasked, block masks skip empty tiles. H100: 13.0 TFLOP/s
 *       at N=4096 D=64 (13.3 ms), backward/forward 4.1×; each pass at about the
 *       forward's per-GEMM speed. (Padding the workgroup rows, tried next: no change;
 *       again with 8-wide invocation rows, 2026-11-27: no gain, fewer invocations lose.)
 *   v3  dQ pass with its own tile: dS written into the V tile once S and dP are done
 *       (dQ += dS·K no longer needs V), K/V rows swizzled instead of padded; the freed
 *       room takes 64×32 tiles of 256 invocations at D=64 and 32×16 with 4×1 blocks at
 *       D=128. H100: dQ pass 5.88 → 4.52 ms (D=64), 16.0 → 12.3 ms (D=128).
 */
import type { KernelSpec } from './spec.js';
import type { BackwardConfig } from './backward-shared.js';
import type { BackwardPass } from './backward-tiles.js';
import { backwardDqKernel } from './backward-dq.js';
import { backwardDkDvKernel } from './backward-dkdv.js';

export * from './backward-tiles.js';
export { BACKWARD_PARAMS, type BackwardConfig, type TableGradCode } from './backward-shared.js';
export { backwardPreprocessKernel } from './backward-preprocess.js';
export { backwardDqKernel } from './backward-dq.js';
export { backwardDkDvKernel } from './backward-dkdv.js';

/** The dQ pass (one workgroup per Q tile, head, batch) or the dK/dV pass (per K/V tile, kv head, batch). */
export function backwardKernel(cfg: BackwardConfig, pass: BackwardPass): KernelSpec {
  return pass === 'dq' ? backwardDqKernel(cfg) : backwardDkDvKernel(cfg);
}
