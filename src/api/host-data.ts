/*
 * Host data a tensor is made from, brought to one of two forms before it reaches a
 * backend: f32 values, or f16 bit patterns. Deciding the dtype here (from the
 * option, else from the data's type) keeps every backend free of input sniffing.
 */
import { AttentionInputError } from '../tensor/errors.js';
import { isFloat16Array, toHalf, type DType } from '../tensor/half.js';

/**
 * What attn.tensor() takes from the host: f32 values (Float32Array, numbers), f16 bit
 * patterns (Uint16Array), or a Float16Array (ES2025, where the runtime has it).
 */
export type TensorData = Float32Array | Uint16Array | readonly number[] | ArrayLike<number>;

/** Host data in a backend's terms: f32 values, or f16 bit patterns. */
export type HostData = { readonly dtype: 'f32'; readonly values: Float32Array } | { readonly dtype: 'f16'; readonly bits: Uint16Array };

/** Element count of host data. */
export function hostLength(h: HostData): number {
  return h.dtype === 'f32' ? h.values.length : h.bits.length;
}

/** `data` as f32 values or f16 bits, by `dtype` (default: 'f16' for Uint16Array and Float16Array, else 'f32'). */
export function hostData(data: unknown, dtype: DType | undefined): HostData & { readonly length: number } {
  const half = data instanceof Uint16Array || isFloat16Array(data);
  const want = dtype ?? (half ? 'f16' : 'f32');
  if (data instanceof Uint16Array) {
    if (want !== 'f16') {
      throw new AttentionInputError("a Uint16Array holds f16 bit patterns, so its dtype is 'f16'; for f32 data pass a Float32Array");
    }
    return { dtype: 'f16', bits: data, length: data.length };
  }
  let values: ArrayLike<number>;
  if (data instanceof Float32Array || data instanceof Float64Array || isFloat16Array(data)) {
    values = data as ArrayLike<number>;
  } else if (Array.isArray(data)) {
    // A plain array is checked entry by entry: a string or undefined would silently become NaN.
    const bad = data.findIndex((x) => typeof x !== 'number');
    if (bad >= 0)
      throw new AttentionInputError(`tensor data: an array of numbers, but entry ${bad} is ${typeof data[bad]} (${String(data[bad]).slice(0, 20)})`);
    values = data as number[];
  } else {
    const what = data === null ? 'null' : ArrayBuffer.isView(data) ? (data.constructor?.name ?? 'a typed array') : typeof data;
    throw new AttentionInputError(
      `tensor data must be a Float32Array, a Float64Array, a Uint16Array of f16 bits, a Float16Array, an array of numbers or a GPUBuffer, got ${what}`,
    );
  }
  if (want === 'f16') return { dtype: 'f16', bits: toHalf(values), length: values.length };
  return { dtype: 'f32', values: values instanceof Float32Array ? values : Float32Array.from(values), length: values.length };
}
