/*
 * Helpers shared by the CPU backend's WebAssembly SIMD kernels (asm/forward.ts and
 * asm/backward.ts, compiled together into one module by scripts/build-wasm.mjs):
 * the vector exp2 both use to turn log2-frame scores into probabilities, the packing
 * of K (and, for the backward, V) into groups of 8 keys, and the two register-blocked
 * 4 × 8 micro-kernels: rows times a packed tile (S = Q·Kᵀ, dP = dO·Vᵀ) and a 4-row
 * block of P times V rows (acc += P·V, dQ += dS·K).
 */

/** Keys per tile. */
export const BC: i32 = 64;
/** Byte pitch of a row in a block copy of Q (or dO): D ≤ 256, fixed so row offsets are immediates. */
export const QB_PITCH: i32 = 1024;

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
export function exp2v(x: v128): v128 {
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

/**
 * Whether any of the `n` floats at `p` is ±∞ or NaN: x − x is 0 for every finite x and
 * NaN otherwise, and a NaN lane stays NaN through the running sum. The host asks this of
 * each KV head's V (a guarded P·V is needed only where V is not finite) in a few µs,
 * where a JS loop in a worker that has not warmed up yet takes milliseconds.
 */
export function nonFinite(p: usize, n: i32): bool {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const x = v128.load(p + i * 4);
    acc = f32x4.add(acc, f32x4.sub(x, x));
  }
  for (; i < n; i++) {
    const x = load<f32>(p + i * 4);
    if (x - x != 0) return true;
  }
  return v128.any_true(f32x4.ne(acc, acc));
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
export function qkTile(qb: usize, kp: usize, s: usize, groups: i32, Dp: i32, scale2: f32): void {
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
export function pvBody(p: usize, v: usize, acc: usize, ncol: i32, Dp: i32, guard: bool): void {
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
