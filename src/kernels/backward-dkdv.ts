/*
 * Backward dK/dV pass (FlashAttention-2): one workgroup per (K/V tile, kv head, batch).
 * It stages its K and V rows once and walks every (query head of its GQA group, Q tile)
 * that can see them (causal start, block mask), fetching the next Q and dO tile and
 * their rows' LSE and Delta into registers while the current one is computed. Per step:
 *
 *   S  = qkScale·Q·Kᵀ                             qkScale = scale·log2 e (with a score
 *                                                  modifier: log2 e·score(scale·Q·Kᵀ))
 *   P  = exp2(S − LSE·log2 e)                     0 where masked
 *   dP = dO·Vᵀ
 *   dS = P∘(dP − Delta)·score′
 *   dV += Pᵀ·dO
 *   dK += dSᵀ·Q                                    scaled once at the end
 *
 * The block is computed transposed (element (r, c) is key row r, query row c), so Pᵀ
 * and dSᵀ are written to workgroup memory in the layout the accumulation reads.
 */
import { each, tileMover, weightedFma } from './codegen.js';
import type { KernelSpec } from './spec.js';
import { backwardWorkgroupBytes } from './backward-tiles.js';
import { positionLets } from './wgsl-common.js';
import {
  backwardBindings,
  backwardHeader,
  backwardShape,
  innerTileAt,
  NEXT_Q_STEP,
  NO_ROW,
  probsAndDs,
  unguarded,
  scoresAndDp,
  stageOuterTile,
  vec4Array,
  type BackwardConfig,
  type BackwardShape,
  type BlockRoles,
} from './backward-shared.js';

/** The dK/dV pass: dK = scale · Σ_i dS_ij Q_i and dV = Σ_i P_ij dO_i for every key row, in a fixed order. */
export function backwardDkDvKernel(cfg: BackwardConfig): KernelSpec {
  if (cfg.tile.dsInY) throw new Error('backwardKernel: dS in the V tile is for the dQ pass');
  const sh = backwardShape(cfg, 'backwardKernel');
  const { t, d4, outer: BO, inner: BI } = sh;
  const bindings = backwardBindings(cfg, sh, [vec4Array('dk', 'read_write'), vec4Array('dv', 'read_write')], false);
  const wgsl = /* wgsl */ `
${backwardHeader(cfg, sh, bindings, [sh.blocks ? NEXT_Q_STEP : '', ''])}

var<workgroup> Ks: array<vec4<f32>, ${BO * d4}>;
var<workgroup> Vs: array<vec4<f32>, ${BO * d4}>;
var<workgroup> Qs: array<vec4<f32>, ${BI * (d4 + 1)}>;
var<workgroup> dOs: array<vec4<f32>, ${BI * (d4 + 1)}>;
var<workgroup> dSs: array<vec4<f32>, ${(BO * BI) / 4}>;
var<workgroup> Ps: array<vec4<f32>, ${(BO * BI) / 4}>;
var<workgroup> lseTile: array<f32, ${BI}>;
var<workgroup> deltaTile: array<f32, ${BI}>;

@compute @workgroup_size(TX, TY, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * TX + tx;
  let b = wg.z;
  let o0 = wg.x * BO;
  let hk = wg.y;
  let kBase = b * params.ksb + hk * params.ksh;
  let vBase = b * params.vsb + hk * params.vsh;
${positionLets(cfg.variant?.positionsAt, 'b')}${stageOuterTile(
    '',
    { tile: 'Ks', src: 'k', base: 'kBase', stride: 'params.ksn' },
    { tile: 'Vs', src: 'v', base: 'vBase', stride: 'params.vsn' },
    'params.seqK',
  )}

  var dkAcc: array<vec4<f32>, ${t.rm * sh.oc}>;
  var dvAcc: array<vec4<f32>, ${t.rm * sh.oc}>;

  var qFirst = 0u;
  if (CAUSAL) { qFirst = u32(max(i32(o0) - ${sh.pos.causal}, 0)) / BI; }
  let nQt = max((params.seqQ + BI - 1u) / BI, qFirst) - qFirst;
  let steps = nQt * params.groupSize;
  let blockCol = b * params.bmB + wg.x;

${walk(cfg, sh)}


${writeDkDv(sh)}
}
`;
  return {
    label: `attention.backward.dkdv d${cfg.headDim}${cfg.causal ? ' causal' : ''}${cfg.variant ? ' variant' : ''}${sh.blocks ? ' blocks' : ''} ${BO}x${BI} ${t.tx}x${t.ty}`,
    wgsl,
    workgroupSize: [t.tx, t.ty, 1],
    bindings,
    workgroupBytes: backwardWorkgroupBytes(cfg.headDim, t),
  };
}

/** The walk over (query head, Q tile) steps: stage Q, dO, LSE, Delta; prefetch the next; S and dP; P and dS; dV += Pᵀ·dO, dK += dSᵀ·Q. */
function walk(cfg: BackwardConfig, sh: BackwardShape): string {
  const mover = tileMover(sh.inner, sh.nt, sh.d4);
  const at = innerTileAt(sh);
  const place = (st: string, indent: string) => `let h = hk * params.groupSize + ${st} / nQt;\n${indent}let i0 = (qFirst + ${st} % nQt) * BI;`;
  const fetchQ = (st: string) => `    {
      ${place(st, '      ')}
      let qBase = b * params.qsb + h * params.qsh;
${mover.fetch('qr', 'q', 'qBase', 'params.qsn', 'i0', 'params.seqQ')}
${mover.fetch('dOr', 'dout', 'qBase', 'params.qsn', 'i0', 'params.seqQ')}
      // This invocation's share of the Q tile's row terms (rows past Nq or fully masked contribute nothing).
      lseNext = ${NO_ROW};
      deltaNext = 0.0;
      if (tid < BI && i0 + tid < params.seqQ) {
        let row = (b * params.headsQ + h) * params.seqQ + i0 + tid;
        let l = lse[row];
        if (l > MASKED || isNan(l)) { lseNext = l * ${Math.LOG2E}; } // a NaN row stays NaN
        deltaNext = dd[row];
      }
    }`;
  const query = (c: number) => `i0 + tx + ${sh.t.tx * c}u`;
  const roles: BlockRoles = {
    query: (_, c) => query(c),
    key: (r) => `o0 + ty * RM + ${r}u`,
    lse: (_, c) => `lseTile[tx + ${sh.t.tx * c}u]`,
    delta: (_, c) => `deltaTile[tx + ${sh.t.tx * c}u]`,
    dsTile: 'dSs',
    pTile: 'Ps',
  };
  const next = (start: string) => (sh.blocks ? `nextStep(blockCol, hk, qFirst, nQt, ${start}, steps)` : start);
  return `  var qr: array<vec4<f32>, ${mover.per}>;
  var dOr: array<vec4<f32>, ${mover.per}>;
  var lseNext = 0.0;
  var deltaNext = 0.0;
  var st = ${next('0u')};
  if (st < steps) {
${fetchQ('st')}
  }
  loop {
    if (st >= steps) { break; }
    ${place('st', '    ')}
    let stNext = ${next('st + 1u')};
    let full = ${sh.blocks ? 'blocks[blockCol + (hk * params.groupSize + st / nQt) * params.bmH + (qFirst + st % nQt) * params.bmRow] == 2u' : 'false'};
    workgroupBarrier();
${mover.stage('qr', (r, c) => at('Qs', r, c))}
${mover.stage('dOr', (r, c) => at('dOs', r, c))}
    if (tid < BI) { lseTile[tid] = lseNext; deltaTile[tid] = deltaNext; }
    workgroupBarrier();
    if (stNext < steps) {
${fetchQ('stNext')}
    }

${scoresAndDp(sh, { sOuter: ['Ks', 'k'], sInner: ['Qs', 'q'], dpOuter: ['Vs', 'v'], dpInner: ['dOs', 'dO'] })}

    // P = exp(s − LSE) and dS = P (dP − D) score'(z); only ragged and causal-diagonal tiles need the mask.
    let interior = o0 + BO <= params.seqK && (!CAUSAL || i32(o0 + BO - 1u) <= i32(i0) + ${sh.pos.causal});
    if (interior) {
${probsAndDs(cfg, sh, roles, false)}
    } else {
${probsAndDs(cfg, sh, roles, true)}
    }
    workgroupBarrier();

    // A masked pair's Q and dO must not reach the key even when inf or NaN: tiles with masked pairs skip them explicitly.
    if (${unguarded(cfg, sh)}) {
${accumulateDkDv(sh, false)}
    } else {
${accumulateDkDv(sh, true)}
    }
    st = stNext;
  }`;
}

/** dK += dSᵀ·Q and dV += Pᵀ·dO for the invocation's RM key rows × OC vec4 columns (columns tx + TX·c); `guarded`: see weightedFma. */
function accumulateDkDv(sh: BackwardShape, guarded: boolean): string {
  const { t, oc, d4 } = sh;
  const at = innerTileAt(sh);
  // acc[r, c] += w_r[jj] · x for the invocation's RM rows (w: dS or P of the row, x: a Q or dO row).
  const fmas = (acc: string, w: string, x: string, jj: number, c: number) =>
    each(t.rm, (r) => `        ${weightedFma(`${acc}[${r * oc + c}]`, `${w}${r}.${'xyzw'[jj]}`, x, guarded)}`);
  return `    // dK += dS·Q and dV += P·dO for RM outer rows × OC vec4 columns (columns tx + TX·c).
    for (var j4 = 0u; j4 < BI / 4u; j4++) {
${each(t.rm, (r) => `      let ds${r} = dSs[(ty * RM + ${r}u) * (BI / 4u) + j4];\n      let p${r} = Ps[(ty * RM + ${r}u) * (BI / 4u) + j4];`)}
${each(4, (jj) =>
  each(
    oc,
    (c) => `      ${(c + 1) * t.tx <= d4 ? '' : `if (tx + ${t.tx * c}u < D4) `}{
        let qRow = ${at('Qs', `j4 * 4u + ${jj}u`, `tx + ${t.tx * c}u`)};
${fmas('dkAcc', 'ds', 'qRow', jj, c)}
        let dORow = ${at('dOs', `j4 * 4u + ${jj}u`, `tx + ${t.tx * c}u`)};
${fmas('dvAcc', 'p', 'dORow', jj, c)}
      }`,
  ),
)}
    }`;
}

/** dK rows (times the softmax scale) and dV rows to device memory; rows past Nk are not written. */
function writeDkDv(sh: BackwardShape): string {
  const { t, oc, d4 } = sh;
  return each(
    t.rm,
    (r) => `  {
    let n = o0 + ty * RM + ${r}u;
    if (n < params.seqK) {
${each(oc, (c) => {
  const col = `tx + ${t.tx * c}u`;
  const guard = (c + 1) * t.tx <= d4 ? '' : `if (${col} < D4) `;
  return `      ${guard}{
        dk[kBase + n * params.ksn + ${col}] = dkAcc[${r * oc + c}] * params.scale;
        dv[vBase + n * params.vsn + ${col}] = dvAcc[${r * oc + c}];
      }`;
})}
    }
  }`,
  );
}
