/*
 * The specification of the backward pass, in float64, recomputing everything
 * from Q, K, V (nothing saved is trusted). For loss L with dO = ∂L/∂O:
 *
 *   z = scale·q·k,  s = score(z) (masked: −∞),  P = softmax(s) (sinks in the denominator)
 *   dV_j = Σ_i P_ij dO_i
 *   dP_ij = dO_i·V_j,  D_i = dO_i·O_i,  dS_ij = P_ij (dP_ij − D_i)
 *   dz_ij = dS_ij · score'(z_ij)
 *   dQ_i = scale Σ_j dz_ij K_j,   dK_j = scale Σ_i dz_ij Q_i   (summed over a GQA group)
 *   dsink_h = −Σ_i P_sink,i D_i
 *   dT[idx] = Σ_ij P_ij (dP_ij − D_i) ∂score/∂T[idx]   for each table read in the score modifier
 *
 * Rows with every key masked (and no sink) have P = 0 and contribute nothing.
 * With `savedOut`, D_i uses the O a forward stored (an f16 O's rounding is then the
 * backward's input, as it is for the kernels, not an error charged to them).
 */
import type { ScoreFn } from '../mods/emit-js.js';
import { scatterTableGrads, type JsTableTerm } from '../mods/grad.js';
import { rowOffset, stridesOf, type Strides } from '../tensor/shape.js';
import { resolvePositions } from '../mods/positions.js';
import type { HostTensor, ReferenceOptions } from './forward.js';
import { checkReferenceInputs } from './check.js';
import { AttentionInputError } from '../tensor/errors.js';

export interface ReferenceBackwardOptions extends ReferenceOptions {
  /** d score / d z of the score modifier (required with `score`). */
  readonly scoreGrad?: ScoreFn;
  /** The score modifier's table reads (mods/grad.ts jsTableTerms): their gradients come back in `dtables`. */
  readonly tableTerms?: readonly JsTableTerm[];
  /** The forward's stored O, in dO's layout: D_i = dO_i·O_i reads it instead of the exact O. */
  readonly savedOut?: ArrayLike<number>;
}

export interface ReferenceGrads {
  /** [B, Hq, Nq, D], bhnd. */
  readonly dq: Float64Array;
  /** [B, Hkv, Nk, D], bhnd. */
  readonly dk: Float64Array;
  readonly dv: Float64Array;
  /** One per query head, when sinks are given. */
  readonly dsinks?: Float64Array;
  /** Gradient of each table the score modifier reads, by table id, when `tableTerms` are given. */
  readonly dtables?: Map<string, Float64Array>;
  /**
   * Magnitudes behind each table gradient element, for tolerances: Σ P·|∂s/∂T| and
   * Σ P·|dP − D|·|∂s/∂T| over the pairs that read it.
   */
  readonly dtablesScale?: { readonly p: Map<string, Float64Array>; readonly pd: Map<string, Float64Array> };
}

export function referenceBackward(q: HostTensor, k: HostTensor, v: HostTensor, dout: HostTensor, opts: ReferenceBackwardOptions = {}): ReferenceGrads {
  checkReferenceInputs(q, k, v, dout);
  const { batch: B, heads: Hq, seq: Nq, headDim: D } = q.shape;
  const { heads: Hkv, seq: Nk } = k.shape;
  if (opts.score && !opts.scoreGrad) throw new AttentionInputError('referenceBackward: a score modifier needs its derivative (scoreGrad)');
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const group = Hq / Hkv;
  const [qs, ks, vs, os]: Strides[] = [q, k, v, dout].map((t) => stridesOf(t.shape, t.layout));
  const dq = new Float64Array(B * Hq * Nq * D);
  const dk = new Float64Array(B * Hkv * Nk * D);
  const dv = new Float64Array(B * Hkv * Nk * D);
  const dsinks = opts.sinks ? new Float64Array(Hq) : undefined;
  const tableMaps = () => opts.tableTerms && new Map(opts.tableTerms.map((t) => [t.table, new Float64Array(t.length)]));
  const dtables = tableMaps();
  const scaleP = tableMaps();
  const scalePD = tableMaps();
  const z = new Float64Array(Nk);
  const s = new Float64Array(Nk);
  const o = new Float64Array(D);
  const pos = resolvePositions(B, Nq, Nk, opts.queryOffset, opts.keyOffset);

  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const hk = Math.floor(h / group);
      for (let i = 0; i < Nq; i++) {
        // With `rows`, only those rows run: their dQ is exact, dK/dV/dsinks are partial sums.
        if (opts.rows && !opts.rows(b, h, i)) continue;
        const qo = rowOffset(qs, b, h, i);
        const go = rowOffset(os, b, h, i);
        let max = opts.sinks ? opts.sinks[h]! : -Infinity;
        const qp = pos.query[b]! + i; // positions: what causal and the modifiers see
        const kp = (j: number) => pos.key[b]! + j;
        for (let j = 0; j < Nk; j++) {
          if ((opts.causal && kp(j) > qp) || (opts.mask && !opts.mask(b, h, qp, kp(j)))) {
            s[j] = -Infinity;
            continue;
          }
          const ko = rowOffset(ks, b, hk, j);
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q.data[qo + d]! * k.data[ko + d]!;
          z[j] = dot * scale;
          s[j] = opts.score ? opts.score(z[j]!, b, h, qp, kp(j)) : z[j]!;
          max = Math.max(max, s[j]!);
        }
        if (max === -Infinity) continue;
        let sum = opts.sinks ? Math.exp(opts.sinks[h]! - max) : 0;
        for (let j = 0; j < Nk; j++) if (s[j] !== -Infinity) sum += Math.exp(s[j]! - max);
        const lse = max + Math.log(sum);
        // O_i and D_i = dO_i · O_i
        o.fill(0);
        for (let j = 0; j < Nk; j++) {
          if (s[j] === -Infinity) continue;
          const p = Math.exp(s[j]! - lse);
          const vo = rowOffset(vs, b, hk, j);
          for (let d = 0; d < D; d++) o[d] += p * v.data[vo + d]!;
        }
        let Di = 0;
        const saved = opts.savedOut;
        for (let d = 0; d < D; d++) Di += dout.data[go + d]! * (saved ? saved[go + d]! : o[d]!);
        if (dsinks) dsinks[h] -= Math.exp(opts.sinks![h]! - lse) * Di;
        for (let j = 0; j < Nk; j++) {
          if (s[j] === -Infinity) continue;
          const p = Math.exp(s[j]! - lse);
          const ko = rowOffset(ks, b, hk, j);
          const vo = rowOffset(vs, b, hk, j);
          let dp = 0;
          for (let d = 0; d < D; d++) dp += dout.data[go + d]! * v.data[vo + d]!;
          const g = p * (dp - Di);
          const dz = g * (opts.scoreGrad ? opts.scoreGrad(z[j]!, b, h, qp, kp(j)) : 1);
          if (dtables) {
            scatterTableGrads(opts.tableTerms!, dtables, g, z[j]!, b, h, qp, kp(j));
            scatterTableGrads(opts.tableTerms!, scaleP!, p, z[j]!, b, h, qp, kp(j), true);
            scatterTableGrads(opts.tableTerms!, scalePD!, p * Math.abs(dp - Di), z[j]!, b, h, qp, kp(j), true);
          }
          const dqo = ((b * Hq + h) * Nq + i) * D;
          const dko = ((b * Hkv + hk) * Nk + j) * D;
          for (let d = 0; d < D; d++) {
            dq[dqo + d] += scale * dz * k.data[ko + d]!;
            dk[dko + d] += scale * dz * q.data[qo + d]!;
            dv[dko + d] += p * dout.data[go + d]!;
          }
        }
      }
    }
  }
  return { dq, dk, dv, dsinks, dtables, dtablesScale: scaleP && scalePD && { p: scaleP, pd: scalePD } };
}
