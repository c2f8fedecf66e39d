/*
 * The tensor-core backward: f16 gradients with every product on the matrix units (WGSL
 * subgroup matrices, matrix-ops.ts), the f32 softmax terms between them in the lanes.
 * Two passes, as the fused backward (backward.ts), each one workgroup of SG subgroups ×
 * 16 "outer" rows of one (batch, head), walking 16-row "inner" tiles staged as f16 in
 * workgroup memory:
 *
 *   dq    outer Q, dO rows (held as left matrices), inner K, V tiles:
 *           S = Q·Kᵀ, dP = dO·Vᵀ;  dS = P∘(dP − Δ) with P = exp(S − LSE);  dQ += dS·K
 *   dkdv  outer K, V rows, inner Q, dO tiles of every query head of the GQA group:
 *           Sᵀ = K·Qᵀ, dPᵀ = V·dOᵀ;  Pᵀ, dSᵀ as above;  dV += Pᵀ·dO, dK += dSᵀ·Q
 *
 * So each pass is the same loop: two products A·Bᵀ of a held operand and the staged tile
 * (through f32 scratch to the lanes), the lanes' P and dS written as f16, then one or two
 * products X·B into f32 accumulators. dQ and dK get the softmax scale at the end, in f32.
 *
 * As in the forward (matrix.ts): a subgroup whose 16 outer rows would pass the last one
 * takes the last 16 instead (a matrix load must not cross the end of its buffer), so two
 * subgroups may compute the same rows, identically, and write them twice; inner rows past
 * the end are staged as zeros and masked; every workgroup variable is a 16-byte multiple.
 * Non-finite inputs: a product of a masked pair's 0 with an inf or NaN staged element would
 * make its whole row NaN on the matrix units, where the reference leaves the pair out. So
 * a tile with such an element (flagged while staging) has it replaced by 0 once S and dP
 * are computed (which need it): the pairs that see it already carry NaN through P or dP.
 */
import { BACKWARD_PARAMS } from './backward-shared.js';
import { emulatedMatrixOps, subgroupMatrixOps, type MatrixOps, type MatrixShape } from './matrix-ops.js';
import { halvesOf, seq, subgroupIds, u } from './matrix-pieces.js';
import { paramStruct, type ParamLayout } from './params.js';
import { declareBindings, PARAMS_BINDING, type Binding, type KernelSpec } from './spec.js';
import { blockOrder, F16_ROWS } from './wgsl-common.js';

export type MatrixBackwardPass = 'dq' | 'dkdv';

/** What one tensor-core backward pipeline is built for. */
export interface MatrixBackwardConfig {
  readonly headDim: number;
  readonly causal: boolean;
  /** Subgroups per workgroup (SG): the workgroup holds SG · 16 outer rows. */
  readonly subgroups: number;
  readonly shape: MatrixShape;
  readonly subgroupSize: number;
  readonly emulate?: boolean;
}

/** The backward's uniforms and a NaN (the emulation's loads past the end read it). */
export const MATRIX_BACKWARD_PARAMS: ParamLayout = { fields: [...BACKWARD_PARAMS.fields, ['nan', 'f32']] };

/** Rows of an inner tile and of a subgroup's outer block (the 16×16×16 matrices' side). */
const T = 16;

/** Sizes that follow from a config (strides in elements, 16-byte multiples). */
export function matrixBackwardSizes(cfg: MatrixBackwardConfig) {
  return { outer: cfg.subgroups * T, KSTR: cfg.headDim + 8, SSTR: T + 4, PSTR: T + 8, threads: cfg.subgroups * cfg.subgroupSize };
}

/** Why `cfg` cannot build, or undefined. */
export function matrixBackwardProblem(cfg: MatrixBackwardConfig): string | undefined {
  const { m, n, k } = cfg.shape;
  if (m !== T || n !== T || k !== T) return `matrix shape ${m}×${n}×${k} (the backward takes 16×16×16)`;
  if (cfg.headDim % T !== 0) return `head dim ${cfg.headDim} is not a multiple of 16`;
  if (cfg.subgroupSize !== 32) return `subgroups of ${cfg.subgroupSize} lanes (the backward takes 32)`;
  return undefined;
}

/** Workgroup bytes of a pass (with the emulation's scratch where it is emulated). */
export function matrixBackwardBytes(cfg: MatrixBackwardConfig, pass: MatrixBackwardPass): number {
  const { KSTR, SSTR, PSTR, threads } = matrixBackwardSizes(cfg);
  const e = cfg.emulate ? 4 : 2;
  const halves = pass === 'dkdv' ? 2 : 1; // P and dS, or dS
  const emulation = cfg.emulate ? 4 * (cfg.subgroups * 2 * T * T + threads) : 0;
  return 2 * T * KSTR * e + 2 * cfg.subgroups * T * SSTR * 4 + halves * cfg.subgroups * T * PSTR * e + (pass === 'dkdv' ? T * 16 : 0) + 16 + emulation;
}

/** Names of one pass: its held (outer) and staged (inner) operands, and its gradients. */
const ROLES = {
  dq: { x: 'q', y: 'dout', inX: 'k', inY: 'v', outRows: 'seqQ', inRows: 'seqK', grads: ['dq'] },
  dkdv: { x: 'k', y: 'v', inX: 'q', inY: 'dout', outRows: 'seqK', inRows: 'seqQ', grads: ['dk', 'dv'] },
} as const;

/** The pass's kernel (see the top comment). Binds MATRIX_BACKWARD_PARAMS, q, k, v, dout, lse, dd, then its gradients. */
export function matrixBackwardKernel(cfg: MatrixBackwardConfig, pass: MatrixBackwardPass): KernelSpec {
  const problem = matrixBackwardProblem(cfg);
  if (problem) throw new Error(`matrixBackwardKernel: ${problem}`);
  const role = ROLES[pass];
  const ops = cfg.emulate ? emulatedMatrixOps(cfg.shape, cfg.subgroups, [role.x, role.y]) : subgroupMatrixOps(cfg.shape);
  const storage = (name: string): Binding => ({ name, kind: 'read', type: name === role.x || name === role.y ? ops.qType : F16_ROWS.type });
  const bindings: Binding[] = [
    PARAMS_BINDING,
    ...['q', 'k', 'v', 'dout'].map(storage),
    { name: 'lse', kind: 'read', type: 'array<f32>' },
    { name: 'dd', kind: 'read', type: 'array<f32>' },
    ...role.grads.map((name): Binding => ({ name, kind: 'read_write', type: F16_ROWS.type })),
  ];
  const { KSTR, SSTR, PSTR, outer } = matrixBackwardSizes(cfg);
  const body = mainText(cfg, ops, pass);
  const wgsl = /* wgsl */ `${ops.enables}
${paramStruct('Params', MATRIX_BACKWARD_PARAMS)}
${declareBindings(bindings)}
${F16_ROWS.helpers}

// An LSE as the exponent term of its row, log2 units: a row that saw no key (−∞, told by its
// bits: a compare may be folded as if NaN did not exist) gives P = 0, a NaN row NaN.
fn rowTerm(l: f32) -> f32 { return select(l * ${Math.LOG2E}, 3.0e38, bitcast<u32>(l) == 0xff800000u); }
// Whether the halves of a packed pair are all finite.
fn finitePair(w: vec2<u32>) -> bool { return all((w & vec2<u32>(0x7c00u)) != vec2<u32>(0x7c00u)) && all((w & vec2<u32>(0x7c000000u)) != vec2<u32>(0x7c000000u)); }
var<workgroup> xS: array<${ops.elem}, ${T * KSTR}>;  // the inner tile's first operand (K or Q), f16
var<workgroup> yS: array<${ops.elem}, ${T * KSTR}>;  // its second (V or dO)
var<workgroup> sS: array<f32, ${outer * SSTR}>;      // S per subgroup (then the gradients on their way out)
var<workgroup> dpS: array<f32, ${outer * SSTR}>;     // dP per subgroup
var<workgroup> dsS: array<${ops.elem}, ${outer * PSTR}>; // dS, f16${pass === 'dkdv' ? `\nvar<workgroup> pS: array<${ops.elem}, ${outer * PSTR}>;  // P, f16\nvar<workgroup> stat: array<vec4<f32>, ${T}>; // per inner row: its exponent term, Δ` : ''}
var<workgroup> flag: vec4<u32>;                      // .x: the staged tile has an inf or NaN
${ops.helpers()}
${body}`;
  const label = ['attention.backward.matrix', pass, `d${cfg.headDim}`, 'f16', cfg.causal && 'causal', `sg${cfg.subgroups}`, cfg.emulate && 'emulated'];
  const threads = cfg.subgroups * cfg.subgroupSize;
  return { label: label.filter(Boolean).join(' '), wgsl, workgroupSize: [threads, 1, 1], bindings, workgroupBytes: matrixBackwardBytes(cfg, pass) };
}

/** The entry point's text. */
function mainText(cfg: MatrixBackwardConfig, ops: MatrixOps, pass: MatrixBackwardPass): string {
  const D = cfg.headDim;
  const role = ROLES[pass];
  const dq = pass === 'dq';
  const { outer, KSTR, SSTR, PSTR, threads } = matrixBackwardSizes(cfg);
  const chunks = seq(D / T);
  const held = (name: string, prefix: string) =>
    chunks.map(
      (kd) =>
        `let ${prefix}${kd} = ${ops.load('left', name, 'row_major', `(${base(name)} + row0 * params.${st(name)}sn) * 4u + ${u(kd * T)}`, `params.${st(name)}sn * 4u`)};`,
    );
  const acc = dq ? ['gq'] : ['gk', 'gv'];
  const product = (left: string, into: string, tile: string) => [
    `{ let a = ${ops.load('left', left, 'row_major', 'pOff', u(PSTR))};`,
    ...chunks.map((ob) => `  ${into}${ob} = ${ops.mma('a', ops.load('right', tile, 'row_major', u(ob * T), u(KSTR)), `${into}${ob}`)};`),
    '}',
  ];
  const scores = (a: string, tile: string, scratch: string) => [
    `{ var s = ${ops.zero};`,
    ...chunks.map((kd) => `  s = ${ops.mma(`${a}${kd}`, ops.load('right', tile, 'col_major', u(kd * T), u(KSTR)), 's')};`),
    `  ${ops.store(scratch, 'sOff', 's', u(SSTR))};`,
    '}',
  ];
  // A pair (outer row r of the subgroup, inner column c) the reference counts.
  const visible = dq
    ? `k0 + c < params.seqK${cfg.causal ? ' && i32(k0 + c) <= i32(row0 + r) + params.causalOffset' : ''}`
    : `k0 + c < params.seqQ${cfg.causal ? ' && i32(row0 + r) <= i32(k0 + c) + params.causalOffset' : ''}`;
  // The lanes' terms: row r of the subgroup's block, columns part, part + 2, …
  const term = dq ? 'myTerm' : 'stat[c].x';
  const delta = dq ? 'myDelta' : 'stat[c].y';
  const writeP = dq ? '' : `\n      pS[pOff + r * ${u(PSTR)} + c] = ${ops.half('p')};`;
  // NaN and inf by their exponent bits: compilers may fold float compares as if NaN did not exist (wgsl-common.ts IS_NAN).
  const finite = (arr: string) => `${arr}[e] = select(${ops.elem}(), ${arr}[e], (bitcast<u32>(f32(${arr}[e])) & 0x7f800000u) != 0x7f800000u);`;
  const loop = dq
    ? `${
        cfg.causal
          ? `  // The keys some row of the workgroup sees (key j ≤ row + causalOffset).
  let lastKey = i32(min(q0 + ${u(outer - 1)}, params.seqQ - 1u)) + params.causalOffset;
  let nK = select(0u, min(params.seqK, u32(lastKey) + 1u), lastKey >= 0);`
          : '  let nK = params.seqK;'
      }
  for (var k0 = 0u; k0 < nK; k0 += ${u(T)}) {`
    : `  let first = ${cfg.causal ? `u32(max(0, i32(qLow) - params.causalOffset)) / ${u(T)} * ${u(T)}` : '0u'};
  for (var hh = 0u; hh < params.groupSize; hh++) {
  let h = hk * params.groupSize + hh;
  for (var k0 = first; k0 < params.seqQ; k0 += ${u(T)}) {`;
  return /* wgsl */ `@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, ${subgroupIds(cfg.emulate)}
  // Causal: the longest blocks first (the last rows of Q, the first keys).
  ${blockOrder(cfg.causal, dq ? 'last' : 'first')}
  let b = g.z;
  ${dq ? 'let h = g.y; let hk = h / params.groupSize;' : 'let hk = g.y;'}
  let q0 = g.x * ${u(outer)}; // the workgroup's first outer row
  // The subgroup's 16 rows, moved back to end at the last row where they would pass it (why: kernels/matrix.ts).
  let row0 = min(q0 + sg * ${u(T)}, params.${role.outRows} - ${u(T)});
  let qLow = min(q0, params.${role.outRows} - ${u(T)});
  let r = lane % ${u(T)}; let part = lane / ${u(T)}; // this lane's row and its share of the columns
  let sOff = sg * ${u(T * SSTR)}; let pOff = sg * ${u(T * PSTR)};
  ${held(role.x, 'xa').join('\n  ')}
  ${held(role.y, 'ya').join('\n  ')}
  ${acc.flatMap((g) => chunks.map((ob) => `var ${g}${ob} = ${ops.zero};`)).join('\n  ')}${
    dq
      ? `
  let myRow = (b * params.headsQ + h) * params.seqQ + row0 + r;
  let myTerm = rowTerm(lse[myRow]); let myDelta = dd[myRow];`
      : ''
  }
${loop}
    workgroupBarrier(); // every subgroup is done with the last tile before it is overwritten
${stagingText(cfg, pass)}
    workgroupBarrier();
    ${scores('xa', 'xS', 'sS').join('\n    ')}
    ${scores('ya', 'yS', 'dpS').join('\n    ')}
    workgroupBarrier();
    for (var i = 0u; i < ${u(T / 2)}; i++) {
      let c = part + i * 2u;
      let at = sOff + r * ${u(SSTR)} + c;
      let p = select(0.0, exp2(sS[at] * params.qkScale - ${term}), ${visible});
      let ds = select(0.0, p * (dpS[at] - ${delta}), bitcast<u32>(p) != 0u); // a masked pair's dP may be inf; a NaN p stays NaN${writeP}
      dsS[pOff + r * ${u(PSTR)} + c] = ${ops.half('ds')};
    }
    if (flag.x != 0u) { // S and dP are done: the tile's inf and NaN become 0 for the products below
      for (var e = li; e < ${u(T * KSTR)}; e += ${u(threads)}) { ${finite('xS')} ${finite('yS')} }
    }
    workgroupBarrier();
    if (li == 0u) { flag.x = 0u; }
    ${dq ? product('dsS', 'gq', 'xS').join('\n    ') : [...product('pS', 'gv', 'yS'), ...product('dsS', 'gk', 'xS')].join('\n    ')}
  }${dq ? '' : '\n  }'}
  ${writesText(cfg, ops, pass)}
}
`;
}

// Strides (vec4 units) of a tensor by name: dout and dq share q's, dk k's, dv v's; its head index.
const st = (name: string) => ({ q: 'q', dout: 'q', dq: 'q', k: 'k', dk: 'k', v: 'v', dv: 'v' })[name];
const head = (name: string) => (st(name) === 'q' ? 'h' : 'hk');
/** The first vec4 row of (b, head) in tensor `name`. */
const base = (name: string) => `(b * params.${st(name)}sb + ${head(name)} * params.${st(name)}sh)`;

/** The inner tile's staging: each invocation's vec4 slots of both operands as f16 (rows past the end zeros), and the dK/dV pass's row terms. */
function stagingText(cfg: MatrixBackwardConfig, pass: MatrixBackwardPass): string {
  const D = cfg.headDim;
  const role = ROLES[pass];
  const { threads, KSTR } = matrixBackwardSizes(cfg);
  const slots = Math.ceil((T * D) / 4 / threads);
  const total = (T * D) / 4;
  const halves = (x: string) => halvesOf(cfg.emulate, x);
  const stage = seq(slots).map((i) => {
    const e = (i + 1) * threads <= total ? `li + ${u(i * threads)}` : `min(li + ${u(i * threads)}, ${u(total - 1)})`;
    return `    {
      let e = ${e}; let j = e / ${u(D / 4)}; let c4 = e % ${u(D / 4)};
      let ok = k0 + j < params.${role.inRows};
      let row = select(params.${role.inRows} - 1u, k0 + j, ok); // a row inside the tensor, its value dropped past the end
      let xw = select(vec2<u32>(), ${role.inX}[${base(role.inX)} + row * params.${st(role.inX)}sn + c4], ok);
      let yw = select(vec2<u32>(), ${role.inY}[${base(role.inY)} + row * params.${st(role.inY)}sn + c4], ok);
      if (!(finitePair(xw) && finitePair(yw))) { flag.x = 1u; }
      let xh = ${halves('xw')}; let yh = ${halves('yw')};
      let w = j * ${u(KSTR)} + c4 * 4u;
      xS[w] = xh.x; xS[w + 1u] = xh.y; xS[w + 2u] = xh.z; xS[w + 3u] = xh.w;
      yS[w] = yh.x; yS[w + 1u] = yh.y; yS[w + 2u] = yh.z; yS[w + 3u] = yh.w;
    }`;
  });
  const stats =
    pass === 'dq'
      ? ''
      : `
    if (li < ${u(T)}) {
      let ok = k0 + li < params.seqQ;
      let at = (b * params.headsQ + h) * params.seqQ + select(0u, k0 + li, ok);
      stat[li] = vec4<f32>(select(3.0e38, rowTerm(lse[at]), ok), select(0.0, dd[at], ok), 0.0, 0.0);
    }`;
  return `${stage.join('\n')}${stats}`;
}

/** The gradients out of their result matrices: through the S scratch, scaled, packed to f16. */
function writesText(cfg: MatrixBackwardConfig, ops: MatrixOps, pass: MatrixBackwardPass): string {
  const { SSTR } = matrixBackwardSizes(cfg);
  const dq = pass === 'dq';
  const chunks = seq(cfg.headDim / T);
  const writes = (
    dq
      ? [['gq', 'dq', 'params.scale']]
      : [
          ['gk', 'dk', 'params.scale'],
          ['gv', 'dv', '1.0'],
        ]
  ).flatMap(([g, out, factor]) =>
    chunks.flatMap((ob) => [
      `${ops.store('sS', 'sOff', `${g}${ob}`, u(SSTR))};`,
      'workgroupBarrier();',
      `for (var e = lane; e < ${u((T * T) / 4)}; e += ${u(cfg.subgroupSize)}) {`,
      `  let rr = e / 4u; let c4 = e % 4u; let at = sOff + rr * ${u(SSTR)} + c4 * 4u;`,
      `  ${out}[${base(out!)} + (row0 + rr) * params.${st(out!)}sn + ${u(ob * 4)} + c4] = packHalf4(vec4<f32>(sS[at], sS[at + 1u], sS[at + 2u], sS[at + 3u]) * ${factor});`,
      '}',
      'workgroupBarrier();',
    ]),
  );
  return writes.join('\n  ');
}
