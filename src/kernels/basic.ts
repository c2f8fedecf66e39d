/*
 * The teaching kernel: FlashAttention's fused forward in its plainest form, and the
 * differential oracle the fast kernel (forward.ts) is checked against.
 *
 * One invocation computes one query row i of one (batch, head). The workgroup's rows
 * walk the keys together in tiles of BC, each tile of K and V loaded once into
 * workgroup memory by all of them; the row's softmax is never materialised, only
 * three running values in registers (the online softmax):
 *
 *   m    the largest score seen so far
 *   l    Σ exp(s − m) over the keys seen so far
 *   acc  Σ exp(s − m)·v over the keys seen so far   (D floats)
 *
 * When a tile raises the max to m', what was summed under the old max is rescaled by
 * α = exp(m − m'). After the last tile O = acc / l and LSE = m + log l.
 * No modifiers, no sinks, no split-K, no vec4: plain f32 loops, natural exp.
 */
import { paramStruct, type ParamLayout } from './params.js';
import { declareBindings, MASKED, PARAMS_BINDING, type Binding, type KernelSpec } from './spec.js';
import type { Strides } from '../tensor/shape.js';
import type { Problem } from '../tensor/validate.js';

/** Query rows (= invocations) per workgroup. */
export const BASIC_ROWS = 64;

/** Keys per tile: K and V tiles together take at most 16 KiB, WebGPU's guaranteed workgroup memory. */
export function basicKeyTile(headDim: number): number {
  return headDim > 128 ? 8 : 16;
}

export const BASIC_PARAMS: ParamLayout = {
  fields: [
    // groupSize = Hq / Hkv; causal 0 or 1; negInf = −∞ from the host (WGSL cannot write it as a constant)
    ['seqQ', 'u32'],
    ['seqK', 'u32'],
    ['headsQ', 'u32'],
    ['groupSize', 'u32'],
    ['causal', 'u32'],
    ['scale', 'f32'],
    ['negInf', 'f32'],
    // strides in floats of batch, head and seq (the head-dim stride is 1) of q, k, v and out
    ['qsb', 'u32'],
    ['qsh', 'u32'],
    ['qsn', 'u32'],
    ['ksb', 'u32'],
    ['ksh', 'u32'],
    ['ksn', 'u32'],
    ['vsb', 'u32'],
    ['vsh', 'u32'],
    ['vsn', 'u32'],
    ['osb', 'u32'],
    ['osh', 'u32'],
    ['osn', 'u32'],
  ],
};

/** The teaching forward kernel for head dim `headDim` (32, 64, 80, 96, 128 or 256). */
export function basicKernel(headDim: number): KernelSpec {
  const bc = basicKeyTile(headDim);
  const f32s = (name: string, kind: 'read' | 'read_write'): Binding => ({ name, kind, type: 'array<f32>' });
  // lse is [B, Hq, Nq]; the others are [B, H, N, D] at the strides of BASIC_PARAMS.
  const bindings = [PARAMS_BINDING, f32s('q', 'read'), f32s('k', 'read'), f32s('v', 'read'), f32s('out', 'read_write'), f32s('lse', 'read_write')];
  const wgsl = /* wgsl */ `
${paramStruct('Params', BASIC_PARAMS)}
${declareBindings(bindings)}

const D = ${headDim}u;
const BC = ${bc}u;
const ROWS = ${BASIC_ROWS}u;
// A masked score: finite, so no arithmetic below ever meets an infinity.
const MASKED = ${MASKED};

var<workgroup> Ks: array<f32, ${bc * headDim}>;
var<workgroup> Vs: array<f32, ${bc * headDim}>;

@compute @workgroup_size(${BASIC_ROWS}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wg.x * ROWS + lid;      // this invocation's query row
  let h = wg.y;
  let b = wg.z;
  let hk = h / params.groupSize;  // GQA: Hq / Hkv query heads share one K/V head
  // Rows past Nq still help load tiles: every invocation must reach every barrier.
  let inRange = i < params.seqQ;
  // Causal, bottom-right aligned: key j is visible iff j ≤ i + Nk − Nq.
  let lastKey = i32(i) + i32(params.seqK) - i32(params.seqQ);

  var qRow: array<f32, D>;
  if (inRange) {
    for (var d = 0u; d < D; d++) { qRow[d] = q[b * params.qsb + h * params.qsh + i * params.qsn + d]; }
  }
  var m = MASKED;
  var l = 0.0;
  var acc: array<f32, D>;  // zeros: WGSL initialises every var

  for (var t = 0u; t < params.seqK; t += BC) {
    // Stage the tile's BC keys and values; zeros past Nk.
    for (var e = lid; e < BC * D; e += ROWS) {
      let j = t + e / D;
      let d = e % D;
      Ks[e] = 0.0;
      Vs[e] = 0.0;
      if (j < params.seqK) {
        Ks[e] = k[b * params.ksb + hk * params.ksh + j * params.ksn + d];
        Vs[e] = v[b * params.vsb + hk * params.vsh + j * params.vsn + d];
      }
    }
    workgroupBarrier();

    if (inRange) {
      // S = scale · q·kⱼ for the tile's keys (rounded once after the dot product, like the reference).
      var s: array<f32, BC>;
      var tileMax = MASKED;
      for (var c = 0u; c < BC; c++) {
        let j = t + c;
        s[c] = MASKED;
        if (j < params.seqK && (params.causal == 0u || i32(j) <= lastKey)) {
          var dot = 0.0;
          for (var d = 0u; d < D; d++) { dot += qRow[d] * Ks[c * D + d]; }
          s[c] = dot * params.scale;
        }
        tileMax = max(tileMax, s[c]);
      }
      // The online softmax: a new max m', the old sums rescaled to it by α, the tile added.
      let mNew = max(m, tileMax);                    // m' = max(m, rowmax(S))
      let alpha = exp(m - mNew);                     // α = exp(m − m')
      var p: array<f32, BC>;
      var rowSum = 0.0;
      for (var c = 0u; c < BC; c++) {
        // A masked key weighs exactly 0 (in an all-masked tile exp(s − m') would be exp(0) = 1).
        p[c] = select(0.0, exp(s[c] - mNew), s[c] > MASKED);   // P = exp(S − m')
        rowSum += p[c];
      }
      l = alpha * l + rowSum;                        // l = α·l + rowsum(P)
      for (var d = 0u; d < D; d++) {                 // acc = α·acc + P·V
        var a = alpha * acc[d];
        for (var c = 0u; c < BC; c++) { a += p[c] * Vs[c * D + d]; }
        acc[d] = a;
      }
      m = mNew;
    }
    // The next tile overwrites Ks and Vs: wait until every row is done with them.
    workgroupBarrier();
  }

  if (!inRange) { return; }
  // A row that saw no key has l = 0: O = 0 and LSE = −∞, never 0/0.
  let seen = l > 0.0;
  for (var d = 0u; d < D; d++) {
    out[b * params.osb + h * params.osh + i * params.osn + d] = select(0.0, acc[d] / l, seen);
  }
  lse[(b * params.headsQ + h) * params.seqQ + i] = select(params.negInf, m + log(l), seen);
}
`;
  const label = `attention.forward.basic d${headDim}`;
  return { label, wgsl, workgroupSize: [BASIC_ROWS, 1, 1], bindings, workgroupBytes: 2 * bc * headDim * 4 };
}

/** Workgroups of the basic kernel: [ceil(Nq / BASIC_ROWS), Hq, B]. */
export function basicGrid(problem: Problem): [number, number, number] {
  return [Math.ceil(problem.seqQ / BASIC_ROWS), problem.headsQ, problem.batch];
}

/** Element strides of the four tensors the basic kernel reads and writes (any layout; see tensor/shape.ts stridesOf). */
export type BasicStrides = Readonly<Record<'q' | 'k' | 'v' | 'out', Strides>>;

/** Uniform values of the basic kernel by field name (BASIC_PARAMS), for packParams. */
export function basicParams(problem: Problem, strides: BasicStrides, scale: number, causal: boolean): Record<string, number> {
  const s = (p: string, st: Strides) => ({ [`${p}sb`]: st.batch, [`${p}sh`]: st.head, [`${p}sn`]: st.seq });
  const { seqQ, seqK, headsQ, headsKv } = problem;
  return {
    seqQ,
    seqK,
    headsQ,
    groupSize: headsQ / headsKv,
    causal: causal ? 1 : 0,
    scale,
    negInf: -Infinity,
    ...s('q', strides.q),
    ...s('k', strides.k),
    ...s('v', strides.v),
    ...s('o', strides.out),
  };
}
