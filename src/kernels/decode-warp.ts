/*
 * The subgroup decode kernel: the decode kernel's job (few query rows per K/V head over
 * many keys) with subgroups that never wait for each other. The barriers of decode.ts
 * keep a workgroup's warps in step (all load, then all compute), so memory idles while
 * they compute; here each subgroup of 32 lanes walks its own key range in chunks of 16
 * keys, with the online softmax in registers, and the only barrier comes after the loop,
 * where the workgroup's W subgroups merge their (max, sum, P·V) into one split-K part.
 * Subgroups of exactly 32 lanes, D = 128 (a lane owns one vec4 column of O).
 *
 *   S:  lane group g (4 lanes) takes keys g and g + 8 of the chunk, each lane a
 *       quarter of the row (neighbouring lanes neighbouring bytes); dots with Q (workgroup
 *       memory, in the log2 frame), summed by two XOR shuffles;
 *   P:  P = exp2(S − max) against the running max, which moves (by three XOR shuffles, the
 *       sums rescaled) only when a chunk's scores rise 8 above it: one vote a chunk otherwise;
 *   PV: lane c loads column c of the chunk's V rows (one coalesced row per load) and takes
 *       each key's P by shuffle, added by fma straight into the running sums.
 *
 * Causal masking, position tables, paged K/V and f16 storage as decode.ts; sinks join in
 * the combine. A key whose P is 0 adds nothing even where its V is inf or NaN: where a
 * subgroup's sums come out non-finite, it walks its range again with that guard (values()).
 * A guard in the walk itself (a second set of sums per chunk, or the running sums parked in
 * workgroup memory) cost 20–35% on the H200 (docs/PERF.md).
 */
import type { DecodeConfig } from './decode-config.js';
import { decodeBindings, FINITE4 } from './decode.js';
import { decodeGen, queryRows, type DecodeGen } from './decode-phases.js';
import { FORWARD_PARAMS } from './forward-config.js';
import { pagedLets, pagedScope } from './paged.js';
import { paramStruct } from './params.js';
import { declareBindings, MASKED, type KernelSpec } from './spec.js';
import { IS_NAN, positionLets } from './wgsl-common.js';

/** Lanes of a subgroup, and vec4 columns of a row (D = 128). */
export const WARP = 32;
/**
 * Keys each lane group of the S phase takes per chunk (8 groups of 4 lanes). 2 (16-key chunks)
 * ran 2–3% faster than 4 on the H200 and 1 ran 25% slower (docs/PERF.md): fewer registers
 * against more softmax steps per key.
 */
const SLOTS = 2;
/** Keys of a chunk. */
const CHUNK = 8 * SLOTS;
/**
 * How far (log2 units) a chunk's scores may rise above the running max before the max moves and
 * the sums are rescaled: below it, P = exp2(S − max) ≤ 2^8 and nothing is rescaled, and one
 * subgroup vote replaces the max's shuffles on the chunk's critical path (FlashAttention-4's lazy
 * rescaling). Exact either way: every term uses the same max. The cost is headroom: the
 * running sums may grow 2^8 larger than with an eager max, so f32 V near 1e35 could overflow
 * where the barrier decode kernel would not (f16 V, at most 65504, cannot).
 */
const LAZY_RESCALE = '8.0';

/** A subgroup decode pipeline: the decode config's rows and variant, and its subgroups per workgroup. */
export interface WarpConfig extends Pick<DecodeConfig, 'seqQ' | 'pack' | 'causal' | 'half' | 'positionsAt' | 'pageSize'> {
  readonly subgroups: number;
}

/** Workgroup bytes: Q rows, and each subgroup's max, sum and P·V of every row for the merge. */
export function warpWorkgroupBytes(cfg: WarpConfig): number {
  const rows = cfg.pack * cfg.seqQ;
  return rows * WARP * 16 + cfg.subgroups * rows * (8 + WARP * 16);
}

/** The subgroup decode kernel's module (see the top comment). Uses FORWARD_PARAMS; writes one split-K part per workgroup. */
export function warpDecodeKernel(cfg: WarpConfig): KernelSpec {
  const g = decodeGen({ ...cfg, headDim: 4 * WARP, threads: cfg.subgroups * WARP, lanes: 4, keysAhead: SLOTS, roundRows: 1 });
  const { io, each } = g;
  const R = cfg.pack * cfg.seqQ;
  const paged = cfg.pageSize !== undefined;
  const bindings = decodeBindings(cfg);
  const wgsl = /* wgsl */ `enable subgroups;
diagnostic(off, subgroup_uniformity);
${paramStruct('Params', FORWARD_PARAMS)}

const D4 = ${WARP}u;
const R = ${R}u;
const W = ${cfg.subgroups}u;
const MASKED = ${MASKED};
const LAZY = ${LAZY_RESCALE};

${declareBindings(bindings)}
${io.helpers}
${IS_NAN}
${FINITE4}
// The max over the subgroup of a value its lane groups of 4 already agree on: 3 shuffles, not 5.
fn groupsMax(x: f32) -> f32 {
  var y = max(x, subgroupShuffleXor(x, 4u));
  y = max(y, subgroupShuffleXor(y, 8u));
  return max(y, subgroupShuffleXor(y, 16u));
}
${paged ? pagedScope(cfg.pageSize!) : ''}

var<workgroup> qs: array<vec4<f32>, ${R * WARP}>;
var<workgroup> mm: array<f32, ${cfg.subgroups * R}>;
var<workgroup> ml: array<f32, ${cfg.subgroups * R}>;
var<workgroup> ma: array<vec4<f32>, ${cfg.subgroups * R * WARP}>;

@compute @workgroup_size(${cfg.subgroups * WARP}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let hk = wg.y;
  let b = wg.z + params.batchBase;
${positionLets(cfg.positionsAt, 'b')}${paged ? pagedLets('b') : ''}
  // Q rows (every head of the group) to workgroup memory, scaled into the log2 frame.
${queryRows(g, `W * ${WARP}u`)}
  workgroupBarrier();

  // This subgroup's keys [lo, hi): fewer past the sequence's end${cfg.causal ? ' and past the last row under causal masking' : ''}.
  let sg = t / ${WARP}u;
  let lane = t % ${WARP}u;
  let lane4 = lane % 4u;
  let g = lane / 4u;
  let lo = (wg.x * W + sg) * params.rangeKeys;
  var hi = min(lo + params.rangeKeys, ${paged ? 'kLen' : 'params.seqK'});
${cfg.causal ? `  hi = u32(clamp(${g.causalRow(cfg.seqQ - 1)} + 1, i32(lo), i32(max(hi, lo))));\n` : ''}  var m = array<f32, ${R}>(${each(R, () => 'MASKED', ', ')}); // each row's running max, the same in every lane
  var ls = array<f32, ${R}>(); // its running sum over this lane group's keys
  var acc = array<vec4<f32>, ${R}>(); // its running P·V, column \`lane\`
${walk(g, R, false)}
  // A key whose P is 0 must add nothing even where its V is inf or NaN (0 · inf is NaN):
  // where any running sum came out non-finite, the range is walked again with that guard.
  if (subgroupAny(${each(R, (r) => `!finite4(acc[${r}])`, ' || ')})) {
${each(R, (r) => `    m[${r}] = MASKED; ls[${r}] = 0.0; acc[${r}] = vec4<f32>(0.0);`)}
${walk(g, R, true)}
  }

${merge(g, R)}
}
`;
  const label = [
    'attention.decode-sg',
    'd128',
    cfg.half && 'f16',
    cfg.causal && 'causal',
    cfg.positionsAt !== undefined && 'positions',
    paged && `paged${cfg.pageSize}`,
    `r${R}`,
    `w${cfg.subgroups}`,
  ];
  return { label: label.filter(Boolean).join(' '), wgsl, workgroupSize: [cfg.subgroups * WARP, 1, 1], bindings, workgroupBytes: warpWorkgroupBytes(cfg) };
}

/** K loads of the chunk: lane group g's keys g + 8u, each lane its quarter of the row, all before any is used. */
function keyLoads(g: DecodeGen): string {
  const { each } = g;
  return `    var kr = array<${g.io.reg}, ${SLOTS * 8}>(); // an initializer: see ZEROED (decode-phases.ts)
${each(
  SLOTS,
  (u) => `    if (g + ${8 * u}u < n) {
      let kb = ${g.rowBase('k', `base + g + ${8 * u}u`)};
${each(8, (c) => `      kr[${u * 8 + c}] = k[kb + lane4 + ${4 * c}u];`)}
    }`,
)}`;
}

/** Scores s[u · R + r] of the lane group's keys, summed over its 4 lanes; masked keys MASKED, and each row's max over the subgroup. */
function scores(g: DecodeGen, R: number): string {
  const { each, cfg } = g;
  const masked = (u: number, r: number) => {
    const past = `g + ${8 * u}u >= n`;
    return cfg.causal && r % cfg.seqQ < cfg.seqQ - 1 ? `${past} || i32(base + g + ${8 * u}u) > ${g.causalRow(r)}` : past;
  };
  return `    var s = array<f32, ${SLOTS * R}>();
${each(
  8,
  (c) => `    {
${each(SLOTS, (u) => `      let kv${u} = ${g.io.load(`kr[${u * 8 + c}]`)};`)}
${each(R, (r) => `      { let qv = qs[${r * WARP}u + lane4 + ${4 * c}u];${each(SLOTS, (u) => ` s[${u * R + r}] += dot(qv, kv${u});`, '')} }`)}
    }`,
)}
    var mx = array<f32, ${R}>(${each(R, () => 'MASKED', ', ')});
${each(SLOTS, (u) =>
  each(
    R,
    (r) => `    { var x = s[${u * R + r}]; x += subgroupShuffleXor(x, 1u); x += subgroupShuffleXor(x, 2u);
      s[${u * R + r}] = select(x, MASKED, ${masked(u, r)}); mx[${r}] = max(mx[${r}], s[${u * R + r}]); }`,
  ),
)}`;
}

/**
 * The chunk's P in place of its scores, P = exp2(S − max), masked keys 0 and NaN scores NaN.
 * Where any row's chunk max passed the running max by LAZY_RESCALE, the max moves first (to the
 * subgroup's, by groupsMax) and the running sums are rescaled to it (a factor that underflowed to
 * 0 drops them whole, inf or not).
 */
function probabilities(g: DecodeGen, R: number): string {
  const { each } = g;
  return `    if (subgroupAny(${each(R, (r) => `mx[${r}] > m[${r}] + LAZY`, ' || ')})) {
${each(
  R,
  (r) => `      let max${r} = max(m[${r}], groupsMax(mx[${r}]));
      let alpha${r} = exp2(m[${r}] - max${r});
      m[${r}] = max${r};
      ls[${r}] *= alpha${r};
      acc[${r}] = select(vec4<f32>(0.0), acc[${r}] * alpha${r}, alpha${r} != 0.0);`,
)}
    }
${each(
  R,
  (
    r,
  ) => `${each(SLOTS, (u) => `    s[${u * R + r}] = select(select(0.0, exp2(s[${u * R + r}] - m[${r}]), s[${u * R + r}] > MASKED), params.nan, isNan(s[${u * R + r}]));`)}
    ls[${r}] += ${each(SLOTS, (u) => `s[${u * R + r}]`, ' + ')};`,
)}`;
}

/** The walk over this subgroup's keys [lo, hi) in chunks of CHUNK keys; `guarded`: see values(). */
function walk(g: DecodeGen, R: number, guarded: boolean): string {
  return `  for (var base = lo; base < hi; base += ${CHUNK}u) {
    let n = min(hi - base, ${CHUNK}u);
${keyLoads(g)}
${scores(g, R)}
${probabilities(g, R)}
${values(g, R, guarded)}
  }`;
}

/**
 * The chunk's P·V added into the running sums, key by key, each key's P from its lane group
 * by shuffle: by plain fma, or `guarded`, with a key whose P is 0 adding nothing even where
 * its V is inf or NaN. (The corner every online softmax has: a factor that is tiny but not 0
 * keeps an inf that an earlier key's P · inf put there, where P computed against the final
 * max would have underflowed to 0 and added nothing; decode.ts, with one max per range,
 * does not have it.)
 */
function values(g: DecodeGen, R: number, guarded: boolean): string {
  const { each, io } = g;
  const add = (r: number) => (guarded ? `acc[${r}] += select(vec4<f32>(0.0), p * vv, p != 0.0);` : `acc[${r}] = fma(vec4<f32>(p), vv, acc[${r}]);`);
  return `    var vr = array<${io.reg}, ${CHUNK}>();
${each(CHUNK, (j) => `    if (${j}u < n) { vr[${j}] = v[${g.rowBase('v', `base + ${j}u`)} + lane]; }`)}
${each(
  CHUNK,
  (j) => `    if (${j}u < n) {
      let vv = ${io.load(`vr[${j}]`)};
${each(R, (r) => `      { let p = subgroupShuffle(s[${Math.floor(j / 8) * R + r}], ${(j % 8) * 4}u); ${add(r)} }`)}
    }`,
)}`;
}

/** The W subgroups' (max, sum, P·V) merged in workgroup memory into the workgroup's part (normalised O, and the row's max and sum). */
function merge(g: DecodeGen, R: number): string {
  const { cfg, each } = g;
  return `  // Each lane group's sums were over its own keys: the subgroup's are their total.
${each(
  R,
  (r) => `  { let total = subgroupAdd(select(0.0, ls[${r}], lane4 == 0u)); if (lane == 0u) { mm[sg * R + ${r}u] = m[${r}]; ml[sg * R + ${r}u] = total; } }
  ma[(sg * R + ${r}u) * D4 + lane] = acc[${r}];`,
)}
  workgroupBarrier();
  for (var e = t; e < R * D4; e += W * ${WARP}u) {
    let r = e / D4;
    let col = e % D4;
    var mx = MASKED;
    for (var w = 0u; w < W; w++) { mx = max(mx, mm[w * R + r]); }
    var total = 0.0;
    var sum = vec4<f32>(0.0);
    for (var w = 0u; w < W; w++) {
      // A subgroup that saw no key (sum 0) adds nothing, whatever its P·V.
      let f = select(0.0, exp2(mm[w * R + r] - mx), ml[w * R + r] != 0.0);
      total += f * ml[w * R + r];
      sum += select(vec4<f32>(0.0), f * ma[(w * R + r) * D4 + col], f != 0.0);
    }
    let hr = hk * ${cfg.pack}u + r / ${cfg.seqQ}u;
    let i = r % ${cfg.seqQ}u;
    o[wg.x * params.oPart + b * params.qsb + hr * params.qsh + i * params.qsn + col - params.qOff] = sum * select(0.0, 1.0 / total, total > 0.0 || isNan(total));
    if (col == 0u) {
      let at = wg.x * params.statPart + 2u * ((b * params.headsQ + hr) * params.seqQ + i);
      lse[at] = mx;
      lse[at + 1u] = total;
    }
  }`;
}
