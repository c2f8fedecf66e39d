/*
 * Small WGSL generators the register-tiled kernels share. Per-invocation loops
 * are unrolled when the WGSL is generated, so every register-array index is a
 * constant and nothing falls back to local memory.
 */
import { F32_ROWS, type RowType } from './wgsl-common.js';

/** `n` generated snippets, one per index, on separate lines. */
export function each(n: number, f: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => f(i)).join('\n');
}

/** acc + a·b as four chained fma (dot() would round once more and add separately). */
export function dot4(a: string, b: string, acc: string): string {
  return [...'xyzw'].reduce((inner, c) => `fma(${a}.${c}, ${b}.${c}, ${inner})`, acc);
}

/** max(a0, max(a1, …)) over `n` terms. */
export function maxOf(n: number, f: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => f(i)).reduce((a, b) => `max(${a}, ${b})`);
}

/** a0 + a1 + … over `n` terms. */
export function sumOf(n: number, f: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => f(i)).join(' + ');
}

/**
 * `x` combined across `lanes` neighbouring subgroup lanes (a power of two) by XOR
 * shuffles, as one expression; every lane ends with the total. Each step names its
 * operand twice, so the text doubles per step (the shader compiler merges the copies;
 * the forward kernel's speed was measured on exactly this text).
 */
export function shuffleReduce(x: string, lanes: number, op: 'max' | 'add'): string {
  return Array.from({ length: Math.log2(lanes) }, (_, i) => 1 << i).reduce(
    (acc, mask) => (op === 'max' ? `max(${acc}, subgroupShuffleXor(${acc}, ${mask}u))` : `${acc} + subgroupShuffleXor(${acc}, ${mask}u)`),
    x,
  );
}

/** Generators moving one tile between device memory, registers and workgroup memory (see tileMover). */
export interface TileMover {
  /** vec4 registers each invocation holds per tile. */
  readonly per: number;
  /** Declares the register array `regs` a tile passes through. */
  declare(regs: string): string;
  /**
   * Registers `regs` ← rows [row0, row0 + rows) of `src` (row stride `seqStride` from `base`); zero past `limit`.
   * `row(n)`, when given, is row n's offset from `base` instead of n·seqStride (paged K/V: kernels/paged.ts).
   */
  fetch(regs: string, src: string, base: string, seqStride: string, row0: string, limit: string, row?: (n: string) => string): string;
  /**
   * Workgroup tile ← registers `regs`; `at(row, column)` names the workgroup element a vec4
   * goes to (the tile's layout), `toTile` converts the vec4<f32> to the tile's element.
   */
  stage(regs: string, at: (row: string, col: string) => string, toTile?: (v: string) => string): string;
}

/**
 * Generated WGSL moving one tile of `rows` rows × D4 vec4 columns in two halves,
 * so the global loads of the next tile are in flight while the current one is
 * computed. fetch: storage buffer → registers (zero past `limit`); stage:
 * registers → workgroup tile. Registers hold elements as the buffer has them (`type`):
 * f16 rows are unpacked only when staged, so the loads stay in flight meanwhile.
 * Expects `tid` and `D4` in scope.
 */
export function tileMover(rows: number, threads: number, d4: number, type: RowType = F32_ROWS): TileMover {
  const per = Math.ceil((rows * d4) / threads);
  const ragged = (rows * d4) % threads !== 0;
  return {
    /** vec4 registers each invocation holds per tile. */
    per,
    declare: (regs: string) => `  var ${regs}: array<${type.reg}, ${per}>;`,
    fetch: (regs: string, src: string, base: string, seqStride: string, row0: string, limit: string, row?: (n: string) => string) =>
      each(
        per,
        (u) => `    {
      let e = tid + ${threads * u}u;
      let n = ${row0} + e / D4;
      ${regs}[${u}] = ${type.zero};
      if (n < ${limit}${ragged ? ` && e < ${rows * d4}u` : ''}) { ${regs}[${u}] = ${src}[${base} + ${row ? row('n') : `n * ${seqStride}`} + e % D4]; }
    }`,
      ),
    /** `at(row, column)` names the workgroup element a vec4 goes to (the tile's layout). */
    stage: (regs: string, at: (row: string, col: string) => string, toTile = (v: string) => v) =>
      each(per, (u) => {
        const store = `${at('e / D4', 'e % D4')} = ${toTile(type.load(`${regs}[${u}]`))};`;
        return `    { let e = tid + ${threads * u}u; ${ragged ? `if (e < ${rows * d4}u) { ${store} }` : store} }`;
      }),
  };
}

/**
 * `acc += w · x` for the vec4 `x`; `guarded`: a masked pair (w exactly 0) adds nothing even
 * when x is inf or NaN (0·inf would invent a NaN where the reference leaves the pair out).
 * A NaN w still reaches acc (NaN · 0), whichever way a compiler folds the compare.
 */
export function weightedFma(acc: string, w: string, x: string, guarded: boolean): string {
  return `${acc} = fma(vec4<f32>(${w}), ${guarded ? `select(vec4<f32>(0.0), ${x}, ${w} != 0.0)` : x}, ${acc});`;
}
