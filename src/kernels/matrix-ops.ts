/*
 * The matrix operations of the tensor-core forward (matrix.ts) as WGSL text: Dawn's
 * subgroup-matrix builtins (`chromium_experimental_subgroup_matrix`, lowered to Vulkan
 * cooperative matrices), or stand-ins that emulate them in workgroup memory so the same
 * kernel runs where subgroup matrices and f16 are missing (SwiftShader in CI): every part
 * of the kernel but the builtins themselves is checked there.
 *
 * The builtins, as Dawn declares them: subgroup_matrix_left<T, K, M> is M rows × K columns,
 * right<T, N, K> is K × N, result<T, N, M> is M × N; subgroupMatrixLoad<type, row_major |
 * col_major>(ptr to array<T>, offset, stride) reads [r, c] at offset + r·stride + c
 * (row-major) or offset + c·stride + r (column-major), in elements. Their arguments must be
 * subgroup-uniform and their calls in uniform control flow, and Vulkan wants the pointer and
 * stride 16-byte aligned (f16 strides multiples of 8 elements, f32 ones of 4).
 *
 * The emulation spreads a matrix over the 32 invocations of a virtual subgroup as the real
 * one is spread over a subgroup (element e = row·columns + column in lane e % 32, slot
 * e / 32); a multiply-accumulate and a shuffle go through workgroup memory between
 * barriers. f16 values are f32 values rounded through pack2x16float.
 */

/** Rows × columns × depth of one subgroup-matrix multiply (M × N result, K deep). */
export interface MatrixShape {
  readonly m: number;
  readonly n: number;
  readonly k: number;
}

type Kind = 'left' | 'right' | 'result';
type Major = 'row_major' | 'col_major';

/** The WGSL of the matrix operations a kernel uses. */
export interface MatrixOps {
  /** A load of a `kind` matrix from array `arr` (by name) at element `off` with row stride `stride`. */
  load(kind: Kind, arr: string, major: Major, off: string, stride: string): string;
  /** A row-major store of result `val` to array `arr`. */
  store(arr: string, off: string, val: string, stride: string): string;
  /** acc + a·b. */
  mma(a: string, b: string, acc: string): string;
  /** A zero result matrix. */
  readonly zero: string;
  /** Lane `x` of the subgroup lane `lane ^ mask`. */
  shuffleXor(x: string, mask: number): string;
  /** f32 `x` as the kernel's f16 element (rounded). */
  half(x: string): string;
  /** The f16 element type of workgroup tiles ('f16', or 'f32' holding rounded values). */
  readonly elem: string;
  /** The Q binding's element type, and how the emulation reads element `i` of it. */
  readonly qType: string;
  /** `enable` directives. */
  readonly enables: string;
  /** Module-scope helpers (after the kernel text is generated: the emulation adds as it goes). */
  helpers(): string;
}

/** The real builtins for `s`. */
export function subgroupMatrixOps(s: MatrixShape): MatrixOps {
  const type = {
    left: `subgroup_matrix_left<f16, ${s.k}, ${s.m}>`,
    right: `subgroup_matrix_right<f16, ${s.n}, ${s.k}>`,
    result: `subgroup_matrix_result<f32, ${s.n}, ${s.m}>`,
  };
  return {
    load: (kind, arr, major, off, stride) => `subgroupMatrixLoad<${type[kind]}, ${major}>(&${arr}, ${off}, ${stride})`,
    store: (arr, off, val, stride) => `subgroupMatrixStore<row_major>(&${arr}, ${off}, ${val}, ${stride})`,
    mma: (a, b, acc) => `subgroupMatrixMultiplyAccumulate(${a}, ${b}, ${acc})`,
    zero: `${type.result}()`,
    shuffleXor: (x, mask) => `subgroupShuffleXor(${x}, ${mask}u)`,
    half: (x) => `f16(${x})`,
    elem: 'f16',
    qType: 'array<f16>',
    enables: 'enable f16;\nenable subgroups;\nenable chromium_experimental_subgroup_matrix;\n',
    helpers: () => '',
  };
}

/** Lanes of the emulation's virtual subgroup. */
export const EMULATED_SUBGROUP = 32;

/**
 * Stand-ins for `s` in a workgroup of `subgroups` virtual subgroups (the kernel computes
 * `sg` and `lane` from the invocation index). The storage arrays matrices are loaded from
 * (`storage`: the forward's Q; the backward's held operands) are bound as packed pairs (array<u32>).
 */
export function emulatedMatrixOps(s: MatrixShape, subgroups: number, storage: readonly string[] = ['q']): MatrixOps {
  const lanes = EMULATED_SUBGROUP;
  const dims: Record<Kind, [number, number]> = { left: [s.m, s.k], right: [s.k, s.n], result: [s.m, s.n] };
  const per = (kind: Kind) => (dims[kind][0] * dims[kind][1]) / lanes;
  const arrT = (kind: Kind) => `array<f32, ${per(kind)}>`;
  const helpers = new Map<string, string>();
  helpers.set(
    'mma',
    `var<workgroup> mA: array<f32, ${subgroups * s.m * s.k}>;
var<workgroup> mB: array<f32, ${subgroups * s.k * s.n}>;
fn mma(a: ${arrT('left')}, b: ${arrT('right')}, acc: ${arrT('result')}, sg: u32, lane: u32) -> ${arrT('result')} {
  var A = a; var B = b; var C = acc;
  for (var i = 0u; i < ${per('left')}u; i++) { mA[sg * ${s.m * s.k}u + lane + i * ${lanes}u] = A[i]; }
  for (var i = 0u; i < ${per('right')}u; i++) { mB[sg * ${s.k * s.n}u + lane + i * ${lanes}u] = B[i]; }
  workgroupBarrier();
  for (var i = 0u; i < ${per('result')}u; i++) {
    let e = lane + i * ${lanes}u; let r = e / ${s.n}u; let c = e % ${s.n}u;
    var t = C[i];
    for (var k = 0u; k < ${s.k}u; k++) { t += mA[sg * ${s.m * s.k}u + r * ${s.k}u + k] * mB[sg * ${s.k * s.n}u + k * ${s.n}u + c]; }
    C[i] = t;
  }
  workgroupBarrier();
  return C;
}`,
  );
  helpers.set(
    'shx',
    `var<workgroup> xch: array<f32, ${subgroups * lanes}>;
fn shx(x: f32, m: u32, li: u32) -> f32 {
  xch[li] = x; workgroupBarrier(); let y = xch[li ^ m]; workgroupBarrier(); return y;
}
fn roundHalf(x: f32) -> f32 { return unpack2x16float(pack2x16float(vec2<f32>(x, 0.0))).x; }`,
  );
  // Element i of each array the kernel loads matrices from: storage ones are packed pairs, the
  // tiles f32. A load from storage that crosses the end of its buffer reads NaN throughout: the
  // H200 moves such a load whole (wrong rows, not clamped elements), so a kernel must never issue one.
  const packed = (arr: string) => storage.includes(arr);
  const read = (arr: string, i: string) => (packed(arr) ? `select(params.nan, unpack2x16float(${arr}[(${i}) / 2u])[(${i}) % 2u], inBounds)` : `${arr}[${i}]`);
  const bounds = (arr: string, kind: Kind, major: Major) => {
    if (!packed(arr)) return '';
    const [rows, cols] = dims[kind];
    const last = major === 'row_major' ? `off + ${rows - 1}u * stride + ${cols - 1}u` : `off + ${cols - 1}u * stride + ${rows - 1}u`;
    return `\n  let inBounds = ${last} < 2u * arrayLength(&${arr});`;
  };
  return {
    load: (kind, arr, major, off, stride) => {
      const name = `ld_${arr}_${kind}_${major}`;
      const idx = major === 'row_major' ? 'off + r * stride + c' : 'off + c * stride + r';
      helpers.set(
        name,
        `fn ${name}(off: u32, stride: u32, lane: u32) -> ${arrT(kind)} {
  var m: ${arrT(kind)};${bounds(arr, kind, major)}
  for (var i = 0u; i < ${per(kind)}u; i++) {
    let e = lane + i * ${lanes}u; let r = e / ${dims[kind][1]}u; let c = e % ${dims[kind][1]}u;
    m[i] = ${read(arr, idx)};
  }
  return m;
}`,
      );
      return `${name}(${off}, ${stride}, lane)`;
    },
    store: (arr, off, val, stride) => {
      helpers.set(
        `st_${arr}`,
        `fn st_${arr}(off: u32, v: ${arrT('result')}, stride: u32, lane: u32) {
  var M = v;
  for (var i = 0u; i < ${per('result')}u; i++) { let e = lane + i * ${lanes}u; ${arr}[off + (e / ${s.n}u) * stride + e % ${s.n}u] = M[i]; }
}`,
      );
      return `st_${arr}(${off}, ${val}, ${stride}, lane)`;
    },
    mma: (a, b, acc) => `mma(${a}, ${b}, ${acc}, sg, lane)`,
    zero: `${arrT('result')}()`,
    shuffleXor: (x, mask) => `shx(${x}, ${mask}u, li)`,
    half: (x) => `roundHalf(${x})`,
    elem: 'f32',
    qType: 'array<u32>',
    enables: '',
    helpers: () => [...helpers.values()].join('\n'),
  };
}
