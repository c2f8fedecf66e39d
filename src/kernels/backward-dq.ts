/*
 * Backward dQ pass (FlashAttention-2): one workgroup per (Q tile, query head, batch).
 * It stages its Q and dO rows once, keeps each row's LSE and Delta in registers, and
 * walks the K/V tiles its rows can see (causal end, block mask), fetching the next
 * tile into registers while the current one is computed. Per K/V tile:
 *
 *   S  = qkScale·Q·Kᵀ                             qkScale = scale·log2 e (with a score
 *                                                  modifier: log2 e·score(scale·Q·Kᵀ))
 *   P  = exp2(S − LSE·log2 e)                     0 where masked
 *   dP = dO·Vᵀ
 *   dS = P∘(dP − Delta)·score′
 *   dQ += dS·K                                     scaled once at the end
 *
 * plus, with a score modifier that reads tables, their gradients (Σ dS·∂score/∂table).
 * With a dQ tile (dsInY), dS is written into the V tile once every invocation has read
 * V for dP, so no separate dS buffer is needed and larger tiles fit.
 */
import { each, tileMover, weightedFma } from './codegen.js';
import type { KernelSpec } from './spec.js';
import { backwardWorkgroupBytes } from './backward-tiles.js';
import { blockOrder, positionLets } from './wgsl-common.js';
import {
  backwardBindings,
  backwardHeader,
  backwardShape,
  flushTableGrads,
  innerTileAt,
  NEXT_KV_TILE,
  NO_ROW,
  probsAndDs,
  unguarded,
  scoresAndDp,
  stageOuterTile,
  tableGradFns,
  tableGradRegisters,
  vec4Array,
  type BackwardConfig,
  type BackwardShape,
  type BlockRoles,
} from './backward-shared.js';

/** The dQ pass: dQ = scale · Σ_j dS_ij K_j for every query row, in a fixed order (no atomics). */
export function backwardDqKernel(cfg: BackwardConfig): KernelSpec {
  const sh = backwardShape(cfg, 'backwardKernel');
  const { t, d4, outer: BO, inner: BI } = sh;
  const tg = cfg.tableGrads;
  const bindings = backwardBindings(cfg, sh, [vec4Array('dq', 'read_write')], Boolean(tg));
  const innerRows = BI * (d4 + (sh.dsInY ? 0 : 1));
  const wgsl = /* wgsl */ `
${backwardHeader(cfg, sh, bindings, [sh.blocks ? NEXT_KV_TILE : '', tableGradFns(tg)])}

var<workgroup> Qs: array<vec4<f32>, ${BO * d4}>;
var<workgroup> dOs: array<vec4<f32>, ${BO * d4}>;
var<workgroup> Ks: array<vec4<f32>, ${innerRows}>;
var<workgroup> Vs: array<vec4<f32>, ${innerRows}>;
${sh.dsInY ? '' : `var<workgroup> dSs: array<vec4<f32>, ${(BO * BI) / 4}>;`}


@compute @workgroup_size(TX, TY, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * TX + tx;
  ${blockOrder(cfg.causal, 'last')} // causal: the last query blocks (the most keys) first
  let b = g.z;
  let o0 = g.x * BO;
  let h = g.y;
  let hk = h / params.groupSize;
  let kBase = b * params.ksb + hk * params.ksh;
  let vBase = b * params.vsb + hk * params.vsh;
${positionLets(cfg.variant?.positionsAt, 'b')}${stageOuterTile(
    'let qBase = b * params.qsb + h * params.qsh;',
    { tile: 'Qs', src: 'q', base: 'qBase', stride: 'params.qsn' },
    { tile: 'dOs', src: 'dout', base: 'qBase', stride: 'params.qsn' },
    'params.seqQ',
  )}
${rowTerms(sh)}
  var dqAcc: array<vec4<f32>, ${t.rm * sh.oc}>;


  var kvEnd = params.seqK;
  if (CAUSAL) { kvEnd = u32(clamp(i32(o0 + BO) + ${sh.pos.causal}, 0, i32(params.seqK))); }
  let steps = (kvEnd + BI - 1u) / BI;
  let blockRow = b * params.bmB + h * params.bmH + g.x * params.bmRow;
${tableGradRegisters(tg)}
${walk(cfg, sh)}
${flushTableGrads(tg)}

${writeDq(sh)}
}
`;
  return {
    label: `attention.backward.dq${sh.dsInY ? '.ds-in-v' : ''} d${cfg.headDim}${cfg.causal ? ' causal' : ''}${cfg.variant ? ' variant' : ''}${sh.blocks ? ' blocks' : ''}${tg ? ' tablegrads' : ''} ${BO}x${BI} ${t.tx}x${t.ty}`,
    wgsl,
    workgroupSize: [t.tx, t.ty, 1],
    bindings,
    workgroupBytes: backwardWorkgroupBytes(cfg.headDim, t),
  };
}

/** LSE·log2 e and Delta of the invocation's RM query rows, read once (rows past Nq or fully masked contribute nothing). */
function rowTerms(sh: BackwardShape): string {
  return `  // Row terms of this invocation's rows: LSE·log2 e (rows past Nq or fully masked contribute nothing) and D.
  var lseRow: array<f32, ${sh.t.rm}>;
  var deltaRow: array<f32, ${sh.t.rm}>;
${each(
  sh.t.rm,
  (r) => `  {
    let n = o0 + ty * RM + ${r}u;
    lseRow[${r}] = ${NO_ROW};
    deltaRow[${r}] = 0.0;
    if (n < params.seqQ) {
      let row = (b * params.headsQ + h) * params.seqQ + n;
      if (lse[row] > MASKED || isNan(lse[row])) { lseRow[${r}] = lse[row] * ${Math.LOG2E}; } // a NaN row stays NaN
      deltaRow[${r}] = dd[row];
    }
  }`,
)}`;
}

/** The walk over K/V tiles: stage K and V, prefetch the next, S and dP, P and dS, dQ += dS·K. */
function walk(cfg: BackwardConfig, sh: BackwardShape): string {
  const mover = tileMover(sh.inner, sh.nt, sh.d4);
  const at = innerTileAt(sh);
  const dsTile = sh.dsInY ? 'Vs' : 'dSs';
  const fetchKv = (st: string) => `    {
      let i0 = ${st} * BI;
      let qBase = b * params.qsb + h * params.qsh;
${mover.fetch('kr', 'k', 'kBase', 'params.ksn', 'i0', 'params.seqK')}
${mover.fetch('vr', 'v', 'vBase', 'params.vsn', 'i0', 'params.seqK')}
    }`;
  const roles: BlockRoles = {
    query: (r) => `o0 + ty * RM + ${r}u`,
    key: (_, c) => `i0 + tx + ${sh.t.tx * c}u`,
    lse: (r) => `lseRow[${r}]`,
    delta: (r) => `deltaRow[${r}]`,
    dsTile,
    tableGrads: cfg.tableGrads,
  };
  return `  var kr: array<vec4<f32>, ${mover.per}>;
  var vr: array<vec4<f32>, ${mover.per}>;

  var st = ${sh.blocks ? 'nextTile(blockRow, 0u, steps)' : '0u'};
  if (st < steps) {
${fetchKv('st')}
  }
  loop {
    if (st >= steps) { break; }
    let i0 = st * BI;
    let stNext = ${sh.blocks ? 'nextTile(blockRow, st + 1u, steps)' : 'st + 1u'};
    let full = ${sh.blocks ? 'blocks[blockRow + st] == 2u' : 'false'};
    workgroupBarrier();
${mover.stage('kr', (r, c) => at('Ks', r, c))}
${mover.stage('vr', (r, c) => at('Vs', r, c))}

    workgroupBarrier();
    if (stNext < steps) {
${fetchKv('stNext')}
    }

${scoresAndDp(sh, { sOuter: ['Qs', 'q'], sInner: ['Ks', 'k'], dpOuter: ['dOs', 'dO'], dpInner: ['Vs', 'v'] })}

    // P = exp(s − LSE) and dS = P (dP − D) score'(z); only ragged and causal-diagonal tiles need the mask.
${sh.dsInY ? '    workgroupBarrier(); // every invocation is done reading V: dS goes into its tile\n' : ''}    let interior = i0 + BI <= params.seqK && (!CAUSAL || i32(i0 + BI - 1u) <= i32(o0) + ${sh.pos.causal});
    if (interior) {
${probsAndDs(cfg, sh, roles, false)}
    } else {
${probsAndDs(cfg, sh, roles, true)}
    }
    workgroupBarrier();

    // A masked pair's K must not reach the row even when it is inf or NaN: tiles with masked pairs skip it explicitly.
    if (${unguarded(cfg, sh)}) {
${accumulateDq(sh, dsTile, false)}
    } else {
${accumulateDq(sh, dsTile, true)}
    }
    st = stNext;
  }`;
}

/** dQ += dS·K for the invocation's RM query rows × OC vec4 columns (columns tx + TX·c), from registers; `guarded`: see weightedFma. */
function accumulateDq(sh: BackwardShape, dsTile: string, guarded: boolean): string {
  const { t, oc, d4 } = sh;
  const at = innerTileAt(sh);
  return `    // dQ += dS·K for RM outer rows × OC vec4 columns (columns tx + TX·c).
    for (var j4 = 0u; j4 < BI / 4u; j4++) {
${each(t.rm, (r) => `      let ds${r} = ${dsTile}[(ty * RM + ${r}u) * (BI / 4u) + j4];`)}
${each(4, (jj) =>
  each(
    oc,
    (c) => `      ${(c + 1) * t.tx <= d4 ? '' : `if (tx + ${t.tx * c}u < D4) `}{
        let kRow = ${at('Ks', `j4 * 4u + ${jj}u`, `tx + ${t.tx * c}u`)};
${each(t.rm, (r) => `        ${weightedFma(`dqAcc[${r * oc + c}]`, `ds${r}.${'xyzw'[jj]}`, 'kRow', guarded)}`)}
      }`,
  ),
)}
    }`;
}

/** dQ rows (times the softmax scale) to device memory; rows past Nq are not written. */
function writeDq(sh: BackwardShape): string {
  const { t, oc, d4 } = sh;
  return each(
    t.rm,
    (r) => `  {
    let n = o0 + ty * RM + ${r}u;
    if (n < params.seqQ) {
${each(oc, (c) => {
  const col = `tx + ${t.tx * c}u`;
  const guard = (c + 1) * t.tx <= d4 ? '' : `if (${col} < D4) `;
  return `      ${guard}{ dq[b * params.qsb + h * params.qsh + n * params.qsn + ${col}] = dqAcc[${r * oc + c}] * params.scale; }`;
})}
    }
  }`,
  );
}
