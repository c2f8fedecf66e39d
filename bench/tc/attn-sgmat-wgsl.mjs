// The WGSL of attn-sgmat.mjs's kernel (issue 14): f16 FlashAttention forward with subgroup matrices.
// See attn-sgmat.mjs for the algorithm. Builtins used, as Dawn's Tint declares them (wgsl.def, "new
// variants"; docs/dawn/features/subgroup_matrix.md): types subgroup_matrix_left<T, K, M> (M rows × K
// columns), subgroup_matrix_right<T, N, K> (K × N), subgroup_matrix_result<T, N, M> (M × N);
// subgroupMatrixLoad<T, row_major|col_major>(ptr to array<S> in storage or workgroup, offset, stride)
// with [r, c] at offset + r·stride + c (row_major) or offset + c·stride + r (col_major), offset and
// stride in elements; subgroupMatrixStore<row_major>(ptr, offset, value, stride);
// subgroupMatrixMultiplyAccumulate(left, right, acc); the builtin value subgroup_id. Their
// arguments must be subgroup-uniform and their calls in subgroup-uniform control flow (Tint's
// subgroup-scope uniformity: subgroup_id and workgroupUniformLoad results are uniform there), and
// Vulkan wants pointer and stride 16-byte aligned (so f16 strides are multiples of 8, f32 of 4).
// No imports but the emulation (attn-sgmat-emul.mjs, used only with emul).
import { emulatedOps } from './attn-sgmat-emul.mjs';

/** The matrix operations: the subgroup-matrix builtins, or (emul=1) attn-sgmat-emul.mjs's stand-ins. */
function matrixOps(c) {
  const { TM, TN, TK } = c;
  const dims = { left: [TM, TK], right: [TK, TN], result: [TM, TN] }; // rows, columns
  // WGSL spells left<T, K, M>, right<T, N, K>, result<T, N, M>: columns first, then rows.
  const sgType = {
    left: `subgroup_matrix_left<f16, ${TK}, ${TM}>`,
    right: `subgroup_matrix_right<f16, ${TN}, ${TK}>`,
    result: `subgroup_matrix_result<f32, ${TN}, ${TM}>`,
  };
  if (!c.emul)
    return {
      LD: (kind, arr, major, off, stride) => `subgroupMatrixLoad<${sgType[kind]}, ${major}>(&${arr}, ${off}, ${stride})`,
      ST: (arr, off, val, stride) => `subgroupMatrixStore<row_major>(&${arr}, ${off}, ${val}, ${stride})`,
      MMA: (a, b, acc) => `subgroupMatrixMultiplyAccumulate(${a}, ${b}, ${acc})`,
      ZERO: `${sgType.result}()`,
      SHX: (x, m) => `subgroupShuffleXor(${x}, ${m}u)`,
      H: (x) => `f16(${x})`,
      U2H: (x) => `bitcast<vec2<f16>>(${x})`,
      half: 'f16',
      helpers: () => '',
    };
  return emulatedOps(c, dims);
}

/** Tile geometry: rows per workgroup BR, strides (f16 ones multiples of 8 elements, f32 ones of 4: 16 bytes). */
function geometry(c) {
  const { D, N, SG, BC, TM, TN, SGS } = c;
  const BR = SG * TM,
    W = Math.min(BC, D); // W: O columns per pass through the S scratch
  return { BR, NT: N / BC, NQB: N / BR, LPR: SGS / TM, KSTR: D + 8, PSTR: BC + 8, SSTR: BC + 4, W, TPR: W / TN };
}

/** The generated pieces of the kernel: Q loads, O tiles, S = Q·Kᵀ, P·V, K/V staging, lane loops. */
function snippets(c, ops) {
  const { D, BC, TM, TN, TK, SGS, WG, kvGlobal } = c;
  const { LD, ST, MMA, ZERO } = ops;
  const { LPR, KSTR, PSTR, SSTR, W, TPR } = geometry(c);
  const SC = ((1 / Math.sqrt(D)) * Math.LOG2E).toPrecision(9);
  const u = (x) => `${x}u`;
  const qLoads = [...Array(D / TK).keys()].map((kd) => `let qa${kd} = ${LD('left', 'q', 'row_major', `rowBase * ${u(D)} + ${u(kd * TK)}`, u(D))};`);
  const oVars = [...Array(D / TN).keys()].map((ob) => `var o${ob} = ${ZERO};`);
  const score = [];
  for (let jb = 0; jb < BC / TN; jb++) {
    score.push(`{`, `  var s = ${ZERO};`);
    for (let kd = 0; kd < D / TK; kd++) {
      const kT = kvGlobal
        ? LD('right', 'k', 'col_major', `kvRow + ${u(jb * TN * D + kd * TK)}`, u(D))
        : LD('right', 'kS', 'col_major', u(jb * TN * KSTR + kd * TK), u(KSTR));
      score.push(`  s = ${MMA(`qa${kd}`, kT, 's')};`);
    }
    score.push(`  ${ST('sS', `sOff + ${u(jb * TN)}`, 's', u(SSTR))};`, `}`);
  }
  const pv = [];
  for (let kk = 0; kk < BC / TK; kk++) {
    pv.push(`{`, `  let pl = ${LD('left', 'pS', 'row_major', `pOff + ${u(kk * TK)}`, u(PSTR))};`);
    for (let ob = 0; ob < D / TN; ob++) {
      const vr = kvGlobal
        ? LD('right', 'v', 'row_major', `kvRow + ${u(kk * TK * D + ob * TN)}`, u(D))
        : LD('right', 'vS', 'row_major', u(kk * TK * KSTR + ob * TN), u(KSTR));
      pv.push(`  o${ob} = ${MMA('pl', vr, `o${ob}`)};`);
    }
    pv.push(`}`);
  }
  // O through the S scratch, W columns at a time: store, barrier, `body` per element (rr, cc), barrier
  const throughScratch = (body, reload, indent) => {
    const out = [];
    for (let g = 0; g < D / W; g++) {
      if (g > 0 && reload) out.push('workgroupBarrier(); // the reloads above read what the stores below overwrite');
      for (let j = 0; j < TPR; j++) out.push(`${ST('sS', `sOff + ${u(j * TN)}`, `o${g * TPR + j}`, u(SSTR))};`);
      out.push('workgroupBarrier();');
      out.push(`for (var e = lane; e < ${u(TM * W)}; e += ${u(SGS)}) {`, `  let rr = e / ${u(W)}; let cc = e % ${u(W)};`, `  ${body(g * W)}`, `}`);
      if (reload || g < D / W - 1) out.push('workgroupBarrier();');
      if (reload) for (let j = 0; j < TPR; j++) out.push(`o${g * TPR + j} = ${LD('result', 'sS', 'row_major', `sOff + ${u(j * TN)}`, u(SSTR))};`);
    }
    return out.join(`\n${indent}`);
  };
  // K/V staging, four halves per invocation and step. stage=u32 (default): read as packed pairs
  // (vec2<u32>, each word bitcast to vec2<f16>: the library's and ORT's proven route); stage=vec4h: as
  // vec4<f16> (run 10's text: the only 16-bit vector loads from storage in this kernel, wrong on the H200)
  const halves = c.stage === 'vec4h' ? ['a.x', 'a.y', 'a.z', 'a.w'] : ['a01.x', 'a01.y', 'a23.x', 'a23.y'];
  const unpack = (x) => (c.stage === 'vec4h' ? '' : `let ${x}01 = ${ops.U2H(`${x}.x`)}; let ${x}23 = ${ops.U2H(`${x}.y`)};\n      `);
  const put = (arr, x) => halves.map((h, i) => `${arr}[w${i ? ` + ${u(i)}` : ''}] = ${h.replace('a', x)};`).join(' ');
  const stage = kvGlobal
    ? ''
    : `for (var e = li; e < ${u((BC * D) / 4)}; e += ${u(WG)}) {
      let j = e / ${u(D / 4)}; let c4 = (e % ${u(D / 4)}) * 4u;
      let a = k[kvRow / 4u + e]; let b = v[kvRow / 4u + e];
      ${unpack('a')}${unpack('b')}let w = j * ${u(KSTR)} + c4;
      ${put('kS', 'a')}
      ${put('vS', 'b')}
    }
    workgroupBarrier();`;
  const colLoop = (body) => `for (var i = 0u; i < ${u(BC / LPR)}; i++) {
      let c = part + i * ${u(LPR)};
      let x = sS[sOff + r * ${u(SSTR)} + c] * ${SC};
      ${body}
    }`;
  const lanesXor = (f) => [...Array(Math.log2(LPR)).keys()].map((i) => f(TM << i)).join('\n    ');
  return { qLoads, oVars, score, pv, throughScratch, stage, colLoop, lanesXor };
}

/** The kernel's WGSL for one shape and config (every size a constant). */
export function attentionWGSL(c) {
  const { D, N, SG, BC, TM, SGS, WG, causal, kvGlobal, outF16, tau } = c;
  const legacy = c.sync === 'legacy'; // the first H200 run's text: divergent branches right before matrix ops / shuffles
  const ops = matrixOps(c);
  const { SHX, H } = ops;
  const { BR, NT, NQB, KSTR, PSTR, SSTR } = geometry(c);
  const { qLoads, oVars, score, pv, throughScratch, stage, colLoop, lanesXor } = snippets(c, ops);
  const u = (x) => `${x}u`;
  // flag=vec4 (default): the flag takes 16 bytes, so every workgroup variable keeps a 16-byte multiple size
  // (docs/tensor-cores.md run 11: with a 4-byte u32 flag the H200's matrix loads from kS/vS read two halves
  // early, as from a base 4 bytes off 16-byte alignment); flag=u32 regenerates runs 9-11's text for the A/B
  const flag16 = c.flag !== 'u32';
  const F = flag16 ? 'flag.x' : 'flag';
  const flagDecl = `var<workgroup> flag: ${flag16 ? 'vec4<u32>' : 'u32'};${flag16 ? '                 ' : '                         '}// some row of the workgroup moved its max this tile${flag16 ? ' (.x)' : ''}`;
  const kvType = kvGlobal ? ops.half : c.stage === 'vec4h' ? `vec4<${ops.half}>` : 'vec2<u32>';
  const ids = c.emul
    ? `@builtin(local_invocation_index) li: u32) {\n  let sg = li / ${u(SGS)}; let lane = li % ${u(SGS)};`
    : '@builtin(local_invocation_index) li: u32,\n        @builtin(subgroup_id) sg: u32, @builtin(subgroup_invocation_id) lane: u32) {';
  const main = /* wgsl */ `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, ${ids}
  let head = wg.y;
  let q0 = (${u(NQB - 1)} - wg.x) * ${u(BR)}; // the longest causal blocks first
  let rowBase = head * ${u(N)} + q0 + sg * ${u(TM)};
  let r = lane % ${u(TM)}; let part = lane / ${u(TM)}; // this lane's row and its share of columns
  let qi = q0 + sg * ${u(TM)} + r;
  let sOff = sg * ${u(TM * SSTR)}; let pOff = sg * ${u(TM * PSTR)};
  ${qLoads.join('\n  ')}
  ${oVars.join('\n  ')}
  var m = -1.0e30; var l = 0.0;${legacy ? `\n  if (li == 0u) { ${F} = 0u; }` : ''}
  let nT = ${causal ? `min(${u(NT)}, (q0 + ${u(BR + BC - 1)}) / ${u(BC)})` : u(NT)};
  for (var t = 0u; t < nT; t++) {
    let k0 = t * ${u(BC)};
    let kvRow = (head * ${u(N)} + k0) * ${u(D)};
    ${legacy ? 'workgroupBarrier();' : `if (li == 0u) { ${F} = 0u; } // here: the last tile's flag reads are done (workgroupUniformLoad)\n    workgroupBarrier(); // and lane 0 rejoins its subgroup before any matrix op`}
    ${stage}
    ${score.join('\n    ')}
    workgroupBarrier();
    var mt = -1.0e30;
    ${colLoop(!causal ? 'mt = max(mt, x);' : legacy ? 'if (k0 + c <= qi) { mt = max(mt, x); }' : 'mt = select(mt, max(mt, x), k0 + c <= qi);')}
    ${lanesXor((s) => `mt = max(mt, ${SHX('mt', s)});`)}
    let grow = mt > m + ${tau.toFixed(1)};
    let mNew = select(m, mt, grow);
    let alpha = exp2(m - mNew);
    if (grow && m > -1.0e29) { ${F} = 1u; }
    if (part == 0u) { rowA[sg * ${u(TM)} + r] = alpha; }
    l = l * alpha;
    m = mNew;
    ${colLoop(`${legacy ? `var p = exp2(x - m);${causal ? '\n      if (k0 + c > qi) { p = 0.0; }' : ''}` : !causal ? 'let p = exp2(x - m);' : 'let p = select(exp2(x - m), 0.0, k0 + c > qi);'}
      let ph = ${H('p')};
      pS[pOff + r * ${u(PSTR)} + c] = ph;
      l = l + f32(ph);`)}
    let rescale = workgroupUniformLoad(&flag)${flag16 ? '.x' : ''}; // barrier, load, barrier: P, rowA and flag visible${legacy ? `\n    if (li == 0u) { ${F} = 0u; }` : ''}
    if (rescale != 0u) {
      ${throughScratch(() => `sS[sOff + rr * ${u(SSTR)} + cc] *= rowA[sg * ${u(TM)} + rr];`, true, '      ')}
    }
    ${pv.join('\n    ')}
  }
  ${lanesXor((s) => `l = l + ${SHX('l', s)};`)}
  if (part == 0u) { rowA[sg * ${u(TM)} + r] = select(0.0, 1.0 / l, l > 0.0); }
  workgroupBarrier();
  ${throughScratch(
    (c0) =>
      `outp[(rowBase + rr) * ${u(D)} + ${u(c0)} + cc] = ${outF16 ? H(`sS[sOff + rr * ${u(SSTR)} + cc] * rowA[sg * ${u(TM)} + rr]`) : `sS[sOff + rr * ${u(SSTR)} + cc] * rowA[sg * ${u(TM)} + rr]`};`,
    false,
    '  ',
  )}
}
`;
  // the declarations last: the emulation's helpers are known once the body is generated
  return /* wgsl */ `${c.emul ? '' : 'enable f16;\nenable subgroups;\nenable chromium_experimental_subgroup_matrix;\n'}
@group(0) @binding(0) var<storage, read> q: array<${ops.half}>;
@group(0) @binding(1) var<storage, read> k: array<${kvType}>;
@group(0) @binding(2) var<storage, read> v: array<${kvType}>;
@group(0) @binding(3) var<storage, read_write> outp: array<${outF16 && !c.emul ? 'f16' : 'f32'}>;
${kvGlobal ? '' : `var<workgroup> kS: array<${ops.half}, ${BC * KSTR}>;\nvar<workgroup> vS: array<${ops.half}, ${BC * KSTR}>;`}
var<workgroup> pS: array<${ops.half}, ${SG * TM * PSTR}>; // P, f16, per subgroup TM × BC
var<workgroup> sS: array<f32, ${SG * TM * SSTR}>;  // S (then O passes), f32, per subgroup TM × BC
var<workgroup> rowA: array<f32, ${BR}>;           // per row: the rescale factor, at the end 1 / l
${flagDecl}
${ops.helpers()}
${main}`;
}
