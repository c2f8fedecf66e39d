/*
 * The CPU backend's fused forward in WebAssembly SIMD (AssemblyScript, built by
 * `npm run build` into src/cpu/wasm-binary.gen.ts). The same tiled online
 * softmax as src/cpu/forward.ts, for one (batch, query head) at a time:
 * blocks of R = 4 query rows walk tiles of BC = 64 keys, keeping per row the
 * running max m (log2 frame: scores are pre-multiplied by log2 e, so every
 * exponential is an exp2), the running denominator l and the unnormalised acc.
 *
 * Both products are register-blocked 4 rows × 8 columns micro-kernels with
 * f32x4 lanes over the columns, so no horizontal sums are needed:
 *   S[r, c]   = Σ_d Q[r, d] · Kp[c, d]   (K packed per 8 keys as [D][8])
 *   acc[r, d] += Σ_c P[r, c] · V[c, d]   (8 columns of D at a time)
 * Tiles past the last key a block can see (causal) are skipped, not masked.
 *
 * Memory is laid out by the host (src/cpu/wasm-forward.ts); every pointer is a
 * byte address, rows are Dp floats (D rounded up to 8, zero padded).
 */

import { BC, exp2v, QB_PITCH } from './common';
import { pvBody, qkTile } from './micro';
export { nonFinite, packK } from './common';

/** Query rows per micro-block. */
const R: i32 = 4;
/** Query rows per block (sharing each K/V tile while it is in cache). */
const BR: i32 = 64;

function pvTile(p: usize, v: usize, acc: usize, ncol: i32, Dp: i32): void {
  pvBody(p, v, acc, ncol, Dp, false);
}

function pvTileGuarded(p: usize, v: usize, acc: usize, ncol: i32, Dp: i32): void {
  pvBody(p, v, acc, ncol, Dp, true);
}

/** Largest lane of v (NaN lanes ignored unless every lane is NaN). */
@inline
function hmax(v: v128): f32 {
  const a = f32x4.pmax(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.pmax(a, v128.shuffle<f32>(a, a, 1, 0, 3, 2)), 0);
}

/**
 * The online-softmax step for one row of S (`ncol` scores, the first `visible` of them
 * unmasked): m' = max(m, rowmax S), P = 2^(S − m') in place, l = l·2^(m − m') + ΣP,
 * acc·= 2^(m − m'). m (f32) at mp, l (f64) at lp. The max skips NaN scores (pmax, one
 * instruction, not a chain of eight on the critical path); a NaN score still makes its P,
 * hence l and the row, NaN — and a row whose only visible scores are NaN gets l = NaN here.
 */
function softmaxRow(row: usize, accRow: usize, mp: usize, lp: usize, ncol: i32, visible: i32, Dp: i32): void {
  for (let c = max<i32>(0, visible); c < ncol; c++) store<f32>(row + c * 4, -Infinity);
  let mx0 = f32x4.splat(-Infinity);
  let mx1 = mx0;
  for (let c = 0; c < ncol; c += 8) {
    mx0 = f32x4.pmax(mx0, v128.load(row + c * 4));
    mx1 = f32x4.pmax(mx1, v128.load(row + c * 4, 16));
  }
  const mOld = load<f32>(mp);
  const tileMax = hmax(f32x4.pmax(mx0, mx1));
  const mNew = tileMax > mOld ? tileMax : mOld;
  if (mNew == -Infinity) {
    // Every key so far masked for this row (P = 0 for the P·V step), unless a score is NaN.
    let nan = false;
    for (let c = 0; c < ncol; c++) nan = nan || isNaN(load<f32>(row + c * 4));
    if (nan) store<f64>(lp, NaN);
    for (let c = 0; c < ncol; c += 4) v128.store(row + c * 4, f32x4.splat(0));
    return;
  }
  const mv = f32x4.splat(mNew);
  let sum = f32x4.splat(0);
  for (let c = 0; c < ncol; c += 4) {
    const p = exp2v(f32x4.sub(v128.load(row + c * 4), mv));
    v128.store(row + c * 4, p);
    sum = f32x4.add(sum, p);
  }
  const alpha = f32x4.extract_lane(exp2v(f32x4.splat(mOld - mNew)), 0);
  const tileSum = <f64>f32x4.extract_lane(sum, 0) + <f64>f32x4.extract_lane(sum, 1) + (<f64>f32x4.extract_lane(sum, 2) + <f64>f32x4.extract_lane(sum, 3));
  store<f64>(lp, load<f64>(lp) * <f64>alpha + tileSum);
  store<f32>(mp, mNew);
  if (alpha != 1) {
    const av = f32x4.splat(alpha);
    for (let d = 0; d < Dp; d += 4) v128.store(accRow + d * 4, f32x4.mul(v128.load(accRow + d * 4), av));
  }
}

/**
 * Writes O = acc / l and LSE (natural log) for `rows` rows, in float64; a learned sink
 * (log2 frame, −∞ for none) joins the denominator; a NaN m or l makes the row NaN; a row
 * that saw no key (and no sink) gets O = 0, LSE = −∞.
 */
function finishRows(acc: usize, m: usize, l: usize, o: usize, lse: usize, rows: i32, Dp: i32, sink2: f64): void {
  for (let r = 0; r < rows; r++) {
    const m2 = <f64>load<f32>(m + r * 4);
    const lr = load<f64>(l + r * 8);
    const mFinal = max<f64>(m2, sink2);
    const scaleOld = lr > 0 ? Math.exp2(m2 - mFinal) : 0;
    const lFinal = lr * scaleOld + (sink2 == -Infinity ? 0 : Math.exp2(sink2 - mFinal));
    const nan = isNaN(m2) || isNaN(lr);
    const iv = f32x4.splat(<f32>(nan ? NaN : lFinal > 0 ? scaleOld / lFinal : 0));
    const ar = acc + r * Dp * 4;
    const orow = o + r * Dp * 4;
    for (let d = 0; d < Dp; d += 4) v128.store(orow + d * 4, f32x4.mul(v128.load(ar + d * 4), iv));
    store<f32>(lse + r * 4, <f32>(nan ? NaN : lFinal > 0 ? (mFinal + Math.log2(lFinal)) * Math.LN2 : -Infinity));
  }
}

/**
 * One key tile against the query block's micro-blocks: for each 4-row micro-block that
 * sees a key of the tile, S = Q·Kᵀ, the softmax step per row, acc += P·V. Causal keys
 * j ≤ i + offset are visible from row i (offset = i32.MAX_VALUE/2 when not causal).
 */
function keyTile(qb: usize, kp: usize, v: usize, s: usize, acc: usize, m: usize, l: usize, q0: i32, rows: i32, k0: i32, Nk: i32, Dp: i32, scale2: f32, offset: i32, guard: bool): void {
  for (let r0 = 0; r0 < rows; r0 += R) {
    // Keys this micro-block can see: [0, kvEnd).
    const kvEnd = min<i32>(Nk, q0 + min<i32>(r0 + R, rows) + offset);
    if (k0 >= kvEnd) continue;
    const groups = (min<i32>(BC, kvEnd - k0) + 7) >> 3;
    const ncol = groups * 8;
    qkTile(qb + r0 * QB_PITCH, kp + k0 * Dp * 4, s, groups, Dp, scale2);
    let masked = false;
    for (let r = 0; r < R; r++) {
      const visible = min<i32>(kvEnd, q0 + r0 + r + offset + 1) - k0;
      masked = masked || visible < ncol;
      const i = r0 + r;
      softmaxRow(s + r * BC * 4, acc + i * Dp * 4, m + i * 4, l + i * 8, ncol, visible, Dp);
    }
    if (guard && masked) pvTileGuarded(s, v + k0 * Dp * 4, acc + r0 * Dp * 4, ncol, Dp);
    else pvTile(s, v + k0 * Dp * 4, acc + r0 * Dp * 4, ncol, Dp);
  }
}

/**
 * Attention for query rows [rowStart, rowEnd) of one head: q and o are [Nq][Dp], lse [Nq],
 * kp the packed K of the head's KV head, v [NkPad][Dp] (zero padded). The rows go in blocks
 * of BR, each walking the key tiles once, so a K/V tile is reused by BR rows while it is in
 * cache. Scratch at `scratch`: scratchBytes(Dp). scale2 = scale·log2 e; causal keys j ≤ i +
 * offset are visible from row i; sink2 the sink logit·log2 e or −∞; guard when V holds a
 * non-finite value (masked keys must then add exactly 0).
 */
export function forwardRows(
  q: usize, o: usize, lse: usize, kp: usize, v: usize, scratch: usize,
  Nq: i32, Nk: i32, Dp: i32, scale2: f32, causal: bool, offset: i32, sink2: f64, guard: bool, rowStart: i32, rowEnd: i32,
): void {
  const qb = scratch;
  const acc = qb + BR * QB_PITCH;
  const s = acc + BR * Dp * 4;
  const m = s + R * BC * 4;
  const l = m + BR * 4;
  const off = causal ? offset : i32.MAX_VALUE / 2;
  for (let q0 = rowStart; q0 < rowEnd; q0 += BR) {
    const rows = min<i32>(BR, rowEnd - q0);
    // The block's rows at a fixed pitch (immediate offsets in qkTile), missing rows zero.
    memory.fill(qb, 0, BR * QB_PITCH);
    for (let r = 0; r < rows; r++) memory.copy(qb + r * QB_PITCH, q + (q0 + r) * Dp * 4, Dp * 4);
    memory.fill(acc, 0, BR * Dp * 4);
    memory.fill(l, 0, BR * 8);
    for (let r = 0; r < BR; r++) store<f32>(m + r * 4, -Infinity);
    const kvEnd = max<i32>(0, min<i32>(Nk, q0 + rows + off));
    for (let k0 = 0; k0 < kvEnd; k0 += BC) keyTile(qb, kp, v, s, acc, m, l, q0, rows, k0, Nk, Dp, scale2, off, guard);
    finishRows(acc, m, l, o + q0 * Dp * 4, lse + q0 * 4, rows, Dp, sink2);
  }
}

/** Bytes of scratch forwardRows needs for rows of Dp floats. */
export function scratchBytes(Dp: i32): i32 {
  return BR * QB_PITCH + BR * Dp * 4 + R * BC * 4 + BR * 4 + BR * 8;
}
