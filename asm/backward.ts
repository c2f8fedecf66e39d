/*
 * The CPU backend's backward in WebAssembly SIMD (AssemblyScript; compiled with
 * asm/forward.ts into one module by scripts/build-wasm.mjs). The FlashAttention-2
 * backward of src/cpu/backward.ts, tiled: nothing N×N is stored. For one query head
 * against its KV head, each tile of BC = 64 keys meets every block of BR = 64 query
 * rows that sees one of its keys (causal blocks that see none are skipped), and per
 * 4-row micro-block of the block:
 *   S = Q·Kᵀ·scale·log2 e,  P = 2^(S − LSE·log2 e)       (P recomputed from LSE)
 *   dP = dO·Vᵀ,             dS = P ∘ (dP − D)·scale       (D_i = dO_i·O_i, from the host)
 *   dQ += dS·K
 * then, for the whole block, dV += Pᵀ·dO and dK += dSᵀ·Q into the tile's rows.
 * Masked (causal) entries of P and dS are exactly 0. The products are the forward's
 * 4 × 8 register blocks (asm/common.ts) plus one for Aᵀ·B (atbTile).
 *
 * Memory is laid out by the host (src/cpu/wasm-backward.ts); every pointer is a byte
 * address, rows are Dp floats (D rounded up to 8, zero padded); query arrays have
 * Nq rounded up to 4 rows (LSE +∞ and D 0 there, so padding rows get P = 0), key
 * arrays Nk rounded up to BC.
 */

import { BC, exp2v, QB_PITCH } from './common';
import { pvBody, qkTile } from './micro';

/** Query rows per micro-block. */
const R: i32 = 4;
/** Query rows per block (sharing the key tile's dK, dV rows while they are in cache). */
const BR: i32 = 64;

/**
 * acc[c][·] += Σ_r A[r][c] · B[r][·] for keys c < ncol (acc rows at pitch Dp floats) over
 * rows r < rows: A a P or dS block (pitch BC floats), B a block copy (pitch QB_PITCH bytes).
 * A 4 keys × 8 columns register block, f32x4 lanes over the columns: dV += Pᵀ·dO, dK += dSᵀ·Q.
 */
function atbTile(a: usize, b: usize, acc: usize, rows: i32, ncol: i32, Dp: i32): void {
  const rb: usize = Dp * 4;
  for (let c = 0; c < ncol; c += 4) {
    for (let dc = 0; dc < Dp; dc += 8) {
      const ap = acc + c * rb + dc * 4;
      let a00 = v128.load(ap), a01 = v128.load(ap, 16);
      let a10 = v128.load(ap + rb), a11 = v128.load(ap + rb, 16);
      let a20 = v128.load(ap + 2 * rb), a21 = v128.load(ap + 2 * rb, 16);
      let a30 = v128.load(ap + 3 * rb), a31 = v128.load(ap + 3 * rb, 16);
      let xp = a + c * 4;
      let bp = b + dc * 4;
      for (let r = 0; r < rows; r++) {
        const b0 = v128.load(bp);
        const b1 = v128.load(bp, 16);
        const x0 = v128.load32_splat(xp);
        const x1 = v128.load32_splat(xp, 4);
        const x2 = v128.load32_splat(xp, 8);
        const x3 = v128.load32_splat(xp, 12);
        a00 = f32x4.add(a00, f32x4.mul(x0, b0));
        a01 = f32x4.add(a01, f32x4.mul(x0, b1));
        a10 = f32x4.add(a10, f32x4.mul(x1, b0));
        a11 = f32x4.add(a11, f32x4.mul(x1, b1));
        a20 = f32x4.add(a20, f32x4.mul(x2, b0));
        a21 = f32x4.add(a21, f32x4.mul(x2, b1));
        a30 = f32x4.add(a30, f32x4.mul(x3, b0));
        a31 = f32x4.add(a31, f32x4.mul(x3, b1));
        xp += BC * 4;
        bp += QB_PITCH;
      }
      v128.store(ap, a00);
      v128.store(ap, a01, 16);
      v128.store(ap + rb, a10);
      v128.store(ap + rb, a11, 16);
      v128.store(ap + 2 * rb, a20);
      v128.store(ap + 2 * rb, a21, 16);
      v128.store(ap + 3 * rb, a30);
      v128.store(ap + 3 * rb, a31, 16);
    }
  }
}

/** dQ[4][Dp] += dS[4][ncol] · K[ncol][Dp] (K rows unpacked). */
function dqTile(ds: usize, k: usize, dq: usize, ncol: i32, Dp: i32): void {
  pvBody(ds, k, dq, ncol, Dp, false);
}

/**
 * One row of the micro-block: P = 2^(S − lse2) and dS = P·(dP − di)·scale for its first
 * `ncol` keys, both exactly 0 for keys at or past `visible` (masked, or past Nk), and 0 in
 * the columns [ncol, tcols) the block's products read but this row's micro-block skipped.
 */
function dsRow(s: usize, dp: usize, p: usize, ds: usize, lse2: f32, di: f32, scale: f32, visible: i32, ncol: i32, tcols: i32): void {
  const lv = f32x4.splat(lse2);
  const dv = f32x4.splat(di);
  const sc = f32x4.splat(scale);
  const vis = i32x4.splat(visible);
  let idx = i32x4(0, 1, 2, 3);
  for (let c = 0; c < ncol; c += 4) {
    const on = i32x4.lt_s(idx, vis);
    const pv = v128.and(exp2v(f32x4.sub(v128.load(s + c * 4), lv)), on);
    const g = f32x4.mul(f32x4.mul(pv, f32x4.sub(v128.load(dp + c * 4), dv)), sc);
    v128.store(p + c * 4, pv);
    v128.store(ds + c * 4, v128.and(g, on));
    idx = i32x4.add(idx, i32x4.splat(4));
  }
  const zero = f32x4.splat(0);
  for (let c = ncol; c < tcols; c += 4) {
    v128.store(p + c * 4, zero);
    v128.store(ds + c * 4, zero);
  }
}

/** Pointers and sizes of one backwardHead call, shared by its helpers. */
let gK: usize, gKp: usize, gVp: usize, gDk: usize, gDv: usize, gDq: usize, gLse2: usize, gDd: usize;
let gNk: i32, gDp: i32, gScale2: f32, gScale: f32, gOff: i32;

/**
 * Query rows [q0, q0 + rows4) (rows4 a multiple of 4; copies of Q and dO at qb, ob)
 * against keys from k0: per micro-block S, dP, then P and dS into the block buffers
 * pb, sb and dQ += dS·K; then dV += Pᵀ·dO and dK += dSᵀ·Q for the micro-blocks that
 * see a key of the tile. Key j is visible from row i when j ≤ i + gOff.
 */
function blockTile(qb: usize, ob: usize, pb: usize, sb: usize, s: usize, dpb: usize, q0: i32, rows4: i32, lastRow: i32, k0: i32): void {
  const Dp = gDp;
  const rb: usize = Dp * 4;
  // Keys of the tile that the block's last real row sees: the columns the block products cover.
  const blockEnd = min<i32>(gNk, lastRow + gOff + 1);
  if (blockEnd <= k0) return;
  const tcols = ((min<i32>(BC, blockEnd - k0) + 7) >> 3) << 3;
  let rStart = rows4;
  for (let r0 = 0; r0 < rows4; r0 += R) {
    const i0 = q0 + r0;
    // Keys this micro-block can see: [0, kvEnd); causal micro-blocks before the tile's first
    // visible row are a prefix of the block, left out of its products.
    const kvEnd = min<i32>(gNk, i0 + R + gOff);
    if (kvEnd <= k0) continue;
    if (rStart > r0) rStart = r0;
    const groups = (min<i32>(BC, kvEnd - k0) + 7) >> 3;
    const ncol = groups * 8;
    qkTile(qb + r0 * QB_PITCH, gKp + k0 * rb, s, groups, Dp, gScale2);
    qkTile(ob + r0 * QB_PITCH, gVp + k0 * rb, dpb, groups, Dp, 1.0);
    for (let r = 0; r < R; r++) {
      const i = i0 + r;
      const visible = min<i32>(gNk, i + gOff + 1) - k0;
      const at = (r0 + r) * BC * 4;
      dsRow(s + r * BC * 4, dpb + r * BC * 4, pb + at, sb + at, load<f32>(gLse2 + i * 4), load<f32>(gDd + i * 4), gScale, visible, ncol, tcols);
    }
    dqTile(sb + r0 * BC * 4, gK + k0 * rb, gDq + i0 * rb, ncol, Dp);
  }
  atbTile(pb + rStart * BC * 4, ob + rStart * QB_PITCH, gDv + k0 * rb, rows4 - rStart, tcols, Dp);
  atbTile(sb + rStart * BC * 4, qb + rStart * QB_PITCH, gDk + k0 * rb, rows4 - rStart, tcols, Dp);
}

/**
 * The backward of one query head: accumulates its dQ [Nq4][Dp] (zeroed by the host) and
 * its share of the KV head's dK, dV [NkPad][Dp]. q, dout [Nq4][Dp]; lse2 = LSE·log2 e and
 * dd = D [Nq4]; k [NkPad][Dp] and kp, vp (K and V packed by packK). scale2 = scale·log2 e;
 * causal keys j ≤ i + offset are visible from row i. Scratch: backwardScratchBytes().
 */
export function backwardHead(
  q: usize, dout: usize, lse2: usize, dd: usize, dq: usize, k: usize, kp: usize, vp: usize, dk: usize, dv: usize, scratch: usize,
  Nq: i32, Nk: i32, Dp: i32, scale2: f32, scale: f32, causal: bool, offset: i32,
): void {
  gK = k; gKp = kp; gVp = vp; gDk = dk; gDv = dv; gDq = dq; gLse2 = lse2; gDd = dd;
  gNk = Nk; gDp = Dp; gScale2 = scale2; gScale = scale;
  gOff = causal ? offset : i32.MAX_VALUE / 2;
  const qb = scratch;
  const ob = qb + BR * QB_PITCH;
  const pb = ob + BR * QB_PITCH;
  const sb = pb + BR * BC * 4;
  const s = sb + BR * BC * 4;
  const dpb = s + R * BC * 4;
  const rb: usize = Dp * 4;
  for (let k0 = 0; k0 < Nk; k0 += BC) {
    // The first row that sees key k0 (i + offset ≥ k0); blocks before it see none of the tile.
    const first = min<i32>(Nq, max<i32>(0, k0 - gOff));
    for (let q0 = (first / BR) * BR; q0 < Nq; q0 += BR) {
      const rows = min<i32>(BR, Nq - q0);
      const rows4 = (rows + 3) & ~3;
      // The block's rows at a fixed pitch (immediate offsets in the micro-kernels); the
      // host's arrays hold rows4 rows (zero past Nq).
      for (let r = 0; r < rows4; r++) {
        memory.copy(qb + r * QB_PITCH, q + (q0 + r) * rb, rb);
        memory.copy(ob + r * QB_PITCH, dout + (q0 + r) * rb, rb);
      }
      blockTile(qb, ob, pb, sb, s, dpb, q0, rows4, q0 + rows - 1, k0);
    }
  }
}

/** Bytes of scratch backwardHead needs (D ≤ 256). */
export function backwardScratchBytes(): i32 {
  return 2 * BR * QB_PITCH + 2 * BR * BC * 4 + 2 * R * BC * 4;
}
