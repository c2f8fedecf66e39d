/*
 * attn.combine on the GPU: partial results (O_i, LSE_i) computed over disjoint key
 * sets merged into the exact result by the online softmax's rescaling,
 *
 *   LSE = log Σ_i exp(LSE_i),   O = Σ_i exp(LSE_i − LSE) · O_i
 *
 * as P − 1 pairwise merges (two parts → one) of one kernel, so any number of parts
 * binds six storage buffers at most; the running pair ping-pongs between two scratch
 * buffers and the last merge writes the outputs. Unlike the split-K combine
 * (combine.ts), whose parts are the fused kernel's own (log2 max, denominator) stats,
 * these parts are the caller's tensors in natural-log LSE form.
 *
 * A part whose LSE is −∞ saw no key of the row and weighs nothing (its O is not read);
 * a row no part saw gives O = 0, LSE = −∞; a NaN LSE makes the row NaN.
 */
import type { Caps } from './call.js';
import { paramStruct, type ParamLayout } from './params.js';
import { checkWholeBindings, padBytes, type BufferDecl, type Program, type Step } from './program.js';
import { declareBindings, MASKED, PARAMS_BINDING, type Binding, type KernelSpec } from './spec.js';
import { F32_ROWS, IS_NAN, rowType, type RowType } from './wgsl-common.js';
import { bytesOf, type DType } from '../tensor/half.js';

export const MERGE_PARAMS: ParamLayout = {
  fields: [
    ['rows', 'u32'],
    ['seq', 'u32'],
    ['heads', 'u32'],
    // O's strides in vec4 units (every part and the result share them)
    ['osb', 'u32'],
    ['osh', 'u32'],
    ['osn', 'u32'],
    // 0: one part only (b is not read; the merge copies a)
    ['hasB', 'u32'],
    ['negInf', 'f32'],
    ['nan', 'f32'],
  ],
};

/** How the merge's three O operands are stored: the running pair in f32 scratch, the caller's parts and result in their dtype. */
export interface MergeRows {
  readonly a: RowType;
  readonly b: RowType;
  readonly o: RowType;
}

/** The pairwise merge: one invocation per (row, vec4 column) of O. */
export function mergeKernel(headDim: number, rows: MergeRows = { a: F32_ROWS, b: F32_ROWS, o: F32_ROWS }): KernelSpec {
  const d4 = headDim / 4;
  const bindings: Binding[] = [
    PARAMS_BINDING,
    { name: 'oA', kind: 'read', type: rows.a.type },
    { name: 'lseA', kind: 'read', type: 'array<f32>' },
    { name: 'oB', kind: 'read', type: rows.b.type },
    { name: 'lseB', kind: 'read', type: 'array<f32>' },
    { name: 'o', kind: 'read_write', type: rows.o.type },
    { name: 'lse', kind: 'read_write', type: 'array<f32>' },
  ];
  const half = [rows.a, rows.b, rows.o].find((r) => r.helpers);
  const wgsl = /* wgsl */ `
${paramStruct('Params', MERGE_PARAMS)}
${declareBindings(bindings)}${
    half
      ? `
${half.helpers}`
      : ''
  }
${IS_NAN}
// −∞ tested on the bits, like NaN: a compiler may assume no infinities in float compares.
fn isNegInf(x: f32) -> bool { return bitcast<u32>(x) == 0xff800000u; }
fn isPosInf(x: f32) -> bool { return bitcast<u32>(x) == 0x7f800000u; }

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= params.rows * ${d4}u) { return; }
  let row = e / ${d4}u;
  let c = e % ${d4}u;
  let n = row % params.seq;
  let h = (row / params.seq) % params.heads;
  let b = row / (params.seq * params.heads);
  let at = b * params.osb + h * params.osh + n * params.osn + c;
  let la = lseA[row];
  let lb = select(params.negInf, lseB[row], params.hasB != 0u);
  if (isNan(la) || isNan(lb)) {
    o[at] = ${rows.o.store('vec4<f32>(params.nan)')};
    if (c == 0u) { lse[row] = params.nan; }
    return;
  }
  // A part with LSE +∞ makes the sum +∞ and leaves O undefined (∞/∞): said outright, not left to exp(∞ − ∞).
  if (isPosInf(la) || isPosInf(lb)) {
    o[at] = ${rows.o.store('vec4<f32>(params.nan)')};
    if (c == 0u) { lse[row] = -params.negInf; }
    return;
  }
  let seenA = !isNegInf(la);
  let seenB = !isNegInf(lb);
  if (!seenA && !seenB) {
    o[at] = ${rows.o.store('vec4<f32>(0.0)')};
    if (c == 0u) { lse[row] = params.negInf; }
    return;
  }
  // The larger LSE is the frame: both weights are at most 1, the larger exactly 1.
  let mx = max(select(${MASKED}, la, seenA), select(${MASKED}, lb, seenB));
  let wa = select(0.0, exp(la - mx), seenA);
  let wb = select(0.0, exp(lb - mx), seenB);
  let l = wa + wb;
  var acc = vec4<f32>(0.0);
  if (wa != 0.0) { acc += wa * ${rows.a.load('oA[at]')}; }
  if (wb != 0.0) { acc += wb * ${rows.b.load('oB[at]')}; }
  o[at] = ${rows.o.store('acc / l')};
  if (c == 0u) { lse[row] = mx + log(l); }
}
`;
  const f16 = half ? ` f16 ${[rows.a, rows.b, rows.o].map((r) => (r.helpers ? 'h' : 'f')).join('')}` : '';
  return { label: `attention.combine d${headDim}${f16}`, wgsl, workgroupSize: [64, 1, 1], bindings, workgroupBytes: 0 };
}

/** What a combine merges: `parts` partial results of one [B, H, N, D] shape, O with these element strides. */
export interface MergeProblem {
  readonly parts: number;
  readonly batch: number;
  readonly heads: number;
  readonly seq: number;
  readonly headDim: number;
  readonly strides: { readonly batch: number; readonly head: number; readonly seq: number };
  /** The parts' and the result's element type (the running merge stays f32). */
  readonly dtype: DType;
}

/**
 * The combine program: binds the caller's parts as 'o0', 'lse0', 'o1', 'lse1', …;
 * outputs 'out' (the parts' layout) and 'lse' ([B, H, N]).
 */
export function mergeProgram(m: MergeProblem, caps: Caps): Program {
  const rows = m.batch * m.heads * m.seq;
  const outBytes = rows * m.headDim * bytesOf(m.dtype);
  const accBytes = rows * m.headDim * 4;
  const lseBytes = rows * 4;
  const given = rowType(m.dtype === 'f16');
  checkWholeBindings(caps.maxBindingBytes, 'attn.combine', { out: outBytes });
  const buffers: Record<string, BufferDecl> = {
    out: { role: 'output', bytes: outBytes, label: 'attention.combine out' },
    lse: { role: 'output', bytes: lseBytes, label: 'attention.combine lse' },
  };
  // The running merge of parts 0..i ping-pongs between two scratch pairs (a buffer is
  // never read and written by one dispatch); three parts need one pair, four or more two.
  for (let s = 0; s < Math.min(2, m.parts - 2); s++) {
    buffers[`accO${s}`] = { role: 'scratch', bytes: padBytes(accBytes), label: 'attention.combine running O' };
    buffers[`accLse${s}`] = { role: 'scratch', bytes: padBytes(lseBytes), label: 'attention.combine running LSE' };
  }
  const groups = Math.ceil((rows * m.headDim) / 4 / 64);
  const wgx = Math.min(groups, 65535);
  const grid = [wgx, Math.ceil(groups / wgx), 1] as const;
  const values = {
    rows,
    seq: m.seq,
    heads: m.heads,
    osb: m.strides.batch / 4,
    osh: m.strides.head / 4,
    osn: m.strides.seq / 4,
    hasB: m.parts > 1 ? 1 : 0,
    negInf: -Infinity,
    nan: NaN,
  };
  const steps: Step[] = [];
  const merges = Math.max(1, m.parts - 1);
  for (let i = 1; i <= merges; i++) {
    const [oA, lseA] = i === 1 ? ['o0', 'lse0'] : [`accO${(i - 2) % 2}`, `accLse${(i - 2) % 2}`];
    const [oB, lseB] = m.parts > 1 ? [`o${i}`, `lse${i}`] : [oA, lseA];
    const [o, lse] = i === merges ? ['out', 'lse'] : [`accO${(i - 1) % 2}`, `accLse${(i - 1) % 2}`];
    const spec = mergeKernel(m.headDim, { a: i === 1 ? given : F32_ROWS, b: given, o: i === merges ? given : F32_ROWS });
    steps.push({ spec, params: MERGE_PARAMS, values, buffers: { oA, lseA, oB, lseB, o, lse }, grid });
  }
  const label = steps[0]!.spec.label;
  return { buffers, steps, labels: [merges > 1 ? `${label} ×${merges} merges` : label] };
}
