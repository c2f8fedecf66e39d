/*
 * CPU backend backward, the FlashAttention-2 way: nothing N×N is stored. From
 * the saved O and LSE it computes D_i = dO_i·O_i, then for each (row, key)
 * recomputes P_ij = exp(s_ij − LSE_i) and accumulates
 *   dV_j += P_ij dO_i,  dz_ij = P_ij (dO_i·V_j − D_i) score'(z_ij),
 *   dQ_i += scale dz_ij K_j,  dK_j += scale dz_ij Q_i.
 * Learned sinks get dsink_h = −Σ_i exp(sink_h − LSE_i) D_i; tables the score
 * modifier reads get P_ij (dP_ij − D_i) ∂score/∂T scattered to the element read.
 */
import type { MaskFn, ScoreFn } from '../mods/emit-js.js';
import { scatterTableGrads, type JsTableTerm } from '../mods/grad.js';
import { resolvePositions, type Positions } from '../mods/positions.js';
import { rowOffset, stridesOf, type Layout } from '../tensor/shape.js';
import type { Problem } from '../tensor/validate.js';

export interface CpuBackwardArgs {
  readonly problem: Problem;
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly out: Float32Array;
  readonly dout: Float32Array;
  /** [B, Hq, Nq], natural log. */
  readonly lse: Float32Array;
  readonly qLayout: Layout;
  readonly kLayout: Layout;
  readonly vLayout: Layout;
  readonly scale: number;
  readonly causal: boolean;
  readonly score?: ScoreFn;
  readonly scoreGrad?: ScoreFn;
  readonly mask?: MaskFn;
  readonly sinks?: ArrayLike<number>;
  readonly tableTerms?: readonly JsTableTerm[];
  /** The forward call's positions (causal and the modifiers see them). Default: bottom-right. */
  readonly positions?: Positions;
  /**
   * Only KV heads [from, to) (a worker's share; every batch of them): dK, dV of those heads,
   * dQ and dsinks of their query heads; the rest stays zero. Default every head.
   */
  readonly kvHeads?: readonly [number, number];
}

export interface CpuGrads {
  /** dQ in q's layout, dK and dV in k's and v's. */
  readonly dq: Float32Array;
  readonly dk: Float32Array;
  readonly dv: Float32Array;
  readonly dsinks?: Float32Array;
  /** By table id, with tableTerms. */
  readonly dtables?: Map<string, Float32Array>;
}

export function cpuBackward(a: CpuBackwardArgs): CpuGrads {
  const { batch: B, headsQ: Hq, headsKv: Hkv, seqQ: Nq, seqK: Nk, headDim: D } = a.problem;
  const qs = stridesOf({ batch: B, heads: Hq, seq: Nq, headDim: D }, a.qLayout);
  const ks = stridesOf({ batch: B, heads: Hkv, seq: Nk, headDim: D }, a.kLayout);
  const vs = stridesOf({ batch: B, heads: Hkv, seq: Nk, headDim: D }, a.vLayout);
  const group = Hq / Hkv;
  // Accumulate in float64, round once at the end.
  const dq = new Float64Array(a.q.length);
  const dk = new Float64Array(a.k.length);
  const dv = new Float64Array(a.v.length);
  const dsinks = a.sinks ? new Float64Array(Hq) : undefined;
  const dtables = a.tableTerms && new Map(a.tableTerms.map((t) => [t.table, new Float64Array(t.length)]));
  const pos = a.positions ?? resolvePositions(B, Nq, Nk);
  for (let b = 0; b < B; b++) {
    const [qPos, kPos] = [pos.query[b]!, pos.key[b]!];
    const [h0, h1] = a.kvHeads ? [a.kvHeads[0] * group, a.kvHeads[1] * group] : [0, Hq];
    for (let h = h0; h < h1; h++) {
      const hk = Math.floor(h / group);
      for (let i = 0; i < Nq; i++) {
        const lse = a.lse[(b * Hq + h) * Nq + i]!;
        if (lse === -Infinity) continue; // every key masked: zero gradient
        const qo = rowOffset(qs, b, h, i);
        let Di = 0;
        for (let d = 0; d < D; d++) Di += a.dout[qo + d]! * a.out[qo + d]!;
        if (dsinks) dsinks[h] -= Math.exp(a.sinks![h]! - lse) * Di;
        const last = a.causal ? Math.max(0, Math.min(Nk, qPos + i - kPos + 1)) : Nk;
        const [qp, kp] = [qPos + i, (j: number) => kPos + j]; // what the modifiers see
        for (let j = 0; j < last; j++) {
          if (a.mask && !a.mask(b, h, qp, kp(j))) continue;
          const ko = rowOffset(ks, b, hk, j);
          const vo = rowOffset(vs, b, hk, j);
          let dot = 0;
          let dp = 0;
          for (let d = 0; d < D; d++) {
            dot += a.q[qo + d]! * a.k[ko + d]!;
            dp += a.dout[qo + d]! * a.v[vo + d]!;
          }
          const z = dot * a.scale;
          const p = Math.exp((a.score ? a.score(z, b, h, qp, kp(j)) : z) - lse);
          const g = p * (dp - Di);
          const dz = g * (a.scoreGrad ? a.scoreGrad(z, b, h, qp, kp(j)) : 1) * a.scale;
          if (dtables) scatterTableGrads(a.tableTerms!, dtables, g, z, b, h, qp, kp(j));
          for (let d = 0; d < D; d++) {
            dq[qo + d] += dz * a.k[ko + d]!;
            dk[ko + d] += dz * a.q[qo + d]!;
            dv[vo + d] += p * a.dout[qo + d]!;
          }
        }
      }
    }
  }
  return {
    dq: Float32Array.from(dq),
    dk: Float32Array.from(dk),
    dv: Float32Array.from(dv),
    dsinks: dsinks && Float32Array.from(dsinks),
    dtables: dtables && new Map([...dtables].map(([id, t]) => [id, Float32Array.from(t)])),
  };
}
