// The test cases of sgmat-layout.mjs (issue 14): tiny one-workgroup kernels that push known
// matrices through each subgroupMatrixLoad / subgroupMatrixStore mode attn-sgmat's kernel uses (and the
// col_major / row_major twins it could switch to), and the host-side decoders that say which memory
// mapping the GPU really applied. No imports; no GPU here, so the decoders can be self-tested offline.
//
// Anchors: loads and stores of row_major matrices in storage buffers, and the multiply, are the
// modes bench/tc/repro.mjs checked exactly on the H200 (a general f16 GEMM, f32 results). Every
// other mode is measured against them: a loaded matrix X is multiplied by the identity (which is its
// own transpose, so its load mode cannot matter) and stored through the anchor; memory holds
// src[i] = i (exact in f16 below 2048), so each result element names the memory index it came from.

const T = 16; // every config here is 16×16×16 (f16 → f32), as on the H200
const L = `subgroup_matrix_left<f16, ${T}, ${T}>`,
  R = `subgroup_matrix_right<f16, ${T}, ${T}>`,
  A = `subgroup_matrix_result<f32, ${T}, ${T}>`;
const TYPE = { left: L, right: R, result: A };
const HEADER = `enable f16;\nenable subgroups;\nenable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read> src: array<f16>;    // src[i] = i (i < 2048), then small integers
@group(0) @binding(1) var<storage, read> srcf: array<f32>;   // the same values as f32
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> ids: array<u32>;
var<workgroup> wh: array<f16, 8192>;
var<workgroup> wf: array<f32, 2048>;
`;
// src layout (f16 elements): [0, 2048) the index values; from SMALL small integers: Q / A (16 × 64, also
// A and B of the multiply at SMALL and SMALL + 256), K or V (64 × 64) at KV, P (16 × 64) at P0, identity at ID
const SMALL = 2048,
  KV = SMALL + 1024,
  P0 = SMALL + 5120,
  ID = SMALL + 6144,
  SRC_LEN = ID + 256;
const u = (x) => `${x}u`;
/** The identity as a left or right operand (its own transpose: any load mode gives the same matrix). */
const ident = (kind) => `subgroupMatrixLoad<${TYPE[kind]}, row_major>(&src, ${u(ID)}, ${u(T)})`;
const main = (body, wg = 32) => `@compute @workgroup_size(${wg})
fn main(@builtin(local_invocation_index) li: u32, @builtin(subgroup_id) sg: u32, @builtin(subgroup_invocation_id) lane: u32) {
  for (var i = li; i < 2048u; i += ${u(wg)}) { wh[i] = src[i]; wf[i] = srcf[i]; }
  workgroupBarrier();
${body}
}`;

/** One load case: X loaded with (kind, major) from storage or workgroup at (off, stride), then X·I or I·X stored as anchor. */
function loadCase(kind, major, space, off, stride) {
  const arr = space === 'storage' ? (kind === 'result' ? 'srcf' : 'src') : kind === 'result' ? 'wf' : 'wh';
  const x = `subgroupMatrixLoad<${TYPE[kind]}, ${major}>(&${arr}, ${u(off)}, ${u(stride)})`;
  const res =
    kind === 'left'
      ? `subgroupMatrixMultiplyAccumulate(${x}, ${ident('right')}, ${A}())`
      : kind === 'right'
        ? `subgroupMatrixMultiplyAccumulate(${ident('left')}, ${x}, ${A}())`
        : x;
  return {
    name: `load ${kind} ${major} ${space} off=${off} stride=${stride}`,
    kind: 'load',
    major,
    off,
    stride,
    wgsl: HEADER + main(`  subgroupMatrixStore<row_major>(&out, 0u, ${res}, ${u(T)});`),
  };
}

/** One store case: R = idx·I (R[r][c] = 16r + c, through the anchors) stored with `major` at (off, stride), memory copied out. */
function storeCase(major, space, off, stride) {
  const r = `subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<${L}, row_major>(&src, 0u, ${u(T)}), ${ident('right')}, ${A}())`;
  const body =
    space === 'storage'
      ? `  for (var i = li; i < 2048u; i += 32u) { out[i] = -1.0; }\n  storageBarrier();\n  subgroupMatrixStore<${major}>(&out, ${u(off)}, ${r}, ${u(stride)});`
      : `  for (var i = li; i < 2048u; i += 32u) { wf[i] = -1.0; }\n  workgroupBarrier();\n  subgroupMatrixStore<${major}>(&wf, ${u(off)}, ${r}, ${u(stride)});
  workgroupBarrier();\n  for (var i = li; i < 2048u; i += 32u) { out[i] = wf[i]; }`;
  return { name: `store result ${major} ${space} off=${off} stride=${stride}`, kind: 'store', major, off, stride, wgsl: HEADER + main(body) };
}

/** The multiply on general operands: A (src[SMALL..]) · B (src[SMALL + 256..]), both through the anchors. */
function mmaCase() {
  const a = `subgroupMatrixLoad<${L}, row_major>(&src, ${u(SMALL)}, ${u(T)})`,
    b = `subgroupMatrixLoad<${R}, row_major>(&src, ${u(SMALL + 256)}, ${u(T)})`;
  return {
    name: 'multiply-accumulate A·B + 0',
    kind: 'mma',
    wgsl: HEADER + main(`  subgroupMatrixStore<row_major>(&out, 0u, subgroupMatrixMultiplyAccumulate(${a}, ${b}, ${A}()), ${u(T)});`),
  };
}

/** Four subgroups: builtin ids, subgroupShuffleXor(·, 16), and a per-subgroup load/store at subgroup_id-based offsets. */
function subgroupCase() {
  const body = `  ids[li * 4u] = sg; ids[li * 4u + 1u] = lane; ids[li * 4u + 2u] = li; ids[li * 4u + 3u] = subgroupShuffleXor(li, 16u);
  let x = subgroupMatrixLoad<${L}, row_major>(&wh, sg * 256u, ${u(T)});
  subgroupMatrixStore<row_major>(&out, sg * 256u, subgroupMatrixMultiplyAccumulate(x, ${ident('right')}, ${A}()), ${u(T)});`;
  return {
    name: 'four subgroups: subgroup_id, subgroup_invocation_id, shuffleXor 16, offsets by subgroup_id',
    kind: 'subgroups',
    wgsl: HEADER + main(body, 128),
  };
}

/**
 * The kernel's S tile as attn-sgmat does it: K (64 keys × 64, row-major, stride 72) staged in workgroup
 * memory by scalar stores, S = Σ_kd Q_kd · K_kdᵀ (right matrices loaded col_major), stored f32 row_major
 * at stride 68 to workgroup memory, read back by the lanes. Then P (16 × 64, stride 72, scalar f16 stores)
 * times V (stride 72, right matrices row_major), accumulated over four blocks: the P·V step.
 */
function tileCase(which) {
  const body = [];
  for (let jb = 0; jb < 4; jb++) {
    const terms = [0, 1, 2, 3].map((k) =>
      which === 'S'
        ? `acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<${L}, row_major>(&src, ${u(SMALL + k * T)}, 64u), subgroupMatrixLoad<${R}, col_major>(&wh, ${u(jb * T * 72 + k * T)}, 72u), acc);`
        : `acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<${L}, row_major>(&wh, ${u(4608 + k * T)}, 72u), subgroupMatrixLoad<${R}, row_major>(&wh, ${u(k * T * 72 + jb * T)}, 72u), acc);`,
    );
    body.push(`  { var acc = ${A}();\n    ${terms.join('\n    ')}\n    subgroupMatrixStore<row_major>(&wf, ${u(jb * T)}, acc, 68u); }`);
  }
  // K or V (64 rows × 64) at wh[j·72 + c], as attn-sgmat stages them; P (16 × 64) at wh[4608 + r·72 + c]
  const stage = `  for (var e = li; e < 4096u; e += 32u) { wh[(e / 64u) * 72u + e % 64u] = src[${u(KV)} + e]; }
  for (var e = li; e < 1024u; e += 32u) { wh[4608u + (e / 64u) * 72u + e % 64u] = src[${u(P0)} + e]; }`;
  const read = '  for (var e = li; e < 1024u; e += 32u) { out[e] = wf[(e / 64u) * 68u + e % 64u]; }';
  return {
    name: which === 'S' ? 'kernel S tile: Q·Kᵀ (K col_major, workgroup), S through workgroup f32' : 'kernel P·V tile: P and V row_major from workgroup',
    kind: `tile${which}`,
    wgsl: HEADER + main(`  workgroupBarrier();\n${stage}\n  workgroupBarrier();\n${body.join('\n')}\n  workgroupBarrier();\n${read}`),
  };
}

/**
 * The S tile again, staged as attn-sgmat stages it: by four subgroups (128 invocations, e = li + 128·i, so
 * every subgroup's matrix loads read rows that other subgroups wrote), K read from storage as `how`:
 * f16 scalars, vec4<f16> (run 10's kernel) or packed u32 pairs bitcast to vec2<f16> (the default since);
 * each subgroup stores its product to out[sg·1024 ..]. Separates the two suspects of run 10's wrong
 * staged path: 16-bit vector loads from storage, and the cross-subgroup hand-off through workgroup memory.
 */
function tile4Case(how) {
  const decl = { f16: '', vec4h: 'var<storage, read> src4: array<vec4<f16>>;', u32: 'var<storage, read> srcw: array<vec2<u32>>;' }[how];
  const read = {
    f16: `let x = vec4<f16>(src[${u(KV)} + 4u * e], src[${u(KV + 1)} + 4u * e], src[${u(KV + 2)} + 4u * e], src[${u(KV + 3)} + 4u * e]);`,
    vec4h: `let x = src4[${u(KV / 4)} + e];`,
    u32: `let p = srcw[${u(KV / 4)} + e]; let x = vec4<f16>(bitcast<vec2<f16>>(p.x), bitcast<vec2<f16>>(p.y));`,
  }[how];
  const terms = (jb) =>
    [0, 1, 2, 3].map(
      (k) =>
        `acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<${L}, row_major>(&src, ${u(SMALL + k * T)}, 64u), subgroupMatrixLoad<${R}, col_major>(&wh, ${u(jb * T * 72 + k * T)}, 72u), acc);`,
    );
  const body = `  workgroupBarrier();
  for (var e = li; e < 1024u; e += 128u) {
    ${read}
    let w = (e / 16u) * 72u + (e % 16u) * 4u;
    wh[w] = x.x; wh[w + 1u] = x.y; wh[w + 2u] = x.z; wh[w + 3u] = x.w;
  }
  workgroupBarrier();
${[0, 1, 2, 3].map((jb) => `  { var acc = ${A}();\n    ${terms(jb).join('\n    ')}\n    subgroupMatrixStore<row_major>(&out, sg * 1024u + ${u(jb * T)}, acc, 64u); }`).join('\n')}`;
  const header = decl ? `${HEADER}@group(0) @binding(4) ${decl} // the f16 buffer of binding 0 again\n` : HEADER;
  return { name: `kernel S tile staged by 4 subgroups, K read as ${how}`, kind: 'tileS4', wgsl: header + main(body, 128) };
}

/**
 * The kernel's own workgroup frame (attn-sgmat at d=64, bc=64, sg=4, run 11): its six workgroup variables
 * with their exact types and sizes (kS, vS, pS f16 4608; sS f32 4352; rowA f32 64; flag u32 or vec4<u32>),
 * every one live as in the kernel (flag reset before the barrier and read by workgroupUniformLoad, rowA
 * written and read, P staged per subgroup at pOff = sg·1152), K and V staged from u32 pairs by four
 * subgroups as the kernel stages them. `which` = S: Q·Kᵀ from kS (col_major); PV: P·V (pS row_major, vS
 * row_major); the product goes through sS at sOff = sg·1088, stride 68, back to out[sg·1024 ..] by the lanes.
 * Run 11's data fit the kernel's loads from kS/vS reading two halves early (a base 4 bytes off 16-byte
 * alignment: 4 bytes is the u32 flag's size, the only variable whose size is not a 16-byte multiple);
 * the probe's own workgroup arrays were all 16-byte multiples. flag=vec4 is the kernel's fix.
 */
function kernelFrameCase(which, flagType) {
  const F = flagType === 'u32' ? 'flag' : 'flag.x';
  const decl = `enable f16;\nenable subgroups;\nenable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read> src: array<f16>;
@group(0) @binding(1) var<storage, read> srcf: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> ids: array<u32>;
@group(0) @binding(4) var<storage, read> srcw: array<vec2<u32>>; // the f16 buffer of binding 0 again
var<workgroup> kS: array<f16, 4608>;
var<workgroup> vS: array<f16, 4608>;
var<workgroup> pS: array<f16, 4608>;
var<workgroup> sS: array<f32, 4352>;
var<workgroup> rowA: array<f32, 64>;
var<workgroup> flag: ${flagType === 'u32' ? 'u32' : 'vec4<u32>'};
`;
  const terms = (jb) =>
    [0, 1, 2, 3].map((k) =>
      which === 'S'
        ? `acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<${L}, row_major>(&src, ${u(SMALL + k * T)}, 64u), subgroupMatrixLoad<${R}, col_major>(&kS, ${u(jb * T * 72 + k * T)}, 72u), acc);`
        : `acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<${L}, row_major>(&pS, pOff + ${u(k * T)}, 72u), subgroupMatrixLoad<${R}, row_major>(&vS, ${u(k * T * 72 + jb * T)}, 72u), acc);`,
    );
  const body = `@compute @workgroup_size(128)
fn main(@builtin(local_invocation_index) li: u32, @builtin(subgroup_id) sg: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let sOff = sg * 1088u; let pOff = sg * 1152u;
  if (li == 0u) { ${F} = 0u; }
  workgroupBarrier();
  for (var e = li; e < 1024u; e += 128u) {
    let a = srcw[${u(KV / 4)} + e];
    let a01 = bitcast<vec2<f16>>(a.x); let a23 = bitcast<vec2<f16>>(a.y);
    let w = (e / 16u) * 72u + (e % 16u) * 4u;
    kS[w] = a01.x; kS[w + 1u] = a01.y; kS[w + 2u] = a23.x; kS[w + 3u] = a23.y;
    vS[w] = a01.x; vS[w + 1u] = a01.y; vS[w + 2u] = a23.x; vS[w + 3u] = a23.y;
  }
  for (var e = li; e < 4096u; e += 128u) { pS[(e / 1024u) * 1152u + ((e % 1024u) / 64u) * 72u + e % 64u] = src[${u(P0)} + e % 1024u]; }
  if (li < 64u) { rowA[li] = 1.0; }
  workgroupBarrier();
${[0, 1, 2, 3].map((jb) => `  { var acc = ${A}();\n    ${terms(jb).join('\n    ')}\n    subgroupMatrixStore<row_major>(&sS, sOff + ${u(jb * T)}, acc, 68u); }`).join('\n')}
  let fl = workgroupUniformLoad(&flag)${flagType === 'u32' ? '' : '.x'}; // a barrier too: sS complete
  for (var e = lane; e < 1024u; e += 32u) { out[sg * 1024u + e] = sS[sOff + (e / 64u) * 68u + e % 64u] * rowA[sg * 16u + e / 64u] + f32(fl); }
}`;
  const name = `kernel frame (six workgroup variables, flag ${flagType}): ${which === 'S' ? 'Q·Kᵀ from kS' : 'P·V from pS, vS'}, staged by 4 subgroups`;
  return { name, kind: which === 'S' ? 'tileS4' : 'tilePV4', wgsl: decl + body };
}

/** Every case, in the order they run. Strides are attn-sgmat's at d=64 (72 for f16 tiles, 68 for f32), plus tight ones; every index read stays below 2048. */
export function cases() {
  const list = [mmaCase(), subgroupCase()];
  for (const space of ['storage', 'workgroup'])
    for (const kind of ['left', 'right', 'result'])
      for (const major of ['row_major', 'col_major']) list.push(loadCase(kind, major, space, kind === 'result' ? 16 : 72 + 16, kind === 'result' ? 68 : 72));
  list.push(loadCase('right', 'col_major', 'workgroup', 0, 16), loadCase('right', 'row_major', 'workgroup', 0, 16));
  for (const space of ['storage', 'workgroup']) for (const major of ['row_major', 'col_major']) list.push(storeCase(major, space, 16, 68));
  list.push(tileCase('S'), tileCase('PV'), tile4Case('f16'), tile4Case('vec4h'), tile4Case('u32'));
  for (const flag of ['u32', 'vec4']) list.push(kernelFrameCase('S', flag), kernelFrameCase('PV', flag));
  return list;
}

export { SMALL, KV, P0, ID, SRC_LEN, T };
