/*
 * WGSL pieces that several kernel families declare (forward, backward, naive,
 * combine, block mask): helper functions and the auxiliary-table binding. They
 * live apart from any one family so that none has to import another to get them.
 */
import type { Binding } from './spec.js';

/** First tile index ≥ start whose block-mask state is not empty, or end. */
export const NEXT_TILE = /* wgsl */ `fn nextTile(row: u32, start: u32, end: u32) -> u32 {
  var t = start;
  loop {
    if (t >= end || blocks[row + t] != 0u) { break; }
    t++;
  }
  return t;
}`;

/**
 * NaN test on the bits: compilers may fold float self-comparisons (x != x) away
 * under a no-NaN assumption; integer compares they must keep.
 */
export const IS_NAN = /* wgsl */ `fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }`;

/**
 * LSE in natural units from the log2-frame max m and denominator l: m·ln 2 + ln l,
 * with ln 2 split into an f32 head and tail so the product adds no rounding beyond
 * the scores' own ((m + log2 l)·ln 2 added about 2 ulp of |LSE|, over the bound at |LSE| ≈ 100).
 */
export const LSE_OF = /* wgsl */ `fn lseOf(m: f32, l: f32) -> f32 {
  return fma(m, ${Math.fround(Math.LN2)}, fma(m, ${Math.LN2 - Math.fround(Math.LN2)}, log(l)));
}`;

/** The packed auxiliary tables of a variant (slopes, document ids, sinks, …). */
export const AUX_BINDING: Binding = { name: 'aux', kind: 'read', type: 'array<f32>' };

/**
 * How a kernel holds a tensor's vec4 rows (4 consecutive elements of a head) in
 * device memory. f32: `vec4<f32>`. f16: the four values packed in two u32 words,
 * read and written with WGSL's core pack2x16float / unpack2x16float, so every
 * adapter has it (no `shader-f16`) and the arithmetic stays f32.
 */
export interface RowType {
  /** The binding's WGSL type. */
  readonly type: string;
  /** Bytes per vec4 row element (16 or 8): offsets and strides in these units. */
  readonly vecBytes: number;
  /** The vec4<f32> value of one element read from the buffer (`x` is `buf[i]`). */
  load(x: string): string;
  /** What to store for the vec4<f32> value `v`. */
  store(v: string): string;
  /** Module-scope helper functions the type needs ('' for f32). */
  readonly helpers: string;
  /** One element as it sits in a register between fetch and use, and its zero. */
  readonly reg: string;
  readonly zero: string;
}

export const F32_ROWS: RowType = {
  type: 'array<vec4<f32>>',
  vecBytes: 16,
  load: (x) => x,
  store: (v) => v,
  helpers: '',
  reg: 'vec4<f32>',
  zero: 'vec4<f32>(0.0)',
};

/*
 * pack2x16float rounds to a neighbouring f16 (WGSL leaves the direction to the
 * implementation), but where either of its two values is past the f16 range (inf, NaN,
 * beyond 65504) WGSL leaves the whole word indeterminate: SwiftShader then rounded the
 * finite partner of an inf 2.5 ulp off. So each half is packed alone, and values past the
 * range are written as a round to nearest would: 65504 up to 65520, inf beyond (by sign), NaN.
 */
export const F16_ROWS: RowType = {
  type: 'array<vec2<u32>>',
  vecBytes: 8,
  load: (x) => `unpackHalf4(${x})`,
  store: (v) => `packHalf4(${v})`,
  reg: 'vec2<u32>',
  zero: 'vec2<u32>()',
  helpers: /* wgsl */ `fn unpackHalf4(x: vec2<u32>) -> vec4<f32> { return vec4<f32>(unpack2x16float(x.x), unpack2x16float(x.y)); }
fn packHalf(x: f32) -> u32 {
  let a = bitcast<u32>(x) & 0x7fffffffu;
  let sign = (bitcast<u32>(x) >> 16u) & 0x8000u;
  let fits = a <= 0x477fe000u; // within the f16 range: 65504 and below
  let rounded = pack2x16float(vec2<f32>(select(0.0, x, fits), 0.0)) & 0xffffu;
  let past = select(sign | 0x7bffu, sign | 0x7c00u, a >= 0x477ff000u); // 65504 below 65520, else inf
  return select(select(past, rounded, fits), 0x7e00u, a > 0x7f800000u);
}
fn packHalf4(v: vec4<f32>) -> vec2<u32> {
  return vec2<u32>(packHalf(v.x) | (packHalf(v.y) << 16u), packHalf(v.z) | (packHalf(v.w) << 16u));
}`,
};

/** The row type of a tensor of `half` (f16) or f32 elements. */
export function rowType(half: boolean | undefined): RowType {
  return half ? F16_ROWS : F32_ROWS;
}

/**
 * How a kernel names positions (mods/positions.ts): the causal shift, and a query
 * row's and a key's position from their i32 indices. Without a position table these
 * are the uniform `params.causalOffset` and the indices themselves (the text of calls
 * at default positions stays as it was); with one, the lets of positionLets().
 */
export interface PositionNames {
  readonly causal: string;
  readonly q: (index: string) => string;
  readonly kv: (index: string) => string;
}

/** The position names of a kernel whose variant has (or lacks) a position table. */
export function positionNames(positionsAt: number | undefined): PositionNames {
  if (positionsAt === undefined) return { causal: 'params.causalOffset', q: (i) => i, kv: (i) => i };
  return { causal: 'causalOffset', q: (i) => `(${i} + qPos)`, kv: (i) => `(${i} + kPos)` };
}

/** Batch entry `b`'s (u32 expression) query and key positions and causal shift, from the pairs at `aux[at]`; '' without a table. */
export function positionLets(positionsAt: number | undefined, b: string, indent = '  '): string {
  if (positionsAt === undefined) return '';
  return `${indent}// This batch entry's positions: query row i sits at qPos + i, key j at kPos + j.
${indent}let qPos = i32(aux[${positionsAt}u + 2u * ${b}]);
${indent}let kPos = i32(aux[${positionsAt}u + 2u * ${b} + 1u]);
${indent}let causalOffset = qPos - kPos;
`;
}

/**
 * `let g`: the workgroup's (block, head, batch entry) in a grid of [blocks, heads, batch] (needs
 * the `nwg` builtin). In causal kernels blocks differ in length, and the GPU spreads workgroups
 * over its SMs in launch order: launched head by head, one SM got several heads' longest blocks
 * while its neighbour got short ones, and the slowest SM set the time (docs/PERF.md "Causal
 * blocks ordered across heads"). So there workgroup L in launch order takes the
 * (L / (heads · batch))-th longest block, and every head's longest blocks go out first, across
 * all SMs. `longest`: which end holds the block with the most keys (the last query block, the
 * first key block); `when`: a WGSL condition for the reorder (a split-K grid keeps its order).
 * The f32 backward's dK/dV pass does not take it: it measured 2–3% slower ordered.
 */
export function blockOrder(causal: boolean, longest: 'last' | 'first', when = 'true'): string {
  if (!causal) return 'let g = wg;';
  const x = longest === 'last' ? 'nwg.x - 1u - rank' : 'rank';
  return `let wgLinear = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  let rank = wgLinear / (nwg.y * nwg.z);
  let g = select(wg, vec3<u32>(${x}, wgLinear % nwg.y, (wgLinear / nwg.y) % nwg.z), ${when});`;
}
