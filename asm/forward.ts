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

/** Query rows per block and keys per tile. */
const R: i32 = 4;
const BC: i32 = 64;
/** Query rows per block (sharing each K/V tile while it is in cache). */
const BR: i32 = 64;
/** Byte pitch of a query row in the block copy: D ≤ 256, fixed so row offsets are immediates. */
const QB_PITCH: i32 = 1024;
/**
 * Below this (log2 frame) an exponential is flushed to exactly 0, so −∞ gives 0 and no
 * P·V product reaches the slow subnormal range; 2^-64 of the row max is far below f32's
 * resolution of the sum (which holds a 1 for the max itself).
 */
const EXP2_FLOOR: f32 = -64.0;

/**
 * 2^x per lane: 2^round(x) built in the exponent bits times a degree-6 series for 2^f,
 * |f| ≤ ½ (relative error ≈ 1e-7). round(x) comes from adding 1.5·2^23, whose low
 * mantissa bits then hold it, so no float→int conversion is needed. Lanes below
 * EXP2_FLOOR (and −∞) give 0; NaN stays NaN (all bits set).
 */
@inline
function exp2v(x: v128): v128 {
  const tiny = f32x4.lt(x, f32x4.splat(EXP2_FLOOR));
  const nan = f32x4.ne(x, x);
  // pmax (one instruction; wasm's NaN-propagating max is eight): a NaN lane is restored below.
  const xc = f32x4.pmax(x, f32x4.splat(EXP2_FLOOR));
  const t = f32x4.add(xc, f32x4.splat(12582912.0));
  const f = f32x4.sub(xc, f32x4.sub(t, f32x4.splat(12582912.0)));
  // Taylor series of e^(f ln 2): coefficients (ln 2)^k / k!
  let p = f32x4.splat(1.540353e-4);
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1.3333558e-3));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(9.6181291e-3));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(5.5504109e-2));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(0.24022651));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(0.69314718));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(1.0));
  // t's low bits hold round(x); shifted by 23 they add it to p's exponent (the rest shifts out).
  const r = i32x4.add(p, i32x4.shl(t, 23));
  return v128.or(v128.andnot(r, tiny), nan);
}

/** Packs K rows [Nk][Dp] into groups of 8 keys, [NkPad/8][Dp][8], zero beyond Nk. */
export function packK(k: usize, kp: usize, Nk: i32, NkPad: i32, Dp: i32): void {
  for (let c = 0; c < NkPad; c++) {
    const dst = kp + ((((c >> 3) * Dp) << 3) + (c & 7)) * 4;
    if (c >= Nk) {
      for (let d = 0; d < Dp; d++) store<f32>(dst + d * 32, 0);
      continue;
    }
    const src = k + c * Dp * 4;
    for (let d = 0; d < Dp; d++) store<f32>(dst + d * 32, load<f32>(src + d * 4));
  }
}

/** S[4][BC] (first `groups`·8 columns) = (Q block · Kp tile) · scale2. */
function qkTile(qb: usize, kp: usize, s: usize, groups: i32, Dp: i32, scale2: f32): void {
  const sc = f32x4.splat(scale2);
  for (let g = 0; g < groups; g++) {
    let kg = kp + g * Dp * 32;
    let qp = qb;
    let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
    let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
    for (let d = 0; d < Dp; d++) {
      const k0 = v128.load(kg);
      const k1 = v128.load(kg, 16);
      const q0 = v128.load32_splat(qp);
      const q1 = v128.load32_splat(qp, QB_PITCH);
      const q2 = v128.load32_splat(qp, 2 * QB_PITCH);
      const q3 = v128.load32_splat(qp, 3 * QB_PITCH);
      a00 = f32x4.add(a00, f32x4.mul(q0, k0));
      a01 = f32x4.add(a01, f32x4.mul(q0, k1));
      a10 = f32x4.add(a10, f32x4.mul(q1, k0));
      a11 = f32x4.add(a11, f32x4.mul(q1, k1));
      a20 = f32x4.add(a20, f32x4.mul(q2, k0));
      a21 = f32x4.add(a21, f32x4.mul(q2, k1));
      a30 = f32x4.add(a30, f32x4.mul(q3, k0));
      a31 = f32x4.add(a31, f32x4.mul(q3, k1));
      kg += 32;
      qp += 4;
    }
    const o = s + g * 32;
    v128.store(o, f32x4.mul(a00, sc));
    v128.store(o, f32x4.mul(a01, sc), 16);
    v128.store(o, f32x4.mul(a10, sc), BC * 4);
    v128.store(o, f32x4.mul(a11, sc), BC * 4 + 16);
    v128.store(o, f32x4.mul(a20, sc), BC * 8);
    v128.store(o, f32x4.mul(a21, sc), BC * 8 + 16);
    v128.store(o, f32x4.mul(a30, sc), BC * 12);
    v128.store(o, f32x4.mul(a31, sc), BC * 12 + 16);
  }
}

/**
 * acc[4][Dp] += P[4][ncol] · V[ncol][Dp]. With `guard`, a product whose P is 0 (a masked
 * key) adds exactly 0 even when V holds inf or NaN, as the reference skips masked keys.
 */
@inline
function pvBody(p: usize, v: usize, acc: usize, ncol: i32, Dp: i32, guard: bool): void {
  const rb: usize = Dp * 4;
  const zero = f32x4.splat(0);
  for (let dc = 0; dc < Dp; dc += 8) {
    const ap = acc + dc * 4;
    let a00 = v128.load(ap), a01 = v128.load(ap, 16);
    let a10 = v128.load(ap + rb), a11 = v128.load(ap + rb, 16);
    let a20 = v128.load(ap + 2 * rb), a21 = v128.load(ap + 2 * rb, 16);
    let a30 = v128.load(ap + 3 * rb), a31 = v128.load(ap + 3 * rb, 16);
    let vp = v + dc * 4;
    let pp = p;
    for (let c = 0; c < ncol; c++) {
      const v0 = v128.load(vp);
      const v1 = v128.load(vp, 16);
      const p0 = v128.load32_splat(pp);
      const p1 = v128.load32_splat(pp, BC * 4);
      const p2 = v128.load32_splat(pp, BC * 8);
      const p3 = v128.load32_splat(pp, BC * 12);
      if (guard) {
        const m0 = f32x4.ne(p0, zero), m1 = f32x4.ne(p1, zero), m2 = f32x4.ne(p2, zero), m3 = f32x4.ne(p3, zero);
        a00 = f32x4.add(a00, v128.and(f32x4.mul(p0, v0), m0));
        a01 = f32x4.add(a01, v128.and(f32x4.mul(p0, v1), m0));
        a10 = f32x4.add(a10, v128.and(f32x4.mul(p1, v0), m1));
        a11 = f32x4.add(a11, v128.and(f32x4.mul(p1, v1), m1));
        a20 = f32x4.add(a20, v128.and(f32x4.mul(p2, v0), m2));
        a21 = f32x4.add(a21, v128.and(f32x4.mul(p2, v1), m2));
        a30 = f32x4.add(a30, v128.and(f32x4.mul(p3, v0), m3));
        a31 = f32x4.add(a31, v128.and(f32x4.mul(p3, v1), m3));
      } else {
        a00 = f32x4.add(a00, f32x4.mul(p0, v0));
        a01 = f32x4.add(a01, f32x4.mul(p0, v1));
        a10 = f32x4.add(a10, f32x4.mul(p1, v0));
        a11 = f32x4.add(a11, f32x4.mul(p1, v1));
        a20 = f32x4.add(a20, f32x4.mul(p2, v0));
        a21 = f32x4.add(a21, f32x4.mul(p2, v1));
        a30 = f32x4.add(a30, f32x4.mul(p3, v0));
        a31 = f32x4.add(a31, f32x4.mul(p3, v1));
      }
      vp += rb;
      pp += 4;
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
