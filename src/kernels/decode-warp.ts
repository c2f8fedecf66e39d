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
 *       memory, in the log2 frame), summed over the 4 lanes by halving, so that each lane
 *       keeps half the rows of one of the two keys (decode-warp-softmax.ts);
 *   P:  P = exp2(S − max) of the scores a lane keeps, against the running max, which moves
 *       (the sums rescaled) only when a chunk's scores rise 8 above it: one vote a chunk otherwise;
 *   PV: lane c loads column c of the chunk's V rows (one coalesced row per load) and takes
 *       each key's P by shuffle from the lane that keeps it, added by fma straight into the
 *       running sums.
 *
 * f16 K and V are read 16 bytes a lane (wideK, wideV): a lane's quarter of a K row in 4 loads,
 * and V two rows a load, lanes 0–15 summing the chunk's even keys and 16–31 its odd ones over 8
 * columns each (halves added after the walk). Half the load instructions and half the P
 * shuffles: 4–6% faster on the H200 (docs/PERF.md "16-byte loads").
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
import { KEPT_LETS, keptRows, keptScores, keyLane, probabilities, pSource, rowTotal, scores } from './decode-warp-softmax.js';
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
 * against more softmax steps per key. The score halving (decode-warp-softmax.ts) takes 2 for granted:
 * each lane pair of a group keeps one slot.
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
  /**
   * f16 K and V read 16 bytes a lane (the bound K and V start on 16-byte boundaries): a
   * K load instruction takes 8 keys × 64 bytes, a V one two rows, and a lane sums 8 columns
   * of O (lanes 0–15 the chunk's even keys, 16–31 its odd ones, added at the end).
   */
  readonly wideK?: boolean;
  readonly wideV?: boolean;
}

/** Workgroup bytes: Q rows, and each subgroup's max, sum and P·V of every row for the merge. */
export function warpWorkgroupBytes(cfg: WarpConfig): number {
  const rows = cfg.pack * cfg.seqQ;
  return rows * WARP * 16 + cfg.subgroups * rows * (8 + WARP * 16);
}

/** Wide V (WarpConfig.wideV): a lane's half of the subgroup and its 16-byte unit of a V row. */
const WIDE_V_LETS = `
  let odd = lane / 16u; // this lane's keys of a chunk: the even ones (0) or the odd ones (1)
  let col16 = lane % 16u; // its 16-byte unit of a V row: O's vec4 columns 2 col16 and 2 col16 + 1`;

/** The subgroup decode kernel's module (see the top comment). Uses FORWARD_PARAMS; writes one split-K part per workgroup. */
export function warpDecodeKernel(cfg: WarpConfig): KernelSpec {
  const g = decodeGen({ ...cfg, headDim: 4 * WARP, threads: cfg.subgroups * WARP, lanes: 4, keysAhead: SLOTS, roundRows: 1 });
  const { io, each } = g;
  const R = cfg.pack * cfg.seqQ;
  const paged = cfg.pageSize !== undefined;
  const wide = (name: string) => (name === 'k' && cfg.wideK) || (name === 'v' && cfg.wideV);
  const bindings = decodeBindings(cfg).map((b) => (wide(b.name) ? { ...b, type: 'array<vec4<u32>>' } : b));
  const A = sums(cfg);
  const noMax = `array<f32, ${keptRows(R)}>(${each(keptRows(R), () => 'MASKED', ', ')})`;
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
  let g = lane / 4u;${KEPT_LETS}${cfg.wideV ? WIDE_V_LETS : ''}
  let lo = (wg.x * W + sg) * params.rangeKeys;
  var hi = min(lo + params.rangeKeys, ${paged ? 'kLen' : 'params.seqK'});
${cfg.causal ? `  hi = u32(clamp(${g.causalRow(cfg.seqQ - 1)} + 1, i32(lo), i32(max(hi, lo))));\n` : ''}  var m = ${noMax}; // each row's running max, the same in every lane
  var ls = array<f32, ${keptScores(R)}>(); // the running sums of this lane's rows over its keys
${
  cfg.wideV
    ? `  var accA = array<vec4<f32>, ${R}>(); // its running P·V, columns 2c and 2c + 1 (c = lane % 16) of the even keys (lanes 0–15) or the odd ones
  var accB = array<vec4<f32>, ${R}>();`
    : `  var acc = array<vec4<f32>, ${R}>(); // its running P·V, column \`lane\``
}
${walk(g, cfg, R, false)}
  // A key whose P is 0 must add nothing even where its V is inf or NaN (0 · inf is NaN):
  // where any running sum came out non-finite, the range is walked again with that guard.
  if (subgroupAny(${each(R, (r) => A.map((a) => `!finite4(${a}[${r}])`).join(' || '), ' || ')})) {
${each(R, (r) => `    ${A.map((a) => `${a}[${r}] = vec4<f32>(0.0);`).join(' ')}`)}
    m = ${noMax};
    ls = array<f32, ${keptScores(R)}>();
${walk(g, cfg, R, true)}
  }

${merge(g, R, cfg.wideV === true)}
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
    cfg.wideK && 'k16',
    cfg.wideV && 'v16',
  ];
  return { label: label.filter(Boolean).join(' '), wgsl, workgroupSize: [cfg.subgroups * WARP, 1, 1], bindings, workgroupBytes: warpWorkgroupBytes(cfg) };
}

/**
 * K loads of the chunk: lane group g's keys g + 8u, each lane its quarter of the row, all before
 * any is used; `wide`: in 16-byte units (a lane's quarter in 4 loads, not 8).
 */
function keyLoads(g: DecodeGen, wide: boolean): string {
  const { each } = g;
  const n = wide ? 4 : 8;
  return `    var kr = array<${wide ? 'vec4<u32>' : g.io.reg}, ${SLOTS * n}>(); // an initializer: see ZEROED (decode-phases.ts)
${each(
  SLOTS,
  (u) => `    if (g + ${8 * u}u < n) {
      let kb = ${wide ? `(${g.rowBase('k', `base + g + ${8 * u}u`)}) / 2u` : g.rowBase('k', `base + g + ${8 * u}u`)};
${each(n, (c) => `      kr[${u * n + c}] = k[kb + lane4 + ${4 * c}u];`)}
    }`,
)}`;
}

/** The partial dots s[u · R + r] of the lane group's keys (slot u: key g + 8u) over this lane's quarter of each row. */
function dots(g: DecodeGen, R: number, wide: boolean): string {
  const { each } = g;
  // A wide load holds 8 columns: Q's vec4 columns 2w and 2w + 1 of its 16-byte unit w.
  const unit = wide
    ? (c: number) => `    {
${each(SLOTS, (u) => `      let ka${u} = unpackHalf4(kr[${u * 4 + c}].xy); let kb${u} = unpackHalf4(kr[${u * 4 + c}].zw);`)}
${each(R, (r) => `      { let qa = qs[${r * WARP}u + 2u * lane4 + ${8 * c}u]; let qb = qs[${r * WARP}u + 2u * lane4 + ${8 * c + 1}u];${each(SLOTS, (u) => ` s[${u * R + r}] += dot(qa, ka${u}) + dot(qb, kb${u});`, '')} }`)}
    }`
    : (c: number) => `    {
${each(SLOTS, (u) => `      let kv${u} = ${g.io.load(`kr[${u * 8 + c}]`)};`)}
${each(R, (r) => `      { let qv = qs[${r * WARP}u + lane4 + ${4 * c}u];${each(SLOTS, (u) => ` s[${u * R + r}] += dot(qv, kv${u});`, '')} }`)}
    }`;
  return each(wide ? 4 : 8, unit);
}

/** The running P·V arrays of a config: one vec4 column a lane, or two (wideV). */
function sums(cfg: WarpConfig): string[] {
  return cfg.wideV ? ['accA', 'accB'] : ['acc'];
}

/** The walk over this subgroup's keys [lo, hi) in chunks of CHUNK keys; `guarded`: see values(). */
function walk(g: DecodeGen, cfg: WarpConfig, R: number, guarded: boolean): string {
  return `  for (var base = lo; base < hi; base += ${CHUNK}u) {
    let n = min(hi - base, ${CHUNK}u);
${keyLoads(g, cfg.wideK === true)}
${scores(g, R, dots(g, R, cfg.wideK === true))}
${probabilities(g, R, sums(cfg))}
${cfg.wideV ? wideValues(g, R, guarded) : values(g, R, guarded)}
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
${each(R, (r) => {
  const src = pSource(R, { lane: keyLane(j) }, r);
  return `      { let p = subgroupShuffle(sc[${src.index}], ${src.lane}); ${add(r)} }`;
})}
    }`,
)}`;
}

/**
 * P·V with 16-byte V loads: load j takes rows 2j (lanes 0–15) and 2j + 1 (lanes 16–31), 8
 * columns a lane, so one shuffle brings each half its own key's P. Keys past the chunk's end
 * hold V = 0 and P = 0 (their scores are masked) and add 0; `guarded` as values().
 */
function wideValues(g: DecodeGen, R: number, guarded: boolean): string {
  const { each } = g;
  const add = (a: string, r: number, x: string) =>
    guarded ? `${a}[${r}] += select(vec4<f32>(0.0), p * ${x}, p != 0.0);` : `${a}[${r}] = fma(vec4<f32>(p), ${x}, ${a}[${r}]);`;
  return `    var vr = array<vec4<u32>, ${CHUNK / 2}>();
${each(CHUNK / 2, (j) => `    if (${2 * j}u + odd < n) { vr[${j}] = v[(${g.rowBase('v', `base + ${2 * j}u + odd`)}) / 2u + col16]; }`)}
${each(
  CHUNK / 2,
  (j) => `    if (${2 * j}u < n) {
      let va = unpackHalf4(vr[${j}].xy); let vb = unpackHalf4(vr[${j}].zw);
${each(R, (r) => {
  const src = pSource(R, { lane: `${keyLane(2 * j)} + 4u * odd` }, r);
  return `      { let p = subgroupShuffle(sc[${src.index}], ${src.lane}); ${add('accA', r, 'va')} ${add('accB', r, 'vb')} }`;
})}
    }`,
)}`;
}

/** The W subgroups' (max, sum, P·V) merged in workgroup memory into the workgroup's part (normalised O, and the row's max and sum). */
function merge(g: DecodeGen, R: number, wide: boolean): string {
  const { cfg, each } = g;
  const keep = (r: number) =>
    wide
      ? `  { let a = accA[${r}] + subgroupShuffleXor(accA[${r}], 16u); let b2 = accB[${r}] + subgroupShuffleXor(accB[${r}], 16u);
    if (odd == 0u) { ma[(sg * R + ${r}u) * D4 + 2u * col16] = a; ma[(sg * R + ${r}u) * D4 + 2u * col16 + 1u] = b2; } }`
      : `  ma[(sg * R + ${r}u) * D4 + lane] = acc[${r}];`;
  return `  // Each lane group's sums were over its own keys: the subgroup's are their total${wide ? ', and each half of the subgroup summed its own keys' : ''}.
${each(
  R,
  (r) => `  { let total = ${rowTotal(R, r)}; if (lane == 0u) { mm[sg * R + ${r}u] = m[${r}]; ml[sg * R + ${r}u] = total; } }
${keep(r)}`,
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
