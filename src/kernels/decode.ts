/*
 * The decode kernel: attention for calls with few query rows per K/V head (decoding,
 * speculative and chunked steps) over many keys, where the fused kernel's 4-row tiles
 * leave it waiting on memory. Its job is to keep many K and V loads in flight:
 *
 *   one workgroup per (key range, K/V head, batch entry); its R rows are the query
 *   rows of every head of the GQA group (R = group × Nq), so K and V are read once;
 *   S phase:  groups of L lanes each take keys j, j + G, … (G = T / L groups); a lane
 *             loads its 1/L of each key row straight from device memory (several keys
 *             ahead), dots it with Q (in workgroup memory, already in the log2 frame)
 *             and the L lanes sum by XOR shuffles; scores go to workgroup memory and
 *             each row's max to a workgroup atomic (floats ordered as u32);
 *   P phase:  P = exp2(S − max) in place;
 *   PV phase: invocation (key group kg, vec4 column c) adds P·V over keys kg, kg + KG, …
 *             (one coalesced row of V per subgroup per key), and the KG partial sums
 *             meet in workgroup memory.
 *
 * A range holds at most C keys (its scores fit workgroup memory), so no online
 * rescaling is needed inside it: each range writes its normalised O and (max, sum) as
 * a split-K part, and the forward's combine (combine.ts) merges the ranges exactly.
 * No score or mask modifiers (those calls keep the fused kernel); causal masking and
 * position tables, paged K/V and f16 storage are supported. Sinks join in the combine.
 */
import { FORWARD_PARAMS } from './forward-config.js';
import { paramStruct } from './params.js';
import { PAGES_BINDING, pagedLets, pagedScope } from './paged.js';
import { declareBindings, MASKED, PARAMS_BINDING, type Binding, type KernelSpec } from './spec.js';
import { AUX_BINDING, F32_ROWS, IS_NAN, positionLets, positionNames, rowType } from './wgsl-common.js';
import { shuffleReduce } from './codegen.js';

/** What one decode pipeline is built for. */
export interface DecodeConfig {
  readonly headDim: number;
  /** Query rows per head in the call (Nq). */
  readonly seqQ: number;
  /** Query heads per K/V head, stacked in the workgroup's rows (R = pack · seqQ). */
  readonly pack: number;
  readonly causal: boolean;
  /** f16 Q/K/V (packed pairs, f32 arithmetic). */
  readonly half: boolean;
  /** Invocations per workgroup (T). */
  readonly threads: number;
  /** Lanes per key in the S phase (L): a power of two within the subgroup, or 1 without subgroups. */
  readonly lanes: number;
  /** Keys a range holds at most (C): the score buffer's length per row. */
  readonly keys: number;
  /** Rows whose P·V sums meet in workgroup memory at once (divides R). */
  readonly roundRows: number;
  /** Where a position table sits in `aux` (mods/positions.ts), if the call has one. */
  readonly positionsAt?: number;
  /** Paged K/V (kernels/paged.ts): rows per page. */
  readonly pageSize?: number;
}

/** Sizes the kernel derives from its config. */
export function decodeSizes(cfg: DecodeConfig) {
  const d4 = cfg.headDim / 4;
  const rows = cfg.pack * cfg.seqQ;
  const units = Math.ceil(d4 / cfg.lanes); // vec4 units of a key row per lane
  const ahead = Math.max(1, Math.floor(16 / units)); // keys each lane loads before it computes
  const keyGroups = Math.floor(cfg.threads / d4); // PV phase
  return { d4, rows, units, ahead, keyGroups };
}

/** Workgroup bytes of a decode config: Q rows, scores, the P·V meeting place, row sums and maxima. */
export function decodeWorkgroupBytes(cfg: DecodeConfig): number {
  const { d4, rows, keyGroups } = decodeSizes(cfg);
  return rows * d4 * 16 + rows * cfg.keys * 4 + Math.max(1, keyGroups - 1) * cfg.roundRows * d4 * 16 + keyGroups * rows * 4 + rows * 4;
}

/** The decode kernel's module (see the top comment). Uses FORWARD_PARAMS; writes split-K parts. */
export function decodeKernel(cfg: DecodeConfig): KernelSpec {
  const { d4, rows, units, ahead, keyGroups } = decodeSizes(cfg);
  const { lanes, threads, keys, roundRows } = cfg;
  if (keyGroups < 1) throw new Error(`decodeKernel: ${threads} invocations cannot cover ${d4} vec4 columns`);
  if ((lanes & (lanes - 1)) !== 0) throw new Error(`decodeKernel: lanes per key must be a power of two, got ${lanes}`);
  if (rows % roundRows !== 0) throw new Error(`decodeKernel: roundRows ${roundRows} does not divide ${rows} rows`);
  const io = rowType(cfg.half);
  const paged = cfg.pageSize !== undefined;
  const usesAux = cfg.positionsAt !== undefined;
  const pos = positionNames(cfg.positionsAt);
  const bindings: Binding[] = [
    PARAMS_BINDING,
    { name: 'q', kind: 'read', type: io.type },
    { name: 'k', kind: 'read', type: io.type },
    { name: 'v', kind: 'read', type: io.type },
    { name: 'o', kind: 'read_write', type: F32_ROWS.type },
    { name: 'lse', kind: 'read_write', type: 'array<f32>' },
    ...(usesAux ? [AUX_BINDING] : []),
    ...(paged ? [PAGES_BINDING] : []),
  ];
  const each = (n: number, f: (i: number) => string, sep = '\n') => Array.from({ length: n }, (_, i) => f(i)).join(sep);
  // Element c of key row n of K or V (vec4 units).
  const rowAt = (which: 'k' | 'v', n: string, c: string) =>
    paged
      ? `pagedRow(pageRow, ${n}, params.${which}sb, params.${which}sn) + hk * params.${which}sh + ${c} - params.${which}Off`
      : `b * params.${which}sb + hk * params.${which}sh + (${n}) * params.${which}sn + ${c} - params.${which}Off`;
  const column = (u: number) => `lane + ${lanes * u}u`;
  const guardColumn = (u: number) => ((u + 1) * lanes <= d4 ? '' : `if (${column(u)} < D4) `);
  const causalRow = (r: number) => `i32(${r % cfg.seqQ}u) + ${pos.causal}`;

  const wgsl = /* wgsl */ `${lanes > 1 ? 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n' : ''}
${paramStruct('Params', FORWARD_PARAMS)}

const D4 = ${d4}u;
const R = ${rows}u;
const T = ${threads}u;
const L = ${lanes}u;
const G = ${threads / lanes}u;
const C = ${keys}u;
const KG = ${keyGroups}u;
const AHEAD = ${ahead}u;
const MASKED = ${MASKED};

${declareBindings(bindings)}
${io.helpers}
${IS_NAN}
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
var<workgroup> sc: array<f32, ${rows * keys}>;
var<workgroup> meet: array<vec4<f32>, ${Math.max(1, keyGroups - 1) * roundRows * d4}>;
var<workgroup> sums: array<f32, ${keyGroups * rows}>;
var<workgroup> rowMax: array<atomic<u32>, ${rows}>;

@compute @workgroup_size(${threads}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let part = wg.x;
  let hk = wg.y;
  let b = wg.z + params.batchBase;
${positionLets(cfg.positionsAt, 'b')}${paged ? pagedLets('b') : ''}
  // This range's keys [lo, hi): fewer past the sequence's end${cfg.causal ? ' and past the last row under causal masking' : ''}.
  let lo = part * params.rangeKeys;
  var hi = min(lo + params.rangeKeys, ${paged ? 'kLen' : 'params.seqK'});
${cfg.causal ? `  hi = u32(clamp(${causalRow(cfg.seqQ - 1)} + 1, i32(lo), i32(max(hi, lo))));\n` : ''}  let n = select(0u, hi - lo, hi > lo);

  // Q rows (every head of the group) to workgroup memory, scaled into the log2 frame.
  for (var e = t; e < R * D4; e += T) {
    let r = e / D4;
    let hr = hk * ${cfg.pack}u + r / ${cfg.seqQ}u;
    qs[e] = ${io.load(`q[b * params.qsb + hr * params.qsh + (r % ${cfg.seqQ}u) * params.qsn + e % D4 - params.qOff]`)} * params.qkScale;
  }
  if (t < R) { atomicStore(&rowMax[t], orderedBits(MASKED)); }
  workgroupBarrier();

  // S phase: lanes [g·L, g·L + L) share each of their keys; every lane runs the same
  // trip count, so the shuffles see all their partners.
  let lane = t % L;
  let g = t / L;
  var mx: array<f32, ${rows}>;
${each(rows, (r) => `  mx[${r}] = MASKED;`)}
  for (var k0 = 0u; k0 < n; k0 += G * AHEAD) {
    var kr: array<${io.reg}, ${ahead * units}>;
    for (var u = 0u; u < AHEAD; u++) {
      let j = k0 + g + G * u;
      if (j < n) {
${each(units, (c) => `        ${guardColumn(c)}{ kr[u * ${units}u + ${c}u] = k[${rowAt('k', 'lo + j', column(c))}]; }`)}
      }
    }
    for (var u = 0u; u < AHEAD; u++) {
      let j = k0 + g + G * u;
      // Zeroed by hand: a var array in a loop is not re-zeroed on SwiftShader.
      var d: array<f32, ${rows}>;
${each(rows, (r) => `      d[${r}] = 0.0;`)}
${each(
  units,
  (c) => `      ${guardColumn(c)}{
        let kv = ${io.load(`kr[u * ${units}u + ${c}u]`)};
${each(rows, (r) => `        d[${r}] += dot(qs[${r * d4}u + ${column(c)}], kv);`)}
      }`,
)}
${each(rows, (r) => `      let s${r} = ${lanes > 1 ? shuffleReduce(`d[${r}]`, lanes, 'add') : `d[${r}]`};`)}
      if (j < n) {
${each(rows, (r) => {
  const masked = cfg.causal && r % cfg.seqQ < cfg.seqQ - 1;
  const s = masked ? `select(s${r}, MASKED, i32(lo + j) > ${causalRow(r)})` : `s${r}`;
  return `        let m${r} = ${s};\n        mx[${r}] = max(mx[${r}], m${r});\n        if (lane == 0u) { sc[${r}u * C + j] = m${r}; }`;
})}
      }
    }
  }
  if (lane == 0u && n > 0u) {
${each(rows, (r) => `    atomicMax(&rowMax[${r}], orderedBits(mx[${r}]));`)}
  }
  workgroupBarrier();

  // P phase: P = exp2(S − row max) in place; masked keys 0, a NaN score stays NaN.
  var rowM: array<f32, ${rows}>;
${each(rows, (r) => `  rowM[${r}] = orderedFloat(atomicLoad(&rowMax[${r}]));`)}
  for (var e = t; e < R * n; e += T) {
    let r = e / n;
    let j = e % n;
    let s = sc[r * C + j];
    sc[r * C + j] = select(select(0.0, exp2(s - rowM[r]), s > MASKED), params.nan, isNan(s));
  }
  workgroupBarrier();

  // PV phase: invocation (kg, c) sums P·V over keys kg, kg + KG, … for column c. A key whose
  // P is 0 (masked) adds nothing even when its V is inf or NaN.
  let kg = t / D4;
  let c = t % D4;
  var acc: array<vec4<f32>, ${rows}>;
  var l: array<f32, ${rows}>;
  if (kg < KG) {
    for (var j0 = kg; j0 < n; j0 += KG * ${ahead}u) {
      var vr: array<${io.reg}, ${ahead}>;
${each(ahead, (u) => `      if (j0 + ${u * keyGroups}u < n) { vr[${u}] = v[${rowAt('v', `lo + j0 + ${u * keyGroups}u`, 'c')}]; }`)}
${each(
  ahead,
  (u) => `      if (j0 + ${u * keyGroups}u < n) {
        let vv = ${io.load(`vr[${u}]`)};
${each(rows, (r) => `        { let p = sc[${r}u * C + j0 + ${u * keyGroups}u]; acc[${r}] += select(vec4<f32>(0.0), p * vv, p != 0.0); l[${r}] += p; }`)}
      }`,
)}
    }
    if (c == 0u) {
${each(rows, (r) => `      sums[kg * R + ${r}u] = l[${r}];`)}
    }
  }
${each(
  rows / roundRows,
  (round) => `  // Rows ${round * roundRows}…${round * roundRows + roundRows - 1}: the key groups' sums meet at group 0.
  if (kg > 0u && kg < KG) {
${each(roundRows, (rr) => `    meet[((kg - 1u) * ${roundRows}u + ${rr}u) * D4 + c] = acc[${round * roundRows + rr}];`)}
  }
  workgroupBarrier();
  if (kg == 0u) {
    for (var gi = 1u; gi < KG; gi++) {
${each(roundRows, (rr) => `      acc[${round * roundRows + rr}] += meet[((gi - 1u) * ${roundRows}u + ${rr}u) * D4 + c];`)}
    }
  }
  workgroupBarrier();`,
)}

  // This range's part: normalised O and each row's (max, sum), for the combine.
  if (kg == 0u) {
${each(
  rows,
  (r) => `    {
      var total = 0.0;
      for (var gi = 0u; gi < KG; gi++) { total += sums[gi * R + ${r}u]; }
      let hr = hk * ${cfg.pack}u + ${Math.floor(r / cfg.seqQ)}u;
      let i = ${r % cfg.seqQ}u;
      let inv = select(0.0, 1.0 / total, total > 0.0 || isNan(total));
      o[part * params.oPart + b * params.qsb + hr * params.qsh + i * params.qsn + c - params.qOff] = acc[${r}] * inv;
      if (c == 0u) {
        let at = part * params.statPart + 2u * ((b * params.headsQ + hr) * params.seqQ + i);
        lse[at] = rowM[${r}];
        lse[at + 1u] = total;
      }
    }`,
)}
  }
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
