/*
 * Fused attention backward (FlashAttention-2 style), f32, deterministic.
 *
 *   preprocess  D_i = dO_i · O_i                          one invocation per row
 *   dkdv        per K/V tile, for every query head of its GQA group and every
 *               Q tile that can see it: recompute P = exp(s − LSE) and
 *               dS = P (dO·V − D) score'(z) for a BR×BC block in workgroup
 *               memory, then dV_j += Σ_i P_ij dO_i, dK_j += scale Σ_i dS_ij Q_i
 *   dq          per Q tile, over the K/V tiles it sees: the same block, then
 *               dQ_i += scale Σ_j dS_ij K_j
 *
 * dQ gets its own pass instead of atomics, so every gradient element is written
 * by exactly one invocation, in a fixed order: the same bits on every run.
 * Nothing N×N touches device memory.
 *
 * Versions (speed logged in docs/PERF.md):
 *   v1  the above, scalar phases (one (row, key) pair per invocation for the
 *       block, vec4 column slices per invocation for the accumulation).
 */
import { AUX_BINDING, type KernelVariant } from './forward.js';
import { paramStruct, type ParamLayout } from './params.js';
import { declareBindings, MASKED, PARAMS_BINDING, type Binding, type KernelSpec } from './spec.js';

/** Tile shape of the backward kernels: BR query rows × BC keys, NT invocations. */
export interface BackwardTile {
  readonly br: number;
  readonly bc: number;
  readonly threads: number;
}

export const BACKWARD_PARAMS: ParamLayout = {
  fields: [
    ['seqQ', 'u32'], ['seqK', 'u32'], ['groupSize', 'u32'], ['headsQ', 'u32'],
    ['scale', 'f32'], ['causalOffset', 'i32'], ['headsKv', 'u32'], ['rows', 'u32'],
    // strides in vec4 units (q, out, dout and dq share q's; k, dk share k's; v, dv share v's)
    ['qsb', 'u32'], ['qsh', 'u32'], ['qsn', 'u32'],
    ['ksb', 'u32'], ['ksh', 'u32'], ['ksn', 'u32'],
    ['vsb', 'u32'], ['vsh', 'u32'], ['vsn', 'u32'],
  ],
};

export const BACKWARD_TILES: readonly BackwardTile[] = [
  { br: 32, bc: 32, threads: 256 },
  { br: 16, bc: 32, threads: 128 },
  { br: 16, bc: 16, threads: 128 },
  { br: 8, bc: 16, threads: 128 },
  { br: 8, bc: 8, threads: 64 },
  { br: 4, bc: 8, threads: 64 },
  { br: 4, bc: 4, threads: 32 },
];

/** Workgroup bytes of the dK/dV and dQ kernels (the larger of the two). */
export function backwardWorkgroupBytes(headDim: number, t: BackwardTile): number {
  const d4 = headDim / 4;
  return ((t.bc * (d4 + 1)) * 2 + t.br * d4 * 2) * 16 + t.br * t.bc * 8 + t.br * 8;
}

/** Vec4 columns of accumulator per invocation: dK and dV (per key) or dQ (per row). */
function colsPer(headDim: number, rowsOwned: number, threads: number): number {
  return Math.ceil(headDim / 4 / (threads / rowsOwned));
}

export function chooseBackwardTile(
  headDim: number,
  limits: { maxComputeWorkgroupStorageSize: number; maxComputeInvocationsPerWorkgroup: number },
): BackwardTile | undefined {
  return BACKWARD_TILES.find(
    (t) =>
      t.threads <= limits.maxComputeInvocationsPerWorkgroup &&
      backwardWorkgroupBytes(headDim, t) <= limits.maxComputeWorkgroupStorageSize &&
      colsPer(headDim, t.bc, t.threads) * 8 <= 64 &&
      colsPer(headDim, t.br, t.threads) * 4 <= 64,
  );
}

const vec4Array = (name: string, kind: 'read' | 'read_write'): Binding => ({ name, kind, type: 'array<vec4<f32>>' });
const f32Array = (name: string, kind: 'read' | 'read_write'): Binding => ({ name, kind, type: 'array<f32>' });

/** D_i = dO_i · O_i for every row (b, h, i); D is [B, Hq, Nq]. */
export function backwardPreprocessKernel(headDim: number): KernelSpec {
  const bindings = [PARAMS_BINDING, vec4Array('o', 'read'), vec4Array('dout', 'read'), f32Array('dd', 'read_write')];
  const wgsl = /* wgsl */ `
${paramStruct('Params', BACKWARD_PARAMS)}
${declareBindings(bindings)}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * 64u;
  if (row >= params.rows) { return; }
  let i = row % params.seqQ;
  let bh = row / params.seqQ;
  let base = (bh / params.headsQ) * params.qsb + (bh % params.headsQ) * params.qsh + i * params.qsn;
  var acc = 0.0;
  for (var c = 0u; c < ${headDim / 4}u; c++) { acc += dot(o[base + c], dout[base + c]); }
  dd[row] = acc;
}
`;
  return { label: 'attention.backward.preprocess', wgsl, workgroupSize: [64, 1, 1], bindings, workgroupBytes: 0 };
}

/** Shared declarations and the P/dS block of both main kernels. */
function common(headDim: number, causal: boolean, t: BackwardTile, v: KernelVariant | undefined, gradFn: string | undefined) {
  const d4 = headDim / 4;
  const decls = /* wgsl */ `
${paramStruct('Params', BACKWARD_PARAMS)}
const BR = ${t.br}u;
const BC = ${t.bc}u;
const NT = ${t.threads}u;
const D4 = ${d4}u;
const KROW = D4 + 1u;
const CAUSAL = ${causal};
const MASKED = ${MASKED};
${v?.scoreFn ?? ''}
${gradFn ?? ''}
${v?.maskFn ?? ''}

var<workgroup> Qs: array<vec4<f32>, ${t.br * d4}>;
var<workgroup> dOs: array<vec4<f32>, ${t.br * d4}>;
var<workgroup> Ks: array<vec4<f32>, ${t.bc * (d4 + 1)}>;
var<workgroup> Vs: array<vec4<f32>, ${t.bc * (d4 + 1)}>;
var<workgroup> Ps: array<f32, ${t.br * t.bc}>;
var<workgroup> dSs: array<f32, ${t.br * t.bc}>;
var<workgroup> lseS: array<f32, ${t.br}>;
var<workgroup> Drow: array<f32, ${t.br}>;

// Rows [q0, q0 + BR) of Q and dO for query head h, with their LSE and D (LSE −∞ past Nq).
fn loadRows(b: u32, h: u32, q0: u32, tid: u32) {
  let base = b * params.qsb + h * params.qsh;
  for (var e = tid; e < BR * D4; e += NT) {
    let n = q0 + e / D4;
    var x = vec4<f32>(0.0);
    var g = vec4<f32>(0.0);
    if (n < params.seqQ) { x = q[base + n * params.qsn + e % D4]; g = dout[base + n * params.qsn + e % D4]; }
    Qs[e] = x;
    dOs[e] = g;
  }
  for (var r = tid; r < BR; r += NT) {
    let n = q0 + r;
    var l = MASKED;
    var dd0 = 0.0;
    if (n < params.seqQ) { l = lse[(b * params.headsQ + h) * params.seqQ + n]; dd0 = dd[(b * params.headsQ + h) * params.seqQ + n]; }
    lseS[r] = l;
    Drow[r] = dd0;
  }
}

// Keys [k0, k0 + BC) of K and V for kv head hk (zero past Nk).
fn loadKeys(b: u32, hk: u32, k0: u32, tid: u32) {
  for (var e = tid; e < BC * D4; e += NT) {
    let n = k0 + e / D4;
    var x = vec4<f32>(0.0);
    var y = vec4<f32>(0.0);
    if (n < params.seqK) {
      x = k[b * params.ksb + hk * params.ksh + n * params.ksn + e % D4];
      y = v[b * params.vsb + hk * params.vsh + n * params.vsn + e % D4];
    }
    Ks[(e / D4) * KROW + e % D4] = x;
    Vs[(e / D4) * KROW + e % D4] = y;
  }
}

// P and dS of the BR×BC block (rows q0…, keys k0…) into Ps and dSs; dS is w.r.t. z = scale·q·k.
fn block(b: u32, h: u32, q0: u32, k0: u32, tid: u32) {
  for (var e = tid; e < BR * BC; e += NT) {
    let r = e / BC;
    let c = e % BC;
    let i = q0 + r;
    let j = k0 + c;
    let l = lseS[r];
    var visible = i < params.seqQ && j < params.seqK && l > MASKED;
    if (CAUSAL) { visible = visible && i32(j) <= i32(i) + params.causalOffset; }
    ${v?.maskFn ? 'visible = visible && maskMod(i32(b), i32(h), i32(i), i32(j));' : ''}
    var z = 0.0;
    var dp = 0.0;
    for (var d = 0u; d < D4; d++) {
      z += dot(Qs[r * D4 + d], Ks[c * KROW + d]);
      dp += dot(dOs[r * D4 + d], Vs[c * KROW + d]);
    }
    z *= params.scale;
    let s = ${v?.scoreFn ? 'scoreMod(z, i32(b), i32(h), i32(i), i32(j))' : 'z'};
    let p = select(0.0, exp(s - l), visible);
    Ps[e] = p;
    dSs[e] = p * (dp - Drow[r])${gradFn ? ' * scoreModGrad(z, i32(b), i32(h), i32(i), i32(j))' : ''};
  }
}
`;
  return decls;
}

function bindingsFor(v: KernelVariant | undefined, outputs: Binding[]): Binding[] {
  return [
    PARAMS_BINDING,
    vec4Array('q', 'read'), vec4Array('k', 'read'), vec4Array('v', 'read'), vec4Array('dout', 'read'),
    f32Array('lse', 'read'), f32Array('dd', 'read'),
    ...outputs,
    ...(v?.readsTables ? [AUX_BINDING] : []),
  ];
}

export interface BackwardConfig {
  readonly headDim: number;
  readonly causal: boolean;
  readonly tile: BackwardTile;
  readonly variant?: KernelVariant;
  /** `fn scoreModGrad(score: f32, b, h, q, kv) -> f32`: d score / d z, with a score modifier. */
  readonly scoreGradFn?: string;
}

/** dK and dV: one workgroup per (K/V tile, kv head, batch); loops over its query heads and Q tiles. */
export function backwardKvKernel(cfg: BackwardConfig): KernelSpec {
  const { headDim, tile: t } = cfg;
  const tpk = t.threads / t.bc; // invocations per key
  const cols = colsPer(headDim, t.bc, t.threads);
  const bindings = bindingsFor(cfg.variant, [vec4Array('dk', 'read_write'), vec4Array('dv', 'read_write')]);
  const wgsl = /* wgsl */ `${common(headDim, cfg.causal, t, cfg.variant, cfg.scoreGradFn)}
${declareBindings(bindings)}

@compute @workgroup_size(${t.threads}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let k0 = wg.x * BC;
  let hk = wg.y;
  let b = wg.z;
  let key = tid / ${tpk}u;
  let lane = tid % ${tpk}u;
  var dK: array<vec4<f32>, ${cols}>;
  var dV: array<vec4<f32>, ${cols}>;
  loadKeys(b, hk, k0, tid);
  // Causal: Q tiles whose rows all end before key k0 sees nothing of this tile.
  var qStart = 0u;
  if (CAUSAL) { qStart = u32(max(i32(k0) - params.causalOffset, 0)) / BR; }
  for (var g = 0u; g < params.groupSize; g++) {
    let h = hk * params.groupSize + g;
    for (var q0 = qStart * BR; q0 < params.seqQ; q0 += BR) {
      workgroupBarrier();
      loadRows(b, h, q0, tid);
      workgroupBarrier();
      block(b, h, q0, k0, tid);
      workgroupBarrier();
      for (var r = 0u; r < BR; r++) {
        let p = Ps[r * BC + key];
        let ds = dSs[r * BC + key];
        for (var u = 0u; u < ${cols}u; u++) {
          let c = lane + ${tpk}u * u;
          if (c < D4) {
            dV[u] += p * dOs[r * D4 + c];
            dK[u] += ds * Qs[r * D4 + c];
          }
        }
      }
    }
  }
  let n = k0 + key;
  if (n < params.seqK) {
    for (var u = 0u; u < ${cols}u; u++) {
      let c = lane + ${tpk}u * u;
      if (c < D4) {
        dk[b * params.ksb + hk * params.ksh + n * params.ksn + c] = dK[u] * params.scale;
        dv[b * params.vsb + hk * params.vsh + n * params.vsn + c] = dV[u];
      }
    }
  }
}
`;
  return {
    label: `attention.backward.dkdv.v1 d${headDim}${cfg.causal ? ' causal' : ''}${cfg.variant ? ' variant' : ''} br${t.br} bc${t.bc}`,
    wgsl,
    workgroupSize: [t.threads, 1, 1],
    bindings,
    workgroupBytes: backwardWorkgroupBytes(headDim, t),
  };
}

/** dQ: one workgroup per (Q tile, query head, batch); loops over the K/V tiles it sees. */
export function backwardQKernel(cfg: BackwardConfig): KernelSpec {
  const { headDim, tile: t } = cfg;
  const tpr = t.threads / t.br; // invocations per row
  const cols = colsPer(headDim, t.br, t.threads);
  const bindings = bindingsFor(cfg.variant, [vec4Array('dq', 'read_write')]);
  const wgsl = /* wgsl */ `${common(headDim, cfg.causal, t, cfg.variant, cfg.scoreGradFn)}
${declareBindings(bindings)}

@compute @workgroup_size(${t.threads}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let q0 = wg.x * BR;
  let h = wg.y;
  let b = wg.z;
  let hk = h / params.groupSize;
  let row = tid / ${tpr}u;
  let lane = tid % ${tpr}u;
  var dQ: array<vec4<f32>, ${cols}>;
  loadRows(b, h, q0, tid);
  var kvEnd = params.seqK;
  if (CAUSAL) { kvEnd = u32(clamp(i32(q0 + BR) + params.causalOffset, 0, i32(params.seqK))); }
  for (var k0 = 0u; k0 < kvEnd; k0 += BC) {
    workgroupBarrier();
    loadKeys(b, hk, k0, tid);
    workgroupBarrier();
    block(b, h, q0, k0, tid);
    workgroupBarrier();
    for (var j = 0u; j < BC; j++) {
      let ds = dSs[row * BC + j];
      for (var u = 0u; u < ${cols}u; u++) {
        let c = lane + ${tpr}u * u;
        if (c < D4) { dQ[u] += ds * Ks[j * KROW + c]; }
      }
    }
  }
  let n = q0 + row;
  if (n < params.seqQ) {
    for (var u = 0u; u < ${cols}u; u++) {
      let c = lane + ${tpr}u * u;
      if (c < D4) { dq[b * params.qsb + h * params.qsh + n * params.qsn + c] = dQ[u] * params.scale; }
    }
  }
}
`;
  return {
    label: `attention.backward.dq.v1 d${headDim}${cfg.causal ? ' causal' : ''}${cfg.variant ? ' variant' : ''} br${t.br} bc${t.bc}`,
    wgsl,
    workgroupSize: [t.threads, 1, 1],
    bindings,
    workgroupBytes: backwardWorkgroupBytes(headDim, t),
  };
}
