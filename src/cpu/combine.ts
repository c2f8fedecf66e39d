/*
 * Exact merge of partial attention results on the host: parts (O_i, LSE_i), each
 * computed over a disjoint set of keys, give the result over all of them by the
 * online softmax's rescaling,
 *
 *   LSE = log Σ_i exp(LSE_i),   O = Σ_i exp(LSE_i − LSE) · O_i
 *
 * in float64. A part whose LSE is −∞ saw no key of the row and weighs nothing; a row
 * no part saw gives O = 0, LSE = −∞; a NaN LSE makes the row NaN. What context-parallel
 * and ring attention need once each device has its (O_i, LSE_i); the CPU backend's
 * attn.combine runs this, the WebGPU backend its own kernel (kernels/merge.ts).
 */
import { AttentionInputError } from '../tensor/errors.js';
import { rowOffset, stridesOf, type Layout, type Shape4 } from '../tensor/shape.js';

/** One partial result on the host: O (rows × D) and LSE (one per row). */
export interface HostPart {
  readonly out: Float32Array;
  readonly lse: Float32Array;
}

/**
 * Merges `parts` of one [B, H, N, D] shape: O in `layout` order, LSE in [B, H, N] order.
 * No argument checks (callers check); returns new arrays.
 */
export function combineStrided(parts: readonly HostPart[], shape: Shape4, layout: Layout): { out: Float32Array; lse: Float32Array } {
  const d = shape.headDim;
  const st = stridesOf(shape, layout);
  const out = new Float32Array(shape.batch * shape.heads * shape.seq * d);
  const lse = new Float32Array(shape.batch * shape.heads * shape.seq);
  const w = new Float64Array(parts.length);
  const acc = new Float64Array(d);
  for (let b = 0, row = 0; b < shape.batch; b++)
    for (let h = 0; h < shape.heads; h++)
      for (let n = 0; n < shape.seq; n++, row++) {
        const at = rowOffset(st, b, h, n);
        // The largest LSE is the frame: every weight exp(LSE_i − max) is at most 1.
        let mx = -Infinity;
        let nan = false;
        for (const p of parts) {
          const l = p.lse[row]!;
          nan ||= Number.isNaN(l);
          if (l > mx) mx = l;
        }
        if (nan || mx === -Infinity || mx === Infinity) {
          // A part with LSE +∞: the sum is +∞ too, and its weights ∞/∞ leave O undefined (NaN), as on the GPU.
          out.fill(mx === -Infinity && !nan ? 0 : NaN, at, at + d);
          lse[row] = nan ? NaN : mx;
          continue;
        }
        let sum = 0;
        parts.forEach((p, i) => (sum += w[i] = p.lse[row] === -Infinity ? 0 : Math.exp(p.lse[row]! - mx)));
        acc.fill(0);
        parts.forEach((p, i) => {
          if (w[i] === 0) return; // a part that saw no key: its O is not read
          for (let c = 0; c < d; c++) acc[c]! += w[i]! * p.out[at + c]!;
        });
        for (let c = 0; c < d; c++) out[at + c] = acc[c]! / sum;
        lse[row] = mx + Math.log(sum);
      }
  return { out, lse };
}

/**
 * Merges partial attention results computed over disjoint key sets into the exact
 * result, on the host in float64 — for hosts that move the partials themselves
 * (e.g. across processes): LSE = log Σ_i exp(LSE_i), O = Σ_i exp(LSE_i − LSE)·O_i.
 * Parts with LSE −∞ (no key seen) weigh nothing; a row no part saw gives O = 0, LSE = −∞.
 * @param parts each `out` holds `rows` rows of `headDim` floats, in the same row order as its `lse` (e.g. 'bhnd')
 * @param rows query rows (B·H·N)
 * @param headDim floats per row of `out`
 * @returns new arrays: `out` (rows × headDim) and `lse` (rows)
 */
export function combineHost(parts: readonly HostPart[], rows: number, headDim: number): { out: Float32Array; lse: Float32Array } {
  for (const [name, v] of [
    ['rows', rows],
    ['headDim', headDim],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new AttentionInputError(`combineHost: ${name} must be a positive integer, got ${v}`);
  }
  if (!Array.isArray(parts) || parts.length < 1) throw new AttentionInputError('combineHost: parts must be a non-empty array of { out, lse }');
  parts.forEach((p, i) => {
    if (!(p?.out instanceof Float32Array) || !(p.lse instanceof Float32Array)) {
      throw new AttentionInputError(`combineHost: parts[${i}] must be { out: Float32Array, lse: Float32Array }`);
    }
    if (p.out.length !== rows * headDim)
      throw new AttentionInputError(`combineHost: parts[${i}].out has ${p.out.length} floats, expected ${rows} × ${headDim}`);
    if (p.lse.length !== rows) throw new AttentionInputError(`combineHost: parts[${i}].lse has ${p.lse.length} floats, expected ${rows}`);
  });
  return combineStrided(parts, { batch: 1, heads: 1, seq: rows, headDim }, 'bhnd');
}
