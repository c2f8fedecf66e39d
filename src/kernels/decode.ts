/*
 * The decode kernel: attention for calls with few query rows per K/V head (decoding,
 * speculative and chunked steps) over many keys, where the fused kernel's 4-row tiles
 * leave it waiting on memory. Its job is to keep many K and V loads in flight: a range
 * of keys per workgroup, small enough that the workgroup loads all of it at once.
 *
 *   one workgroup per (key range, K/V head, batch entry); its R rows are the query
 *   rows of every head of the GQA group (R = group × Nq), so K and V are read once;
 *   K:   groups of L lanes take keys g, g + G, … (G = T / L groups, KA keys each); a
 *        lane loads its 1/L of each row straight from device memory (neighbouring lanes
 *        neighbouring bytes, so each load instruction reads whole 32-byte sectors), all
 *        KA rows before it uses one;
 *   S:   dots with Q (in workgroup memory, already in the log2 frame), summed over the
 *        L lanes by XOR shuffles; scores to workgroup memory key-major (a key's rows
 *        in vectors of up to 4, so P·V reads them in few loads), each row's max to a
 *        workgroup atomic (floats ordered as u32);
 *   V:   invocation (key group kg, vec4 column c) loads V rows kg, kg + KG, … (one
 *        coalesced row per subgroup), issued before the row maxima are known;
 *   P:   P = exp2(S − max) in place;
 *   PV:  each invocation adds P·V for its column over its keys (by fma, a second guarded
 *        pass where a V is inf or NaN), and the KG partial sums meet in workgroup
 *        memory, where invocation (row, column) adds them up.
 *
 * A range holds at most C = G · KA keys (its scores fit workgroup memory), so no online
 * rescaling is needed inside it: each range writes its normalised O and (max, sum) as a
 * split-K part, and the forward's combine (combine.ts) merges the ranges exactly. No
 * score or mask modifiers (those calls keep the fused kernel); causal masking and
 * position tables, paged K/V and f16 storage are supported. Sinks join in the combine.
 */
import { FORWARD_PARAMS, forwardBindings } from './forward-config.js';
import { paramStruct } from './params.js';
import { PAGES_BINDING, pagedLets, pagedScope } from './paged.js';
import { declareBindings, MASKED, type Binding, type KernelSpec } from './spec.js';
import { AUX_BINDING, F32_ROWS, IS_NAN, positionLets, rowType } from './wgsl-common.js';
import { decodeSizes, decodeWorkgroupBytes, type DecodeConfig } from './decode-config.js';
import { decodeGen, keyLoads, probabilities, queryRows, scores, valueLoads, values, writePart } from './decode-phases.js';

export { decodeSizes, decodeWorkgroupBytes, scoreVectors, type DecodeConfig, type DecodeTile } from './decode-config.js';

/** The decode kernel's module (see the top comment). Uses FORWARD_PARAMS; writes split-K parts. */
export function decodeKernel(cfg: DecodeConfig): KernelSpec {
  const { d4, rows, keys, keyGroups, width, vecs } = decodeSizes(cfg);
  const { lanes, threads, roundRows } = cfg;
  if (keyGroups < 1) throw new Error(`decodeKernel: ${threads} invocations cannot cover ${d4} vec4 columns`);
  if ((lanes & (lanes - 1)) !== 0) throw new Error(`decodeKernel: lanes per key must be a power of two, got ${lanes}`);
  if (rows % roundRows !== 0) throw new Error(`decodeKernel: roundRows ${roundRows} does not divide ${rows} rows`);
  if (rows > threads || roundRows * d4 > threads)
    throw new Error(`decodeKernel: ${threads} invocations cannot cover ${rows} rows, or ${roundRows} rows × ${d4} vec4 columns a round`);
  const g = decodeGen(cfg);
  const io = g.io;
  const paged = cfg.pageSize !== undefined;
  const bindings = decodeBindings(cfg);
  const wgsl = /* wgsl */ `${lanes > 1 ? 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n' : ''}
${paramStruct('Params', FORWARD_PARAMS)}

const D4 = ${d4}u;
const R = ${rows}u;
const T = ${threads}u;
const L = ${lanes}u;
const G = ${threads / lanes}u;
const C = ${keys}u;
const NV = ${vecs}u;
const KG = ${keyGroups}u;
const MASKED = ${MASKED};

${declareBindings(bindings)}
${io.helpers}
${IS_NAN}
${isNanV(width)}
${FINITE4}
${paged ? pagedScope(cfg.pageSize!) : ''}

// Floats ordered as u32, so a workgroup atomicMax finds each row's max.
fn orderedBits(x: f32) -> u32 {
  let u = bitcast<u32>(x);
  return select(u | 0x80000000u, ~u, (u & 0x80000000u) != 0u);
}
fn orderedFloat(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}

var<workgroup> qs: array<vec4<f32>, ${rows * d4}>;
var<workgroup> sc: array<${g.sv}, ${keys * vecs}>; // key-major: key j's rows at sc[j * NV] …
var<workgroup> meet: array<vec4<f32>, ${keyGroups * roundRows * d4}>;
var<workgroup> sums: array<f32, ${keyGroups * rows}>;
var<workgroup> rowMax: array<atomic<u32>, ${rows}>;

@compute @workgroup_size(${threads}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32${lanes > 1 ? ', @builtin(subgroup_invocation_id) sgLane: u32' : ''}) {
  let part = wg.x;
  let hk = wg.y;
  let b = wg.z + params.batchBase;
${positionLets(cfg.positionsAt, 'b')}${paged ? pagedLets('b') : ''}
  // This range's keys [lo, hi): fewer past the sequence's end${cfg.causal ? ' and past the last row under causal masking' : ''}.
  let lo = part * params.rangeKeys;
  var hi = min(lo + params.rangeKeys, ${paged ? 'kLen' : 'params.seqK'});
${cfg.causal ? `  hi = u32(clamp(${g.causalRow(cfg.seqQ - 1)} + 1, i32(lo), i32(max(hi, lo))));\n` : ''}  let n = select(0u, hi - lo, hi > lo);

${keyLoads(g)}

  // Q rows (every head of the group) to workgroup memory while the K rows arrive, scaled into the log2 frame.
${queryRows(g, 'T')}
  if (t < R) { atomicStore(&rowMax[t], orderedBits(MASKED)); }
  workgroupBarrier();

${scores(g)}

${valueLoads(g)}
  workgroupBarrier();

${probabilities(g)}
  workgroupBarrier();

${values(g)}

${writePart(g)}
}
`;
  const label = [
    'attention.decode',
    `d${cfg.headDim}`,
    cfg.half && 'f16',
    cfg.causal && 'causal',
    cfg.positionsAt !== undefined && 'positions',
    paged && `paged${cfg.pageSize}`,
    `r${rows}`,
    `c${keys}`,
    `l${lanes}`,
    `t${threads}`,
  ].filter(Boolean);
  return { label: label.join(' '), wgsl, workgroupSize: [threads, 1, 1], bindings, workgroupBytes: decodeWorkgroupBytes(cfg) };
}

/** The bindings of a decode kernel (this one and decode-warp.ts): the forward's, with the parts' O in f32, and the variant's tables. */
export function decodeBindings(cfg: Pick<DecodeConfig, 'half' | 'positionsAt' | 'pageSize'>): Binding[] {
  return [
    ...forwardBindings(rowType(cfg.half), F32_ROWS),
    ...(cfg.positionsAt !== undefined ? [AUX_BINDING] : []),
    ...(cfg.pageSize !== undefined ? [PAGES_BINDING] : []),
  ];
}

/** Whether every component of a vec4 is finite (by its bits: no compiler may assume it away). */
export const FINITE4 = /* wgsl */ `fn finite4(x: vec4<f32>) -> bool { return all((bitcast<vec4<u32>>(x) & vec4<u32>(0x7fffffffu)) < vec4<u32>(0x7f800000u)); }`;

/** isNan of a score vector of `width` rows (one bool per row). */
function isNanV(width: number): string {
  if (width === 1) return 'fn isNanV(x: f32) -> bool { return isNan(x); }';
  const u = `vec${width}<u32>`;
  return `fn isNanV(x: vec${width}<f32>) -> vec${width}<bool> { return (bitcast<${u}>(x) & ${u}(0x7fffffffu)) > ${u}(0x7f800000u); }`;
}
