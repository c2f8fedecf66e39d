/*
 * IEEE binary16 (f16) on the host: the element type a tensor's data may have.
 * Node 20 has no Float16Array, so f16 data travels as Uint16Array bit patterns;
 * these convert it to and from f32 (round to nearest, ties to even, as the GPU's
 * f16 stores should and as PyTorch's `.half()` does).
 */

import { AttentionInputError } from './errors.js';

/** Element types of tensor data. LSE and other statistics stay f32 whatever this is. */
export type DType = 'f32' | 'f16';

export const DTYPES: readonly DType[] = ['f32', 'f16'];

/** Bytes of one element. */
export function bytesOf(dtype: DType): number {
  return dtype === 'f16' ? 2 : 4;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The f16 bit pattern nearest to x (ties to even); beyond the f16 range, ±inf; NaN stays NaN. */
export function halfBits(x: number): number {
  f32[0] = x; // first to f32: f32 → f16 rounding is what a GPU's f16 store does
  return halfOfF32Bits(u32[0]!);
}

/** halfBits of the f32 whose bit pattern is `bits` (array loops read the bits through a Uint32Array view). */
function halfOfF32Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15; // the f16 exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal (or zero): the 24-bit significand shifted right by 14 − e, rounded to even.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let h = m >>> shift;
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // a carry into the exponent is right, up to inf
  return sign | h;
}

/** Every f16's value, built on first use (256 KiB): array conversions look values up instead of computing powers. */
let values: Float32Array | undefined;
function halfValues(): Float32Array {
  if (!values) {
    values = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) values[h] = computeHalfValue(h);
  }
  return values;
}

function computeHalfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** The value of an f16 bit pattern. */
export function halfValue(h: number): number {
  return halfValues()[h & 0xffff]!;
}

/** x rounded to the nearest f16 value, as a number. */
export function roundHalf(x: number): number {
  return halfValue(halfBits(x));
}

/** The bit patterns of a Float32Array's elements (a view, no copy). */
function f32Bits(data: Float32Array): Uint32Array {
  return new Uint32Array(data.buffer, data.byteOffset, data.length);
}

/** f32 (or f64) values → f16 bit patterns. */
export function toHalf(data: ArrayLike<number>): Uint16Array {
  if (typeof data !== 'object' || data === null || typeof data.length !== 'number') {
    throw new AttentionInputError(`toHalf takes an array of numbers (or a Float32Array), got ${data === null ? 'null' : typeof data}`);
  }
  const out = new Uint16Array(data.length);
  if (data instanceof Float32Array) {
    const bits = f32Bits(data);
    for (let i = 0; i < bits.length; i++) out[i] = halfOfF32Bits(bits[i]!);
  } else {
    for (let i = 0; i < data.length; i++) out[i] = halfBits(data[i]!);
  }
  return out;
}

/** f16 bit patterns → their values as f32 (exact: every f16 is an f32). */
export function fromHalf(bits: Uint16Array): Float32Array {
  // (By tag, not instanceof: a Uint16Array of another realm, an iframe's or a vm context's, is one.)
  if (Object.prototype.toString.call(bits) !== '[object Uint16Array]') {
    const what = bits === null ? 'null' : typeof bits === 'object' ? (bits as object).constructor?.name : typeof bits;
    throw new AttentionInputError(`fromHalf takes f16 bit patterns as a Uint16Array, got ${what}`);
  }
  const table = halfValues();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return out;
}

/** Every value rounded to f16 (in place). */
export function roundToHalf(data: Float32Array): Float32Array {
  const table = halfValues();
  const bits = f32Bits(data);
  for (let i = 0; i < bits.length; i++) data[i] = table[halfOfF32Bits(bits[i]!)]!;
  return data;
}

/** Whether `data` is a Float16Array (ES2025; Node ≥ 24 and recent browsers), without naming the type. */
export function isFloat16Array(data: unknown): data is ArrayLike<number> & ArrayBufferView {
  return ArrayBuffer.isView(data) && data.constructor?.name === 'Float16Array';
}
