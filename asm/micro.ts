/*
 * The register-blocked micro-kernels of the CPU backend's WebAssembly SIMD kernels
 * (asm/forward.ts, asm/backward.ts): 4 rows × 8 columns of f32x4 accumulators, so no
 * horizontal sums are needed.
 *   qkTile: rows times a packed tile (S = Q·Kᵀ, dP = dO·Vᵀ)
 *   pvBody: a 4-row block of P times V rows (acc += P·V, dQ += dS·K)
 *
 * The inner loops step one pointer (no separate counter) and test at the bottom
 * (do-while; every loop here runs at least once, D and the key count being multiples
 * of 8): with one induction variable the loop is small enough for V8's TurboFan to
 * unroll it by 2 itself, so its stack check and branch come once per two steps and
 * no register spills. Unrolling by hand does the opposite: TurboFan schedules the
 * pure multiplies and adds after all of the unrolled steps' loads, 24 vectors live on
 * x64's 16 registers, and the spills made the loop 20% slower than the plain one.
 * The products are added in the same order either way, so the bits are the same.
 */

import { BC, QB_PITCH } from './common';

/** a + x·y per lane (wasm SIMD has no fused multiply-add without relaxed SIMD). */
@inline
function mac(a: v128, x: v128, y: v128): v128 {
  return f32x4.add(a, f32x4.mul(x, y));
}

/** S[4][BC] (first `groups`·8 columns) = (Q block · Kp tile) · scale2; Dp a multiple of 8. */
export function qkTile(qb: usize, kp: usize, s: usize, groups: i32, Dp: i32, scale2: f32): void {
  const sc = f32x4.splat(scale2);
  for (let g = 0; g < groups; g++) {
    let kg = kp + g * Dp * 32;
    let qp = qb;
    const qEnd = qb + Dp * 4;
    let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
    let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
    let k0: v128, k1: v128, q0: v128, q1: v128, q2: v128, q3: v128;
    do {
      k0 = v128.load(kg); k1 = v128.load(kg, 16);
      q0 = v128.load32_splat(qp); q1 = v128.load32_splat(qp, QB_PITCH);
      q2 = v128.load32_splat(qp, 2 * QB_PITCH); q3 = v128.load32_splat(qp, 3 * QB_PITCH);
      a00 = mac(a00, q0, k0); a01 = mac(a01, q0, k1); a10 = mac(a10, q1, k0); a11 = mac(a11, q1, k1);
      a20 = mac(a20, q2, k0); a21 = mac(a21, q2, k1); a30 = mac(a30, q3, k0); a31 = mac(a31, q3, k1);
      kg += 32;
      qp += 4;
    } while (qp < qEnd);
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
 * acc[4][Dp] += P[4][ncol] · V[ncol][Dp], ncol a multiple of 8. With `guard`, a product
 * whose P is 0 (a masked key) adds exactly 0 even when V holds inf or NaN, as the
 * reference skips masked keys (a rare path: V non-finite and the tile masked).
 */
@inline
export function pvBody(p: usize, v: usize, acc: usize, ncol: i32, Dp: i32, guard: bool): void {
  if (guard) {
    pvGuarded(p, v, acc, ncol, Dp);
    return;
  }
  const rb: usize = Dp * 4;
  for (let dc = 0; dc < Dp; dc += 8) {
    const ap = acc + dc * 4;
    let a00 = v128.load(ap), a01 = v128.load(ap, 16);
    let a10 = v128.load(ap + rb), a11 = v128.load(ap + rb, 16);
    let a20 = v128.load(ap + 2 * rb), a21 = v128.load(ap + 2 * rb, 16);
    let a30 = v128.load(ap + 3 * rb), a31 = v128.load(ap + 3 * rb, 16);
    let vp = v + dc * 4;
    let pp = p;
    const pEnd = p + ncol * 4;
    let v0: v128, v1: v128, p0: v128, p1: v128, p2: v128, p3: v128;
    do {
      v0 = v128.load(vp); v1 = v128.load(vp, 16);
      p0 = v128.load32_splat(pp); p1 = v128.load32_splat(pp, BC * 4);
      p2 = v128.load32_splat(pp, BC * 8); p3 = v128.load32_splat(pp, BC * 12);
      a00 = mac(a00, p0, v0); a01 = mac(a01, p0, v1); a10 = mac(a10, p1, v0); a11 = mac(a11, p1, v1);
      a20 = mac(a20, p2, v0); a21 = mac(a21, p2, v1); a30 = mac(a30, p3, v0); a31 = mac(a31, p3, v1);
      vp += rb;
      pp += 4;
    } while (pp < pEnd);
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

/** pvBody with `guard`: masked keys (P = 0) add exactly 0 whatever V holds. */
function pvGuarded(p: usize, v: usize, acc: usize, ncol: i32, Dp: i32): void {
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
      const m0 = f32x4.ne(p0, zero), m1 = f32x4.ne(p1, zero), m2 = f32x4.ne(p2, zero), m3 = f32x4.ne(p3, zero);
      a00 = f32x4.add(a00, v128.and(f32x4.mul(p0, v0), m0));
      a01 = f32x4.add(a01, v128.and(f32x4.mul(p0, v1), m0));
      a10 = f32x4.add(a10, v128.and(f32x4.mul(p1, v0), m1));
      a11 = f32x4.add(a11, v128.and(f32x4.mul(p1, v1), m1));
      a20 = f32x4.add(a20, v128.and(f32x4.mul(p2, v0), m2));
      a21 = f32x4.add(a21, v128.and(f32x4.mul(p2, v1), m2));
      a30 = f32x4.add(a30, v128.and(f32x4.mul(p3, v0), m3));
      a31 = f32x4.add(a31, v128.and(f32x4.mul(p3, v1), m3));
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
