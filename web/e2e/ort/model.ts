/*
 * The ONNX model of the onnxruntime-web end-to-end page, written in code with the
 * library's own protobuf writer (src/harness/onnx-proto.ts): an input X [B, N, C]
 * projected by three MatMuls onto Q, K and V and reshaped to [B, N, H, D] — the
 * 'bnhd' order of ORT's own attention ops — so a WebGPU session hands back exactly
 * what an attention layer of a transformer would get, in GPU buffers on ORT's device.
 * outModel is the layer after attention, which reads the op's O. Also the float64
 * projection, to check what ORT computed.
 */
import { DT, model, node, tensor, valueInfo } from '../../../src/harness/onnx-proto.js';
import { toHalf } from '../../../src/tensor/half.js';

/** The problem: batch, sequence, model width, query heads, key/value heads (GQA), head dim. */
export interface QkvShape {
  readonly B: number;
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly Hkv: number;
  readonly D: number;
}

/** Weights [C, heads·D] of the three projections, row-major, as float64 values exact in the model's dtype. */
export interface QkvWeights {
  readonly wq: Float64Array;
  readonly wk: Float64Array;
  readonly wv: Float64Array;
}

/** `x` stored in `dtype`: float32 values, or float16 bit patterns. */
export function stored(x: Float64Array, dtype: 'float32' | 'float16'): Float32Array | Uint16Array {
  return dtype === 'float16' ? toHalf(x) : Float32Array.from(x);
}

/**
 * The serialised model: X [B, N, C] → q [B, N, H, D], k and v [B, N, Hkv, D], each
 * MatMul(X, W) then Reshape; element type `dtype` throughout.
 */
export function qkvModel(s: QkvShape, w: QkvWeights, dtype: 'float32' | 'float16'): Uint8Array {
  const type = dtype === 'float16' ? DT.FLOAT16 : DT.FLOAT;
  const shape = (h: number) => tensor(`shape_${h}`, DT.INT64, [4], BigInt64Array.from([s.B, s.N, h, s.D].map(BigInt)));
  const heads = { q: s.H, k: s.Hkv, v: s.Hkv } as const;
  const weights = { q: w.wq, k: w.wk, v: w.wv } as const;
  const names = ['q', 'k', 'v'] as const;
  return model({
    nodes: names.flatMap((n) => [node(['x', `w_${n}`], [`${n}_flat`], 'MatMul'), node([`${n}_flat`, `shape_${heads[n]}`], [n], 'Reshape')]),
    inits: [...names.map((n) => tensor(`w_${n}`, type, [s.C, heads[n] * s.D], stored(weights[n], dtype))), ...[...new Set([s.H, s.Hkv])].map(shape)],
    inputs: [valueInfo('x', type, [s.B, s.N, s.C])],
    outputs: names.map((n) => valueInfo(n, type, [s.B, s.N, heads[n], s.D])),
    name: 'qkv',
  });
}

/**
 * The layer after attention: O [B, N, H, D] → Reshape [B, N, H·D] → MatMul with Wo
 * [H·D, C] → y [B, N, C], so a second session reads the op's output buffer in place.
 */
export function outModel(s: QkvShape, wo: Float64Array, dtype: 'float32' | 'float16'): Uint8Array {
  const type = dtype === 'float16' ? DT.FLOAT16 : DT.FLOAT;
  return model({
    nodes: [node(['o', 'shape_flat'], ['o_flat'], 'Reshape'), node(['o_flat', 'w_o'], ['y'], 'MatMul')],
    inits: [
      tensor('shape_flat', DT.INT64, [3], BigInt64Array.from([s.B, s.N, s.H * s.D].map(BigInt))),
      tensor('w_o', type, [s.H * s.D, s.C], stored(wo, dtype)),
    ],
    inputs: [valueInfo('o', type, [s.B, s.N, s.H, s.D])],
    outputs: [valueInfo('y', type, [s.B, s.N, s.C])],
    name: 'out_proj',
  });
}

/** X·W in float64: [B·N, C] × [C, cols] → [B·N, cols], which is [B, N, heads, D] in 'bnhd' order. */
export function project(x: Float64Array, w: Float64Array, rows: number, c: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < cols; j++) {
      let sum = 0;
      for (let i = 0; i < c; i++) sum += x[r * c + i]! * w[i * cols + j]!;
      out[r * cols + j] = sum;
    }
  return out;
}
