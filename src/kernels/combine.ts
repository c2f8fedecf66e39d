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

/** Invocations of a combine workgroup at most: one workgroup per row, SPLIT_LANES × D/4 of them. */
const COMBINE_THREADS = 256;
/** Parts each invocation reads per loop trip (their loads issued together). */
const UNROLL = 4;

/** Split lanes of a combine workgroup for head dim `headDim` within `maxThreads` invocations (split lane, vec4 column). */
export function combineLanes(headDim: number, maxThreads = COMBINE_THREADS): number {
  return Math.max(1, Math.floor(Math.min(COMBINE_THREADS, maxThreads) / (headDim / 4)));
}

/**
 * One workgroup per row: invocation (j, c) reads parts j, j + SG, … (UNROLL at a time, so
 * their loads are in flight together rather than one latency per part) for vec4 column c,
 * and the SG lanes' maxima, then sums, meet in workgroup memory. `sinkOffset`: where the
 * sink logits sit in `aux`; `half`: O is f16; `maxThreads`: the device's invocations per
 * workgroup (compatibility-mode devices allow 128).
 */
export function combineKernel(headDim: number, sinkOffset?: number, half = false, maxThreads = COMBINE_THREADS): KernelSpec {
  const d4 = headDim / 4;
  const sg = combineLanes(headDim, maxThreads);
  const threads = sg * d4;
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
  const each = (f: (u: number) => string) => Array.from({ length: UNROLL }, (_, u) => f(u)).join('\n');
  // Part s0 + u·SG of this invocation, clamped to a real part (its weight is then 0), so its loads need no branch.
  const partAt = (u: number) => `    let s${u} = min(s0 + ${u * sg}u, last);\n    let st${u} = s${u} * params.partStats + 2u * row;`;
  const wgsl = /* wgsl */ `
${paramStruct('Params', COMBINE_PARAMS)}
${declareBindings(bindings)}${
    out.helpers &&
    `
${out.helpers}`
  }
${IS_NAN}
${LSE_OF}

const D4 = ${d4}u;
const SG = ${sg}u;
var<workgroup> sums: array<vec4<f32>, ${threads}>;
var<workgroup> lanes: array<f32, ${sg}>;
var<workgroup> nans: array<u32, ${sg}>;

@compute @workgroup_size(${threads}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let local = wg.x + wg.y * nwg.x; // the chunk's row (the whole workgroup's)
  if (local >= params.rows) { return; }
  let c = t % D4;
  let j = t / D4;
  let n = params.n0 + local % params.chunkRows;
  let h = params.h0 + (local / params.chunkRows) % params.chunkHeads;
  let b = params.b0 + local / (params.chunkRows * params.chunkHeads);
  let row = (b * params.headsQ + h) * params.seqQ + n - params.lseOff;
  let at = b * params.qsb + h * params.qsh + n * params.qsn + c - params.qOff;
  let last = params.splits - 1u;

  // The row's max over all parts (and whether any part is NaN).
  var mx = ${MASKED};
  var nan = false;
  for (var s0 = j; s0 < params.splits; s0 += ${UNROLL}u * SG) {
${each(
  (u) => `${partAt(u)}
    nan = nan || isNan(stats[st${u} + 1u]);
    mx = max(mx, stats[st${u}]);`,
)}
  }
  if (c == 0u) {
    lanes[j] = mx;
    nans[j] = select(0u, 1u, nan);
  }
  workgroupBarrier();
  for (var i = 0u; i < SG; i++) {
    mx = max(mx, lanes[i]);
    nan = nan || nans[i] != 0u;
  }
  workgroupBarrier(); // every lane has read \`lanes\` before it holds sums
${
  sink
    ? `  let sinkLogit = aux[${sinkOffset}u + h];
  let sink = sinkLogit * ${Math.LOG2E};
  mx = max(mx, sink);`
    : ''
}
  // This lane's parts, weighted into the row's frame.
  var l = 0.0;
  var acc = vec4<f32>(0.0);
  for (var s0 = j; s0 < params.splits; s0 += ${UNROLL}u * SG) {
${each(
  (u) => `${partAt(u)}
    let w${u} = select(0.0, stats[st${u} + 1u] * exp2(stats[st${u}] - mx), s0 + ${u * sg}u < params.splits);
    let o${u} = oParts[s${u} * params.partVec4 + at];
    l += w${u};
    if (w${u} != 0.0) { acc += w${u} * o${u}; }`,
)}
  }
  sums[t] = acc;
  if (c == 0u) { lanes[j] = l; }
  workgroupBarrier();
  if (j != 0u) { return; }
  l = ${sink ? 'exp2(sink - mx)' : '0.0'};
  acc = vec4<f32>(0.0);
  for (var i = 0u; i < SG; i++) {
    l += lanes[i];
    acc += sums[i * D4 + c];
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
    workgroupSize: [threads, 1, 1],
    bindings,
    workgroupBytes: threads * 16 + sg * 8,
  };
}
