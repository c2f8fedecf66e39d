/*
 * Small WGSL generators the register-tiled kernels share. Per-invocation loops
 * are unrolled when the WGSL is generated, so every register-array index is a
 * constant and nothing falls back to local memory.
 */

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
 * Generated WGSL moving one tile of `rows` rows × D4 vec4 columns in two halves,
 * so the global loads of the next tile are in flight while the current one is
 * computed. fetch: storage buffer → registers (zero past `limit`); stage:
 * registers → workgroup tile. Expects `tid` and `D4` in scope.
 */
export function tileMover(rows: number, threads: number, d4: number) {
  const per = Math.ceil((rows * d4) / threads);
  const ragged = (rows * d4) % threads !== 0;
  return {
    /** vec4 registers each invocation holds per tile. */
    per,
    fetch: (regs: string, src: string, base: string, seqStride: string, row0: string, limit: string) =>
      each(per, (u) => `    {
      let e = tid + ${threads * u}u;
      let n = ${row0} + e / D4;
      ${regs}[${u}] = vec4<f32>(0.0);
      if (n < ${limit}${ragged ? ` && e < ${rows * d4}u` : ''}) { ${regs}[${u}] = ${src}[${base} + n * ${seqStride} + e % D4]; }
    }`),
    /** `at(row, column)` names the workgroup element a vec4 goes to (the tile's layout). */
    stage: (regs: string, at: (row: string, col: string) => string) =>
      each(per, (u) => {
        const store = `${at('e / D4', 'e % D4')} = ${regs}[${u}];`;
        return `    { let e = tid + ${threads * u}u; ${ragged ? `if (e < ${rows * d4}u) { ${store} }` : store} }`;
      }),
  };
}
