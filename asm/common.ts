/*
 * Helpers shared by the CPU backend's WebAssembly SIMD kernels (asm/forward.ts and
 * asm/backward.ts, compiled together into one module by scripts/build-wasm.mjs):
 * the vector exp2 both use to turn log2-frame scores into probabilities, the packing
 * of K (and, for the backward, V) into groups of 8 keys, and the tile sizes. The
 * register-blocked micro-kernels are in asm/micro.ts.
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
