/*
 * The tensor-core forward: f16 attention with the matrix products on the GPU's matrix
 * units, through WGSL subgroup matrices (matrix-ops.ts). Issue 14's route: on the H200
 * through dawn.node it is exact and ran hundreds of dispatches in a row (docs/tensor-cores.md).
 *
 * One workgroup = SG subgroups × TM query rows of one (batch, head); K/V tiles of BC keys:
 *   S = Q·Kᵀ   Q held as left matrices for the whole loop (loaded once from storage), Kᵀ
 *              from a K tile staged in workgroup memory, f16 operands, f32 result;
 *   softmax    S through workgroup memory, by the subgroup's lanes in f32 (TM rows, SGS/TM
 *              lanes per row, row max by shuffles), P = exp2(S·qkScale − m) written as f16;
 *   O += P·V   P loaded back as left matrices, V as right ones, O kept in f32 result matrices.
 * A row's running max m moves only when a tile's max passes it by more than TAU (log2
 * units: P ≤ 2^TAU stays well inside f16), so O is rescaled rarely: when some row of the
 * workgroup moved (a workgroup flag read with workgroupUniformLoad, so the branch is
 * uniform), O goes through the S scratch, its rows scaled by the lanes, and back.
 *
 * An inf or NaN in V is staged as 0 (through the matrix units a masked key's 0 · inf would
 * make every row NaN) and flagged; on such a tile the rows whose P for that key is not 0
 * get its p · v in f32 after the P·V, so masked keys reach nothing, as in the reference.
 * Keys past the sequence are staged as zeros and masked. A subgroup whose rows would pass
 * the last query row takes the last m rows instead (at least m query rows: matrix-program.ts):
 * a matrix load that crosses the end of its buffer is not read in part but moved whole (on
 * the H200 the rows came out shifted), so no load may reach past the last row. Two subgroups
 * may then hold the same rows; they compute the same values (every row alone, the same tiles
 * in the same order, and a workgroup rescale multiplies the rows that did not move by exactly
 * 1) and write them twice. No score or mask modifiers, sinks, position tables or paged
 * K/V (matrix-program.ts sends those calls to the fused kernel). Every workgroup variable
 * is a multiple of 16 bytes: on the H200 a 4-byte one before the tiles shifted the matrix
 * loads from them by two halves (docs/tensor-cores.md, run 11).
 */
import { FORWARD_PARAMS } from './forward-config.js';
import { nonFiniteTerms, products, stageTile, staging, subgroupIds, u } from './matrix-pieces.js';
import { emulatedMatrixOps, subgroupMatrixOps, type MatrixOps, type MatrixShape } from './matrix-ops.js';
import { paramStruct } from './params.js';
import { declareBindings, MASKED, PARAMS_BINDING, type Binding, type KernelSpec } from './spec.js';
import { blockOrder, F16_ROWS, IS_NAN, LSE_OF } from './wgsl-common.js';

/** What one tensor-core forward pipeline is built for. */
export interface MatrixConfig {
  readonly headDim: number;
  readonly causal: boolean;
  /** Subgroups per workgroup (SG); the workgroup holds SG · m query rows. */
  readonly subgroups: number;
  /** Keys per K/V tile (BC). */
  readonly keys: number;
  readonly shape: MatrixShape;
  /** Lanes per subgroup (the emulation's are 32). */
  readonly subgroupSize: number;
  /** Matrix operations emulated in workgroup memory (tests on adapters without them). */
  readonly emulate?: boolean;
  /** Fetch the next K/V tile into registers while the current one computes (default false: on the H200 it cost 2–4%, causal D = 64 30%). */
  readonly prefetch?: boolean;
}

/** How far (log2 units) a row's max may rise before O is rescaled: P ≤ 2^8. */
const TAU = 8;

/** Sizes that follow from a config: rows, strides of the workgroup tiles (16-byte multiples). */
export function matrixSizes(cfg: MatrixConfig) {
  const { headDim: D, subgroups, keys: BC, shape } = cfg;
  const BR = subgroups * shape.m;
  const W = Math.min(BC, D); // O columns per pass through the S scratch
  return { BR, W, KSTR: D + 8, PSTR: BC + 8, SSTR: BC + 4, LPR: cfg.subgroupSize / shape.m, threads: subgroups * cfg.subgroupSize };
}

/** Why `cfg` cannot build, or undefined. */
export function matrixConfigProblem(cfg: MatrixConfig): string | undefined {
  const { headDim: D, keys: BC, shape: s, subgroupSize: SGS } = cfg;
  const { W, LPR } = matrixSizes(cfg);
  if (D % 16 !== 0 || D % s.k !== 0 || D % s.n !== 0) return `head dim ${D} is not a multiple of 16 and of the matrix shape`;
  if (BC % 16 !== 0 || BC % s.k !== 0 || BC % s.n !== 0) return `keys per tile ${BC} is not a multiple of 16 and of the matrix shape`;
  if (SGS % s.m !== 0 || BC % LPR !== 0 || (LPR & (LPR - 1)) !== 0) return `subgroups of ${SGS} lanes do not split ${s.m} rows evenly`;
  if (D % W !== 0) return `head dim ${D} is not a multiple of ${W}`;
  return undefined;
}

/** Workgroup bytes of a config (with the emulation's scratch where it is emulated). */
export function matrixWorkgroupBytes(cfg: MatrixConfig): number {
  const { BR, KSTR, PSTR, SSTR, threads } = matrixSizes(cfg);
  const { m, n, k } = cfg.shape;
  const e = cfg.emulate ? 4 : 2;
  const emulation = cfg.emulate ? 4 * (cfg.subgroups * (m * k + k * n) + threads) : 0;
  return 2 * cfg.keys * KSTR * e + BR * PSTR * e + BR * SSTR * 4 + BR * 4 + 32 + emulation;
}

/** The tensor-core forward kernel (see the top comment). Binds FORWARD_PARAMS, q, k, v, o, lse. */
export function matrixKernel(cfg: MatrixConfig): KernelSpec {
  const problem = matrixConfigProblem(cfg);
  if (problem) throw new Error(`matrixKernel: ${problem}`);
  const { BR, threads } = matrixSizes(cfg);
  const ops = cfg.emulate ? emulatedMatrixOps(cfg.shape, cfg.subgroups) : subgroupMatrixOps(cfg.shape);
  const bindings: Binding[] = [
    PARAMS_BINDING,
    { name: 'q', kind: 'read', type: ops.qType },
    { name: 'k', kind: 'read', type: F16_ROWS.type },
    { name: 'v', kind: 'read', type: F16_ROWS.type },
    { name: 'o', kind: 'read_write', type: F16_ROWS.type },
    { name: 'lse', kind: 'read_write', type: 'array<f32>' },
  ];
  const body = mainText(cfg, ops);
  const { KSTR, PSTR, SSTR } = matrixSizes(cfg);
  const wgsl = /* wgsl */ `${ops.enables}
${paramStruct('Params', FORWARD_PARAMS)}
${declareBindings(bindings)}
${F16_ROWS.helpers}
${IS_NAN}
${LSE_OF}

const MASKED = ${MASKED};

// The halves of packed pairs whose exponent is all ones (inf, NaN) replaced by 0.
fn finiteHalves(w: vec2<u32>) -> vec2<u32> {
  let lo = (w & vec2<u32>(0x7c00u)) == vec2<u32>(0x7c00u);
  let hi = (w & vec2<u32>(0x7c000000u)) == vec2<u32>(0x7c000000u);
  return w & select(vec2<u32>(0xffffffffu), vec2<u32>(0xffff0000u), lo) & select(vec2<u32>(0xffffffffu), vec2<u32>(0x0000ffffu), hi);
}
var<workgroup> kS: array<${ops.elem}, ${cfg.keys * KSTR}>;
var<workgroup> vS: array<${ops.elem}, ${cfg.keys * KSTR}>;
var<workgroup> pS: array<${ops.elem}, ${BR * PSTR}>; // P, f16, per subgroup m × BC
var<workgroup> sS: array<f32, ${BR * SSTR}>;        // S (then O on its way out), f32, per subgroup m × BC
var<workgroup> rowA: array<f32, ${BR}>;             // per row: the rescale factor, at the end 1 / l
// By tile parity (the next tile's are cleared while this one runs, after their last reads):
// .x some row of the workgroup moved its max, .y some V of the tile is inf or NaN.
var<workgroup> flags: array<vec4<u32>, 2>;
${ops.helpers()}
${body}`;
  const label = [
    'attention.forward.matrix',
    `d${cfg.headDim}`,
    'f16',
    cfg.causal && 'causal',
    `${cfg.shape.m}x${cfg.shape.n}x${cfg.shape.k}`,
    `sg${cfg.subgroups}`,
    `bc${cfg.keys}`,
    cfg.prefetch && 'prefetch',
    cfg.emulate && 'emulated',
  ];
  return { label: label.filter(Boolean).join(' '), wgsl, workgroupSize: [threads, 1, 1], bindings, workgroupBytes: matrixWorkgroupBytes(cfg) };
}

/** The entry point's text. */
function mainText(cfg: MatrixConfig, ops: MatrixOps): string {
  const { keys: BC, shape: s } = cfg;
  const { BR, W, PSTR, SSTR, threads } = matrixSizes(cfg);
  const { qLoads, oVars, score, pv, throughScratch, colLoop, visible, lanesXor } = products(cfg, ops);
  const { slots, prefetch, each, fetchSlot } = staging(cfg);
  return /* wgsl */ `@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, ${subgroupIds(cfg.emulate)}
  ${blockOrder(cfg.causal, 'last')}
  let h = g.y;
  let b = g.z;
  let hk = h / params.groupSize;
  let q0 = g.x * ${u(BR)};
  // The subgroup's m rows, moved back to end at the last row where they would pass it (why: kernels/matrix.ts).
  let row0 = min(q0 + sg * ${u(s.m)}, params.seqQ - ${u(s.m)});
  let qLow = min(q0, params.seqQ - ${u(s.m)}); // the workgroup's first row, for the causal interior test
  let r = lane % ${u(s.m)}; let part = lane / ${u(s.m)}; // this lane's row and its share of the columns
  let qi = row0 + r;
  let sOff = sg * ${u(s.m * SSTR)}; let pOff = sg * ${u(s.m * PSTR)};
  // Q as left matrices straight from storage, in f16 elements (offsets and strides are
  // multiples of 8: matrix-program.ts checks).
  let qBase = (b * params.qsb + h * params.qsh + row0 * params.qsn - params.qOff) * 4u;
  let qStride = params.qsn * 4u;
  ${qLoads.join('\n  ')}
  ${oVars.join('\n  ')}
  var m = MASKED; var l = 0.0;
  let kRow = b * params.ksb + hk * params.ksh - params.kOff;
  let vRow = b * params.vsb + hk * params.vsh - params.vOff;
  let kTiles = (params.seqK + ${u(BC - 1)}) / ${u(BC)};
  ${
    cfg.causal
      ? `// Tiles with a key some row of the workgroup sees (key j ≤ row + causalOffset).
  let lastKey = i32(min(q0 + ${u(BR - 1)}, params.seqQ - 1u)) + params.causalOffset;
  let nT = select(0u, min(kTiles, u32(lastKey) / ${u(BC)} + 1u), lastKey >= 0);`
      : 'let nT = kTiles;'
  }
  // Each invocation's share of a K/V tile: vec4 slot i is element li + i·T of the tile's BC × D/4.
  var kx: array<vec2<u32>, ${slots}>;
  var vx: array<vec2<u32>, ${slots}>;${
    prefetch
      ? `
  if (nT > 0u) {
${each(slots, (i) => fetchSlot(i, '0u'))}
  }`
      : ''
  }
  for (var t = 0u; t < nT; t++) {
    let k0 = t * ${u(BC)};
    workgroupBarrier(); // every subgroup's P·V of the last tile is done before its K/V is overwritten
    if (li == 0u) { flags[(t + 1u) % 2u] = vec4<u32>(); } // the next tile's: last read in the last tile
${stageTile(cfg)}
    ${score.join('\n    ')}
    workgroupBarrier();
    // Tiles where every key is visible to every row of the workgroup skip the mask.
    let interior = k0 + ${u(BC)} <= params.seqK${cfg.causal ? ` && i32(k0 + ${u(BC - 1)}) <= i32(qLow) + params.causalOffset` : ''};
    var mt = MASKED;
    if (interior) {
      ${colLoop('mt = max(mt, x);')}
    } else {
      ${colLoop(`mt = select(mt, max(mt, x), ${visible});`)}
    }
    ${lanesXor((mask) => `mt = max(mt, ${ops.shuffleXor('mt', mask)});`)}
    let grow = mt > m + ${TAU.toFixed(1)};
    let mNew = select(m, mt, grow);
    let alpha = exp2(m - mNew);
    if (grow && m > MASKED) { flags[t % 2u].x = 1u; }
    if (part == 0u) { rowA[sg * ${u(s.m)} + r] = alpha; }
    l = l * alpha;
    m = mNew;
    if (interior) {
      ${colLoop(`let ph = ${ops.half('exp2(x - m)')};
      pS[pOff + r * ${u(PSTR)} + c] = ph;
      l = l + f32(ph);`)}
    } else {
      ${colLoop(`let ph = ${ops.half(`select(0.0, exp2(x - m), ${visible})`)};
      pS[pOff + r * ${u(PSTR)} + c] = ph;
      l = l + f32(ph);`)}
    }
    let tileFlags = workgroupUniformLoad(&flags[t % 2u]); // a barrier: P, rowA and the flags are visible
    if (tileFlags.x != 0u) {
      ${throughScratch('let rr = e / ' + u(W) + '; let cc = e % ' + u(W) + ';', s.m * W, () => `sS[sOff + rr * ${u(SSTR)} + cc] *= rowA[sg * ${u(s.m)} + rr];`, true)}
    }
    ${pv.join('\n    ')}
    // An inf or NaN in V went to the matrix units as 0 (a masked key's 0 · inf would be NaN in every
    // row): here the rows whose P for that key is not 0 get it, in f32 through the scratch.
    if (tileFlags.y != 0u) {
      ${throughScratch(`let rr = e / ${u(W)}; let cc = e % ${u(W)};`, s.m * W, (c0) => nonFiniteTerms(cfg, c0), true)}
    }
  }
  ${lanesXor((mask) => `l = l + ${ops.shuffleXor('l', mask)};`)}
  // A row with a NaN score keeps its NaN (l is NaN), like the reference; a row that saw no key writes 0 and LSE −inf.
  if (part == 0u) {
    rowA[sg * ${u(s.m)} + r] = select(0.0, 1.0 / l, l > 0.0 || isNan(l));
    // Every row is a real one (row0 was moved back to end at the last row).
    lse[(b * params.headsQ + h) * params.seqQ + qi - params.lseOff] = select(select(params.negInf, lseOf(m, l), l > 0.0), params.nan, isNan(l));
  }
  workgroupBarrier();
  let oRow = b * params.qsb + h * params.qsh - params.qOff;
  ${throughScratch(
    `let rr = e / ${u(W / 4)}; let c4 = e % ${u(W / 4)}; let at = sOff + rr * ${u(SSTR)} + c4 * 4u;`,
    (s.m * W) / 4,
    (c0) =>
      `o[oRow + (row0 + rr) * params.qsn + ${u(c0 / 4)} + c4] = packHalf4(vec4<f32>(sS[at], sS[at + 1u], sS[at + 2u], sS[at + 3u]) * rowA[sg * ${u(s.m)} + rr]);`,
    false,
  )}
}
`;
}
