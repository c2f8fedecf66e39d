/*
 * Split-K combine: a forward call whose rows are too few to fill the GPU runs its
 * keys in S ranges, each a fused dispatch writing a normalised partial O_s and the
 * row's running max m_s (log2 frame) and denominator l_s; this kernel merges them per
 * row exactly as one pass over all keys would have:
 *
 *   M = max_s m_s,  L = Σ_s l_s·2^(m_s − M)   (+ 2^(sink − M) with learned sinks)
 *   O = Σ_s O_s · l_s·2^(m_s − M) / L,  LSE = M·ln 2 + ln L
 *
 * A range that saw no key of a row has l_s = 0 and weighs nothing; a row no range
 * saw stays O = 0, LSE = −∞; a NaN partial makes the row NaN, as unsplit.
 *
 * A call too large to bind at once runs in chunks (split.ts), each with its own parts:
 * one combine per chunk covers its block of batches × heads × rows, with O, LSE and the
 * parts indexed from the chunk's bound ranges (qOff, lseOff), as the fused kernel wrote them.
 */
import { paramStruct, type ParamLayout } from './params.js';
import { AUX_BINDING, IS_NAN, LSE_OF } from './forward.js';
import { declareBindings, MASKED, PARAMS_BINDING, type Binding, type KernelSpec } from './spec.js';
import { rowType } from './wgsl-common.js';

export const COMBINE_PARAMS: ParamLayout = {
  fields: [
    ['rows', 'u32'],
    ['seqQ', 'u32'],
    ['headsQ', 'u32'],
    ['splits', 'u32'],
    // The chunk: its first batch, head and row, and its heads and rows per batch (its rows: `rows`)
    ['b0', 'u32'],
    ['h0', 'u32'],
    ['n0', 'u32'],
    ['chunkHeads', 'u32'],
    ['chunkRows', 'u32'],
    // Where the chunk's bound ranges start: O and its parts in vec4 units, LSE and the stats in rows
    ['qOff', 'u32'],
    ['lseOff', 'u32'],
    // q's strides in vec4 units (O and its parts share them); one part's size in vec4 / floats
    ['qsb', 'u32'],
    ['qsh', 'u32'],
    ['qsn', 'u32'],
    ['partVec4', 'u32'],
    ['partStats', 'u32'],
    ['negInf', 'f32'],
    ['nan', 'f32'],
  ],
};

/** One invocation per (row, vec4 column); `sinkOffset`: where the sink logits sit in `aux`; `half`: O is f16. */
export function combineKernel(headDim: number, sinkOffset?: number, half = false): KernelSpec {
  const d4 = headDim / 4;
  const out = rowType(half);
  const bindings: Binding[] = [
    PARAMS_BINDING,
    { name: 'oParts', kind: 'read', type: 'array<vec4<f32>>' },
    { name: 'stats', kind: 'read', type: 'array<f32>' },
    { name: 'o', kind: 'read_write', type: out.type },
    { name: 'lse', kind: 'read_write', type: 'array<f32>' },
    ...(sinkOffset === undefined ? [] : [AUX_BINDING]),
  ];
  const sink = sinkOffset !== undefined;
  const wgsl = /* wgsl */ `
${paramStruct('Params', COMBINE_PARAMS)}
${declareBindings(bindings)}${
    out.helpers &&
    `
${out.helpers}`
  }
${IS_NAN}
${LSE_OF}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= params.rows * ${d4}u) { return; }
  let local = e / ${d4}u; // the chunk's row
  let c = e % ${d4}u;
  let n = params.n0 + local % params.chunkRows;
  let h = params.h0 + (local / params.chunkRows) % params.chunkHeads;
  let b = params.b0 + local / (params.chunkRows * params.chunkHeads);
  let row = (b * params.headsQ + h) * params.seqQ + n - params.lseOff;
  let at = b * params.qsb + h * params.qsh + n * params.qsn + c - params.qOff;
  var mx = ${MASKED};
  var nan = false;
  for (var s = 0u; s < params.splits; s++) {
    let st = s * params.partStats + 2u * row;
    nan = nan || isNan(stats[st + 1u]);
    mx = max(mx, stats[st]);
  }
${
  sink
    ? `  let sinkLogit = aux[${sinkOffset}u + h];
  let sink = sinkLogit * ${Math.LOG2E};
  mx = max(mx, sink);`
    : ''
}
  var l = ${sink ? 'exp2(sink - mx)' : '0.0'};
  var acc = vec4<f32>(0.0);
  for (var s = 0u; s < params.splits; s++) {
    let st = s * params.partStats + 2u * row;
    let w = stats[st + 1u] * exp2(stats[st] - mx);
    l += w;
    if (w != 0.0) { acc += w * oParts[s * params.partVec4 + at]; }
  }
  if (nan) {
    o[at] = ${out.store('vec4<f32>(params.nan)')};
    if (c == 0u) { lse[row] = params.nan; }
    return;
  }
  o[at] = ${out.store('select(vec4<f32>(0.0), acc / l, l > 0.0)')};
  // As in the fused kernel: a sink that is the row's frame gives LSE from its logit directly.
  if (c == 0u) { lse[row] = select(params.negInf, ${sink ? 'select(lseOf(mx, l), sinkLogit + log(l), mx == sink)' : 'lseOf(mx, l)'}, l > 0.0); }
}
`;
  return {
    label: `attention.forward.combine d${headDim}${half ? ' f16' : ''}${sink ? ' sinks' : ''}`,
    wgsl,
    workgroupSize: [64, 1, 1],
    bindings,
    workgroupBytes: 0,
  };
}
