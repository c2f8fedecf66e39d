/*
 * The specification: naive attention forward in float64, never optimised.
 *
 *   S = scale · Q Kᵀ              [B, Hq, Nq, Nk]
 *   S[i, j] = −∞ where masked     (causal: key j visible from query i iff its position
 *                                  kOff + j ≤ the query's qOff + i; by default keys sit at
 *                                  0 … Nk−1 and queries at Nk−Nq … Nk−1, the bottom-right
 *                                  alignment of FlashAttention 2.1+)
 *   P = softmax(S) along j
 *   O = P V                       [B, Hq, Nq, D]
 *   LSE[i] = log Σ_j exp(S[i, j]) [B, Hq, Nq]
 *
 * Query head h reads key/value head floor(h / (Hq / Hkv)) (grouped-query attention).
 * A row whose keys are all masked gives O = 0 and LSE = −∞. Non-finite inputs
 * propagate and are never invented: a NaN score (NaN in q, or in a key the row
 * sees) makes the row's O and LSE NaN; an inf or NaN in V reaches exactly the
 * rows that give its key a nonzero weight; masked keys reach nothing.
 *
 * Variants: a score modifier rewrites S[i, j] = score(S[i, j], b, h, qOff + i, kOff + j);
 * a mask modifier masks where mask(b, h, qOff + i, kOff + j) is false (modifiers see
 * positions, mods/positions.ts); learned sinks add exp(sink[h])
 * to each row's denominator (so LSE = log(Σ_j exp S[i, j] + exp sink[h]), and a
 * fully masked row gives O = 0, LSE = sink[h]).
 *
 * With precision 'f32' every arithmetic result is rounded to float32: that is the
 * "plain float32 naive computation" whose error against float64 sets test tolerances.
 * With 'f16' it is naive attention as an f16 pipeline runs it (FlashAttention's
 * accuracy baseline): f32 arithmetic, but S, the normalised P and O stored in f16.
 */
import { roundHalf } from '../tensor/half.js';
import { checkReferenceInputs } from './check.js';
import type { MaskFn, ScoreFn } from '../mods/emit-js.js';
import { resolvePositions, type OffsetOption } from '../mods/positions.js';
import { rowOffset, stridesOf, type Layout, type Shape4 } from '../tensor/shape.js';

/** A host tensor: data in `layout` order of a logical [B, H, N, D] shape. */
export interface HostTensor {
  readonly data: Float32Array | Float64Array;
  readonly shape: Shape4;
  readonly layout: Layout;
}

export interface ReferenceOptions {
  /** Softmax scale; default 1/√D. */
  readonly scale?: number;
  /** Causal mask: a key is visible when its position is ≤ the query's. Default false. */
  readonly causal?: boolean;
  /** Position of query row 0 (one value, or one per batch entry). Default Nk − Nq. */
  readonly queryOffset?: OffsetOption;
  /** Position of key 0 (one value, or one per batch entry). Default 0. */
  readonly keyOffset?: OffsetOption;
  /**
   * 'f64' (the spec, default), 'f32' (round every operation to float32), or 'f16'
   * (float32 operations, with S, P = softmax(S) and O rounded to f16 where naive f16 stores them).
   */
  readonly precision?: 'f64' | 'f32' | 'f16';
  /** Score modifier, applied to the scaled score before masking. */
  readonly score?: ScoreFn;
  /** Mask modifier: false masks key kv out for query q (in addition to causal). */
  readonly mask?: MaskFn;
  /** Learned sinks: one logit per query head, added to each row's softmax denominator. */
  readonly sinks?: ArrayLike<number>;
  /** Compute only rows for which this returns true; others are left NaN. */
  readonly rows?: (b: number, h: number, i: number) => boolean;
}

export interface ReferenceResult {
  /** O in 'bhnd' layout, [B, Hq, Nq, D]. */
  readonly out: Float64Array;
  /** LSE, [B, Hq, Nq]. */
  readonly lse: Float64Array;
}

/** True when key j is visible from query i under the causal mask, at the default positions. */
export function causalVisible(i: number, j: number, seqQ: number, seqK: number): boolean {
  return j <= i + (seqK - seqQ);
}

export function referenceForward(q: HostTensor, k: HostTensor, v: HostTensor, opts: ReferenceOptions = {}): ReferenceResult {
  checkReferenceInputs(q, k, v);
  const { batch: B, heads: Hq, seq: Nq, headDim: D } = q.shape;
  const { heads: Hkv, seq: Nk } = k.shape;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const r = opts.precision === 'f32' || opts.precision === 'f16' ? Math.fround : (x: number) => x;
  const half = opts.precision === 'f16';
  const stored = half ? roundHalf : (x: number) => x; // what naive f16 writes to memory
  const group = Hq / Hkv;
  const qs = stridesOf(q.shape, q.layout);
  const ks = stridesOf(k.shape, k.layout);
  const vs = stridesOf(v.shape, v.layout);
  const out = new Float64Array(B * Hq * Nq * D).fill(NaN);
  const lse = new Float64Array(B * Hq * Nq).fill(NaN);
  const s = new Float64Array(Nk); // one row of S, then of P
  const pos = resolvePositions(B, Nq, Nk, opts.queryOffset, opts.keyOffset);

  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const hk = Math.floor(h / group);
      for (let i = 0; i < Nq; i++) {
        if (opts.rows && !opts.rows(b, h, i)) continue;
        const qo = rowOffset(qs, b, h, i);
        const qp = pos.query[b]! + i; // the row's position
        // S row and its max
        let max = -Infinity;
        for (let j = 0; j < Nk; j++) {
          const kp = pos.key[b]! + j;
          if ((opts.causal && kp > qp) || (opts.mask && !opts.mask(b, h, qp, kp))) {
            s[j] = -Infinity;
            continue;
          }
          const ko = rowOffset(ks, b, hk, j);
          let dot = 0;
          for (let d = 0; d < D; d++) dot = r(dot + r(q.data[qo + d]! * k.data[ko + d]!));
          s[j] = r(dot * scale);
          if (opts.score) s[j] = r(opts.score(s[j]!, b, h, qp, kp));
          s[j] = stored(s[j]!);
          // A NaN score (NaN in q, or in a visible key) makes the whole row NaN.
          if (s[j]! > max || Number.isNaN(s[j])) max = Number.isNaN(max) ? max : s[j]!;
        }
        const o = ((b * Hq + h) * Nq + i) * D;
        const sink = opts.sinks ? opts.sinks[h]! : -Infinity;
        if (max === -Infinity) {
          out.fill(0, o, o + D);
          lse[(b * Hq + h) * Nq + i] = sink;
          continue;
        }
        max = Math.max(max, sink);
        // P row (unnormalised) and its sum, the sink's term included
        let sum = sink === -Infinity ? 0 : r(Math.exp(r(sink - max)));
        for (let j = 0; j < Nk; j++) {
          s[j] = s[j] === -Infinity ? 0 : r(Math.exp(r(s[j]! - max)));
          sum = r(sum + s[j]!);
        }
        // Naive f16 stores P normalised, in f16; O is then P V (else the unnormalised P V / sum).
        if (half) for (let j = 0; j < Nk; j++) s[j] = stored(r(s[j]! / sum));
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < Nk; j++) {
            if (s[j] === 0) continue;
            acc = r(acc + r(s[j]! * v.data[rowOffset(vs, b, hk, j) + d]!));
          }
          out[o + d] = half ? stored(acc) : r(acc / sum);
        }
        lse[(b * Hq + h) * Nq + i] = r(max + r(Math.log(sum)));
      }
    }
  }
  return { out, lse };
}
