/*
 * Split-K combine: a forward call whose rows are too few to fill the GPU runs its
 * keys in S ranges, each a fused dispatch writing a normalised partial O_s and the
 * row's running max m_s (log2 frame) and denominator l_s; this kernel merges them per
 * row exactly as one pass over all keys would have:
 *
 *   M = max_s m_s,  L = Σ_s l_s·2^(m_s − M)   (+ 2^(sink − M) with learned sinks)
 *   O = Σ_s O_s · l_s·2^(m_s − M) / L,  LSE = M·ln 2 + ln L
 *
 * in one pass, as the online softmax does: each split lane keeps its own running
 * (m, l, acc) and rescales l and acc by 2^(m − m') when a part raises its max to m';
 * the lanes then meet pairwise in workgroup memory with the same rescaling. Each trip
 * of a lane issues the loads of UNROLL parts together, so a row of S parts costs about
 * S / (lanes·UNROLL) memory latencies, not twice that as a max pass and a sum pass would.
 *
 * A row with many parts (decoding over a long cache: 512 parts at 128k keys) is spread
 * over several workgroups, each taking a block of its vec4 columns with more split lanes
 * (combineColumns, chosen on the host); every block recomputes the row's max and
 * denominator from the stats (2 floats a part) and the first block writes LSE.
 *
 * A range that saw no key of a row has l_s = 0 and weighs nothing (its max is not
 * taken either); a row no range saw stays O = 0, LSE = −∞; a NaN partial makes the row
 * NaN, as unsplit.
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
    // Vec4 columns of a row each workgroup takes (a divisor of D/4; D/4: one workgroup per row)
    ['cols', 'u32'],
    ['negInf', 'f32'],
    ['nan', 'f32'],
  ],
};

/** Invocations of a combine workgroup at most: SPLIT_LANES × D/4 of them at one workgroup per row. */
const COMBINE_THREADS = 256;
/** Parts each invocation reads per loop trip (their loads issued together). */
const UNROLL = 4;
/** Fewest vec4 columns a workgroup takes: 32 contiguous bytes of each part's row, a whole memory sector. */
const MIN_COLS = 2;
/** Workgroups of one combine past which a row's columns are not split further (enough to fill a large GPU). */
export const COMBINE_TARGET_WORKGROUPS = 1024;

/** Split lanes of a combine workgroup for head dim `headDim` within `maxThreads` invocations (split lane, vec4 column). */
export function combineLanes(headDim: number, maxThreads = COMBINE_THREADS): number {
  return Math.max(1, Math.floor(Math.min(COMBINE_THREADS, maxThreads) / (headDim / 4)));
}

/**
 * Vec4 columns each workgroup of a combine takes (the `cols` param): all D/4 of a row
 * (one workgroup per row) unless the row's `splits` parts take its split lanes more than
 * one loop trip; then halved, doubling the workgroups per row and the lanes of each (a
 * workgroup has `threads` invocations), while the trips exceed one, the columns stay
 * ≥ MIN_COLS and the `rows` × workgroups per row stay within COMBINE_TARGET_WORKGROUPS.
 */
export function combineColumns(headDim: number, threads: number, splits: number, rows: number): number {
  const d4 = headDim / 4;
  const trips = (cols: number) => Math.ceil(splits / ((threads / cols) * UNROLL));
  let cols = d4;
  while (cols % 2 === 0 && cols / 2 >= MIN_COLS && trips(cols) > 1 && rows * (d4 / (cols / 2)) <= COMBINE_TARGET_WORKGROUPS) cols /= 2;
  return cols;
}

/**
 * A workgroup per row, or per block of `params.cols` vec4 columns of a row: invocation
 * (j, c) merges parts j, j + SG, … (UNROLL at a time) for column c into its running
 * (m, l, acc), and the SG lanes meet in a tree. `sinkOffset`: where the sink logits sit
 * in `aux`; `half`: O is f16; `maxThreads`: the device's invocations per workgroup
 * (compatibility-mode devices allow 128).
 */
export function combineKernel(headDim: number, sinkOffset?: number, half = false, maxThreads = COMBINE_THREADS): KernelSpec {
  const d4 = headDim / 4;
  const threads = combineLanes(headDim, maxThreads) * d4;
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

const D4 = ${d4}u;
const THREADS = ${threads}u;
// A lane's partial sums (per column), and its (m, l) and NaN flag (per lane), for the tree.
var<workgroup> sums: array<vec4<f32>, THREADS>;
var<workgroup> frames: array<vec2<f32>, THREADS>;
var<workgroup> nans: array<u32, THREADS>;

@compute @workgroup_size(THREADS, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let blocks = D4 / params.cols; // workgroups per row
  let flat = wg.x + wg.y * nwg.x;
  let local = flat / blocks; // the chunk's row (the whole workgroup's)
  if (local >= params.rows) { return; }
  let sg = THREADS / params.cols; // split lanes
  let c = (flat % blocks) * params.cols + t % params.cols;
  let j = t / params.cols;
  let n = params.n0 + local % params.chunkRows;
  let h = params.h0 + (local / params.chunkRows) % params.chunkHeads;
  let b = params.b0 + local / (params.chunkRows * params.chunkHeads);
  let row = (b * params.headsQ + h) * params.seqQ + n - params.lseOff;
  let at = b * params.qsb + h * params.qsh + n * params.qsn + c - params.qOff;
  let last = params.splits - 1u;

  // This lane's parts in one pass, each trip rescaled once to the trip's max.
  var m = ${MASKED};
  var l = 0.0;
  var acc = vec4<f32>(0.0);
  var nan = false;
  for (var s0 = j; s0 < params.splits; s0 += ${UNROLL}u * sg) {
${lanePass()}
  }

  // The lanes meet pairwise: lane j takes lane j + step's (m, l, acc), rescaled to their joint max.
  sums[t] = acc;
  if (t % params.cols == 0u) {
    frames[j] = vec2<f32>(m, l);
    nans[j] = select(0u, 1u, nan);
  }
  for (var step = 1u << firstLeadingBit(max(sg - 1u, 1u)); step > 0u; step >>= 1u) {
    workgroupBarrier();
    if (j < step && j + step < sg) {
      let f = frames[j + step];
      let mt = max(m, f.x);
      let a = exp2(m - mt);
      let e = exp2(f.x - mt);
      l = l * a + f.y * e;
      acc = acc * a + sums[t + step * params.cols] * e;
      m = mt;
      nan = nan || nans[j + step] != 0u;
      sums[t] = acc;
      if (t % params.cols == 0u) {
        frames[j] = vec2<f32>(m, l);
        nans[j] = select(0u, 1u, nan);
      }
    }
  }
  if (j != 0u) { return; }
${
  sink
    ? `  // The sink joins the denominator (not O), in the row's frame.
  let sinkLogit = aux[${sinkOffset}u + h];
  let sink = sinkLogit * ${Math.LOG2E};
  let mt = max(m, sink);
  let a = exp2(m - mt);
  l = l * a + exp2(sink - mt);
  acc *= a;
  m = mt;
`
    : ''
}  if (nan) {
    o[at] = ${out.store('vec4<f32>(params.nan)')};
    if (c == 0u) { lse[row] = params.nan; }
    return;
  }
  o[at] = ${out.store('select(vec4<f32>(0.0), acc / l, l > 0.0)')};
  // As in the fused kernel: a sink that is the row's frame gives LSE from its logit directly.
  if (c == 0u) { lse[row] = select(params.negInf, ${sink ? 'select(lseOf(m, l), sinkLogit + log(l), m == sink)' : 'lseOf(m, l)'}, l > 0.0); }
}
`;
  return {
    label: `attention.forward.combine d${headDim}${half ? ' f16' : ''}${sink ? ' sinks' : ''}`,
    wgsl,
    workgroupSize: [threads, 1, 1],
    bindings,
    workgroupBytes: threads * (16 + 8 + 4),
  };
}

/**
 * One trip of a lane's pass: parts p_u = s0 + u·SG (u < UNROLL; clamped to a real part, whose
 * weight is then 0, so the loads need no branch and are all in flight together), the
 * running (m, l, acc) rescaled once to the trip's max. A part that saw no key (l_s = 0,
 * its max a masked value) neither weighs nor moves the max; a NaN max or denominator
 * flags the row.
 */
function lanePass(): string {
  const each = (f: (u: number) => string, sep = '\n') => Array.from({ length: UNROLL }, (_, u) => f(u)).join(sep);
  return /* wgsl */ `${each(
    (u) => `    let p${u} = min(s0 + ${u}u * sg, last);
    let st${u} = p${u} * params.partStats + 2u * row;
    let m${u} = stats[st${u}];
    let l${u} = stats[st${u} + 1u];
    let o${u} = oParts[p${u} * params.partVec4 + at];
    let live${u} = s0 + ${u}u * sg < params.splits && l${u} > 0.0;
    nan = nan || isNan(m${u}) || isNan(l${u});`,
  )}
    var mt = m;
${each((u) => `    mt = max(mt, select(m, m${u}, live${u}));`)}
    let a = exp2(m - mt);
${each((u) => `    let w${u} = select(0.0, l${u} * exp2(m${u} - mt), live${u});`)}
    l = l * a + ${each((u) => `w${u}`, ' + ')};
    acc = acc * a + ${each((u) => `select(vec4<f32>(0.0), w${u} * o${u}, live${u})`, ' + ')};
    m = mt;`;
}
