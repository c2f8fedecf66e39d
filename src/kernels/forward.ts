/*
 * Fused attention forward (FlashAttention-2 style), f32.
 *
 * One workgroup owns BR query rows of one (batch, head). It stages its Q tile in
 * workgroup memory once (pre-multiplied by qkScale = scale·log2 e, so the softmax
 * uses exp2), then walks the K/V tiles of BC keys:
 *
 *   S   = Q Kᵀ                        (each invocation: RM rows × CN keys, keys strided by TX)
 *   m'  = max(m, rowmax(S))           (per-row max through a small workgroup reduction)
 *   P   = exp2(S − m'),  α = exp2(m − m')
 *   l   = α·l + rowsum(P)             (kept per invocation as a partial sum, reduced once at the end)
 *   acc = α·acc + P V                 (each invocation: RM rows × OC vec4 columns)
 *
 * and finally O = acc / l, LSE = (m + log2 l)·ln 2. Nothing N×N touches device memory.
 * Causal tiles entirely above the diagonal are never loaded (the loop stops at kvEnd);
 * the diagonal and ragged last tiles are masked per element.
 *
 * Versions (speed logged in docs/PERF.md):
 *   v1  register-tiled RM×CN scores and RM×4·OC outputs per invocation, Q/K/V/P staged
 *       in workgroup memory, K rows padded by one vec4 against bank conflicts,
 *       optional K/V sharing one staging buffer where workgroup memory is small.
 */
import { bindingDecl, MASKED, type KernelSpec } from './spec.js';
import { paramStruct, type ParamLayout } from './params.js';

/** Tile shape of the forward kernel. */
export interface ForwardTile {
  /** Invocations along keys / output columns. */
  readonly tx: number;
  /** Invocations along query rows. */
  readonly ty: number;
  /** Query rows per invocation. */
  readonly rm: number;
  /** Keys per invocation per tile. */
  readonly cn: number;
  /** Stage V in the K buffer after S is computed (less workgroup memory, one tile in flight). */
  readonly shareKv: boolean;
}

export interface ForwardConfig {
  readonly headDim: number;
  readonly causal: boolean;
  readonly tile: ForwardTile;
}

export const FORWARD_PARAMS: ParamLayout = {
  fields: [
    ['seqQ', 'u32'], ['seqK', 'u32'], ['groupSize', 'u32'], ['headsQ', 'u32'],
    ['qkScale', 'f32'], ['causalOffset', 'i32'], ['negInf', 'f32'], ['headBase', 'u32'],
    // strides in vec4 units: batch, head, seq
    ['qsb', 'u32'], ['qsh', 'u32'], ['qsn', 'u32'],
    ['ksb', 'u32'], ['ksh', 'u32'], ['ksn', 'u32'],
    ['vsb', 'u32'], ['vsh', 'u32'], ['vsn', 'u32'],
  ],
};

/** Rows of Q and keys of K/V per workgroup tile. */
export function tileRows(t: ForwardTile): { br: number; bc: number } {
  return { br: t.rm * t.ty, bc: t.cn * t.tx };
}

/** Workgroup memory in bytes that a tile shape needs at head dim `headDim`. */
export function forwardWorkgroupBytes(headDim: number, t: ForwardTile): number {
  const { br, bc } = tileRows(t);
  const d4 = headDim / 4;
  const q = br * d4;
  const k = bc * (d4 + 1);
  const v = t.shareKv ? 0 : bc * d4;
  const p = (br * bc) / 4;
  return (q + k + v + p) * 16 + br * t.tx * 4;
}

/** Output vec4 columns each invocation owns. */
function outCols(headDim: number, t: ForwardTile): number {
  return Math.ceil(headDim / 4 / t.tx);
}

/** Floats of accumulator each invocation holds; kept ≤ 64 so nothing spills. */
export function forwardAccFloats(headDim: number, t: ForwardTile): number {
  return t.rm * outCols(headDim, t) * 4;
}

/**
 * WGSL function copying keys [k0, k0 + BC) of one head from storage buffer `src`
 * into workgroup tile `tile` (row stride `rowStride` vec4s), zero past seqK.
 */
function tileLoader(name: string, tile: string, rowStride: string, src: string, seqStride: string): string {
  return /* wgsl */ `fn ${name}(base: u32, k0: u32, tid: u32) {
  for (var i = tid; i < BC * D4; i += NT) {
    let row = i / D4;
    let col = i % D4;
    let key = k0 + row;
    var x = vec4<f32>(0.0);
    if (key < params.seqK) { x = ${src}[base + key * ${seqStride} + col]; }
    ${tile}[row * ${rowStride} + col] = x;
  }
}`;
}

export function forwardKernel(cfg: ForwardConfig): KernelSpec {
  const { headDim, causal, tile: t } = cfg;
  if (headDim % 4 !== 0) throw new Error(`forwardKernel: head dim ${headDim} is not a multiple of 4`);
  const { br, bc } = tileRows(t);
  if (bc % 4 !== 0) throw new Error(`forwardKernel: keys per tile (${bc}) must be a multiple of 4`);
  const d4 = headDim / 4;
  const oc = outCols(headDim, t);
  // V lives in the K buffer (padded rows) when shared, else in its own dense buffer.
  const vTile = t.shareKv ? 'Ks' : 'Vs';
  const vRow = t.shareKv ? 'KROW' : 'D4';
  const loadV = 'loadV(vBase, k0, tid);';
  // Columns a thread owns may run past D4 when TX does not divide it (e.g. D = 80).
  const colGuard = d4 % t.tx === 0 ? 'true' : 'col < D4';

  const wgsl = /* wgsl */ `
${paramStruct('Params', FORWARD_PARAMS)}

const TX = ${t.tx}u;
const TY = ${t.ty}u;
const RM = ${t.rm}u;
const CN = ${t.cn}u;
const NT = TX * TY;
const BR = ${br}u;
const BC = ${bc}u;
const D4 = ${d4}u;
const OC = ${oc}u;
const KROW = D4 + 1u;
const CAUSAL = ${causal};
const MASKED = ${MASKED};

${bindingDecl(0, 'params', 'uniform', 'Params')}
${bindingDecl(1, 'q', 'read', 'array<vec4<f32>>')}
${bindingDecl(2, 'k', 'read', 'array<vec4<f32>>')}
${bindingDecl(3, 'v', 'read', 'array<vec4<f32>>')}
${bindingDecl(4, 'o', 'read_write', 'array<vec4<f32>>')}
${bindingDecl(5, 'lse', 'read_write', 'array<f32>')}

var<workgroup> Qs: array<vec4<f32>, ${br * d4}>;
var<workgroup> Ks: array<vec4<f32>, ${bc * (d4 + 1)}>;
${t.shareKv ? '' : `var<workgroup> Vs: array<vec4<f32>, ${bc * d4}>;`}
var<workgroup> Ps: array<vec4<f32>, ${(br * bc) / 4}>;
var<workgroup> red: array<f32, ${br * t.tx}>;

${tileLoader('loadK', 'Ks', 'KROW', 'k', 'params.ksn')}
${tileLoader('loadV', vTile, vRow, 'v', 'params.vsn')}

@compute @workgroup_size(TX, TY, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * TX + tx;
  let b = wg.z;
  let h = wg.y + params.headBase;
  let q0 = wg.x * BR;
  let hk = h / params.groupSize;
  let qBase = b * params.qsb + h * params.qsh;
  let kBase = b * params.ksb + hk * params.ksh;
  let vBase = b * params.vsb + hk * params.vsh;

  for (var i = tid; i < BR * D4; i += NT) {
    let n = q0 + i / D4;
    var x = vec4<f32>(0.0);
    if (n < params.seqQ) { x = q[qBase + n * params.qsn + i % D4] * params.qkScale; }
    Qs[i] = x;
  }

  var m: array<f32, RM>;
  var l: array<f32, RM>;
  var acc: array<vec4<f32>, ${t.rm * oc}>;
  for (var r = 0u; r < RM; r++) { m[r] = MASKED; }

  // Causal: no key past the one the tile's last row sees is ever loaded.
  var kvEnd = params.seqK;
  if (CAUSAL) { kvEnd = u32(clamp(i32(q0 + BR) + params.causalOffset, 0, i32(params.seqK))); }

  for (var k0 = 0u; k0 < kvEnd; k0 += BC) {
    workgroupBarrier();
    loadK(kBase, k0, tid);
    ${t.shareKv ? '' : loadV}
    workgroupBarrier();

    // S = Q Kᵀ for this invocation's RM rows × CN keys.
    var s = array<f32, ${t.rm * t.cn}>();
    for (var d = 0u; d < D4; d++) {
      var kk: array<vec4<f32>, CN>;
      for (var c = 0u; c < CN; c++) { kk[c] = Ks[(tx + TX * c) * KROW + d]; }
      for (var r = 0u; r < RM; r++) {
        let qq = Qs[(ty * RM + r) * D4 + d];
        for (var c = 0u; c < CN; c++) { s[r * CN + c] += dot(qq, kk[c]); }
      }
    }

    // Mask (ragged end, causal diagonal) and this invocation's share of the row max.
    for (var r = 0u; r < RM; r++) {
      let i = q0 + ty * RM + r;
      var mx = MASKED;
      for (var c = 0u; c < CN; c++) {
        let j = k0 + tx + TX * c;
        var visible = j < params.seqK;
        if (CAUSAL) { visible = visible && i32(j) <= i32(i) + params.causalOffset; }
        s[r * CN + c] = select(MASKED, s[r * CN + c], visible);
        mx = max(mx, s[r * CN + c]);
      }
      red[(ty * RM + r) * TX + tx] = mx;
    }
    workgroupBarrier();

    // Online softmax: new max, rescale, P to workgroup memory.
    for (var r = 0u; r < RM; r++) {
      var mNew = m[r];
      for (var t = 0u; t < TX; t++) { mNew = max(mNew, red[(ty * RM + r) * TX + t]); }
      let alpha = exp2(m[r] - mNew);
      m[r] = mNew;
      var rowSum = 0.0;
      for (var c = 0u; c < CN; c++) {
        let sc = s[r * CN + c];
        let p = select(0.0, exp2(sc - mNew), sc > MASKED);
        rowSum += p;
        let key = tx + TX * c;
        Ps[(ty * RM + r) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      l[r] = l[r] * alpha + rowSum;
      for (var c = 0u; c < OC; c++) { acc[r * OC + c] *= alpha; }
    }
    ${t.shareKv ? loadV : ''}
    workgroupBarrier();

    // acc += P V for this invocation's RM rows × OC vec4 columns.
    for (var j4 = 0u; j4 < BC / 4u; j4++) {
      var pp: array<vec4<f32>, RM>;
      for (var r = 0u; r < RM; r++) { pp[r] = Ps[(ty * RM + r) * (BC / 4u) + j4]; }
      for (var jj = 0u; jj < 4u; jj++) {
        let j = j4 * 4u + jj;
        for (var c = 0u; c < OC; c++) {
          let col = tx + TX * c;
          if (${colGuard}) {
            let vv = ${vTile}[j * ${vRow} + col];
            for (var r = 0u; r < RM; r++) { acc[r * OC + c] += pp[r][jj] * vv; }
          }
        }
      }
    }
  }

  // Reduce the partial denominators of each row, then O = acc / l and LSE.
  workgroupBarrier();
  for (var r = 0u; r < RM; r++) { red[(ty * RM + r) * TX + tx] = l[r]; }
  workgroupBarrier();
  for (var r = 0u; r < RM; r++) {
    let i = q0 + ty * RM + r;
    var lt = 0.0;
    for (var t = 0u; t < TX; t++) { lt += red[(ty * RM + r) * TX + t]; }
    if (i < params.seqQ) {
      let inv = select(0.0, 1.0 / lt, lt > 0.0);
      for (var c = 0u; c < OC; c++) {
        let col = tx + TX * c;
        if (${colGuard}) { o[qBase + i * params.qsn + col] = acc[r * OC + c] * inv; }
      }
      if (tx == 0u) {
        lse[(b * params.headsQ + h) * params.seqQ + i] =
          select(params.negInf, (m[r] + log2(lt)) * 0.6931471805599453, lt > 0.0);
      }
    }
  }
}
`;
  return {
    label: `attention.forward.v1 d${headDim}${causal ? ' causal' : ''} br${br} bc${bc} ${t.tx}x${t.ty}${t.shareKv ? ' sharedKV' : ''}`,
    wgsl,
    workgroupSize: [t.tx, t.ty, 1],
    bindings: [
      { name: 'params', kind: 'uniform' },
      { name: 'q', kind: 'read' },
      { name: 'k', kind: 'read' },
      { name: 'v', kind: 'read' },
      { name: 'o', kind: 'read_write' },
      { name: 'lse', kind: 'read_write' },
    ],
    workgroupBytes: forwardWorkgroupBytes(headDim, t),
  };
}
