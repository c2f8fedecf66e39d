// Stand-ins for the subgroup-matrix builtins of attn-sgmat.mjs (its emul=1), for running that kernel where
// subgroup matrices and f16 are missing (SwiftShader): everything but the builtins gets checked there.
// A matrix is spread over the 32 invocations of a virtual subgroup (local_invocation_index / 32) as the
// real one is over a subgroup: element e = row·columns + column sits in lane e % 32, slot e / 32. A
// multiply-accumulate goes through workgroup memory between barriers (so it must be called in uniform
// control flow, as the real one must); loads and stores read and write the same elements the builtins
// do (row_major: [r, c] at offset + r·stride + c; col_major: at offset + c·stride + r); f16 values
// are f32 rounded through pack2x16float. No imports.
// Those mappings are Dawn's, checked in its source (google/dawn at 1e975e28, 2026-08-22; npm webgpu 0.6.2
// holds Tint code from after 2026-08-18): docs/dawn/features/subgroup_matrix.md ("Loading and storing";
// left<T, K, M> is M × K, right<T, N, K> K × N, result<T, N, M> M × N); src/tint/lang/wgsl/wgsl.def (the
// <T, row_major|col_major> variants); src/tint/lang/spirv/writer/raise/builtin_polyfill.cc (lowered to
// OpCooperativeMatrixLoadKHR/StoreKHR, layout RowMajorKHR/ColumnMajorKHR, pointer &array[offset], stride
// as given, in array elements); printer.cc (OpTypeCooperativeMatrixKHR rows R, columns C; uses A, B,
// Accumulator); src/tint/lang/core/ir/transform/robustness.cc (in-bounds calls unchanged). ORT's NVIDIA
// 16x16x16 kernel uses the same conventions (B col_major from workgroup memory) and is right on the H200.
// What this emulation cannot show: its multiplies and shuffles go through workgroup memory between
// barriers, so it hides any reliance on subgroup reconvergence after a divergent branch (attn-sgmat.mjs
// sync=legacy had such branches right before matrix ops and the row-max shuffle).

/** The emulated ops for config c ({ TM, TN, TK, SGS, WG, SG }); dims: kind → [rows, columns]. */
export function emulatedOps(c, dims) {
  const { TM, TN, TK, SGS, WG } = c;
  const helpers = new Map();
  const per = (kind) => (dims[kind][0] * dims[kind][1]) / SGS;
  const arrT = (kind) => `array<f32, ${per(kind)}>`;
  helpers.set(
    'mma',
    `var<workgroup> mA: array<f32, ${c.SG * TM * TK}>;
var<workgroup> mB: array<f32, ${c.SG * TK * TN}>;
fn mma(a: ${arrT('left')}, b: ${arrT('right')}, acc: ${arrT('result')}, sg: u32, lane: u32) -> ${arrT('result')} {
  var A = a; var B = b; var C = acc;
  for (var i = 0u; i < ${per('left')}u; i++) { mA[sg * ${TM * TK}u + lane + i * ${SGS}u] = A[i]; }
  for (var i = 0u; i < ${per('right')}u; i++) { mB[sg * ${TK * TN}u + lane + i * ${SGS}u] = B[i]; }
  workgroupBarrier();
  for (var i = 0u; i < ${per('result')}u; i++) {
    let e = lane + i * ${SGS}u; let r = e / ${TN}u; let c = e % ${TN}u;
    var s = C[i];
    for (var k = 0u; k < ${TK}u; k++) { s += mA[sg * ${TM * TK}u + r * ${TK}u + k] * mB[sg * ${TK * TN}u + k * ${TN}u + c]; }
    C[i] = s;
  }
  workgroupBarrier();
  return C;
}`,
  );
  helpers.set(
    'shx',
    `var<workgroup> xch: array<f32, ${WG}>;
fn shx(x: f32, m: u32, li: u32) -> f32 {
  xch[li] = x; workgroupBarrier(); let y = xch[li ^ m]; workgroupBarrier(); return y;
}
fn rh(x: f32) -> f32 { return unpack2x16float(pack2x16float(vec2f(x, 0.0))).x; }`,
  );
  return {
    LD: (kind, arr, major, off, stride) => {
      const name = `ld_${arr}_${kind}_${major}`,
        C = dims[kind][1];
      const idx = major === 'row_major' ? 'r * stride + c' : 'c * stride + r';
      helpers.set(
        name,
        `fn ${name}(off: u32, stride: u32, lane: u32) -> ${arrT(kind)} {
  var m: ${arrT(kind)};
  for (var i = 0u; i < ${per(kind)}u; i++) {
    let e = lane + i * ${SGS}u; let r = e / ${C}u; let c = e % ${C}u;
    m[i] = f32(${arr}[off + ${idx}]);
  }
  return m;
}`,
      );
      return `${name}(${off}, ${stride}, lane)`;
    },
    ST: (arr, off, val, stride) => {
      helpers.set(
        `st_${arr}`,
        `fn st_${arr}(off: u32, v: ${arrT('result')}, stride: u32, lane: u32) {
  var M = v;
  for (var i = 0u; i < ${per('result')}u; i++) { let e = lane + i * ${SGS}u; ${arr}[off + (e / ${TN}u) * stride + e % ${TN}u] = M[i]; }
}`,
      );
      return `st_${arr}(${off}, ${val}, ${stride}, lane)`;
    },
    MMA: (a, b, acc) => `mma(${a}, ${b}, ${acc}, sg, lane)`,
    ZERO: `${arrT('result')}()`,
    SHX: (x, m) => `shx(${x}, ${m}u, li)`,
    H: (x) => `rh(${x})`,
    U2H: (x) => `unpack2x16float(${x})`, // no f16 here: the same f16 bits, widened

    half: 'f32',
    helpers: () => [...helpers.values()].join('\n'),
  };
}
