/*
 * CPU naive pipeline: materialises each head's N×N score matrix in float32,
 * masks it, softmaxes it in place and multiplies by V — the same four steps as
 * the GPU baseline, so CPU benchmarks compare like with like.
 */
import { rowOffset } from '../tensor/shape.js';
import { cpuSetup, type CpuForwardArgs, type CpuForwardResult } from './forward.js';

export function cpuNaiveForward(a: CpuForwardArgs): CpuForwardResult {
  const { batch: B, headsQ: Hq, headsKv: Hkv, seqQ: Nq, seqK: Nk, headDim: D } = a.problem;
  const { qs, ks, vs, pos, out, lse } = cpuSetup(a);
  const s = new Float32Array(Nq * Nk);
  const group = Hq / Hkv;
  for (let b = 0; b < B; b++) {
    const [qPos, kPos] = [pos.query[b]!, pos.key[b]!];
    for (let h = 0; h < Hq; h++) {
      const hk = Math.floor(h / group);
      // scores
      for (let i = 0; i < Nq; i++) {
        const qo = rowOffset(qs, b, h, i);
        for (let j = 0; j < Nk; j++) {
          const ko = rowOffset(ks, b, hk, j);
          let dot = 0;
          for (let d = 0; d < D; d++) dot += a.q[qo + d]! * a.k[ko + d]!;
          s[i * Nk + j] = dot * a.scale;
        }
      }
      // mask (and the variant's score and mask modifiers)
      if (a.causal || a.score || a.mask) {
        for (let i = 0; i < Nq; i++) {
          for (let j = 0; j < Nk; j++) {
            const visible = (!a.causal || kPos + j <= qPos + i) && (!a.mask || a.mask(b, h, qPos + i, kPos + j));
            const x = s[i * Nk + j]!;
            s[i * Nk + j] = !visible ? -Infinity : a.score ? a.score(x, b, h, qPos + i, kPos + j) : x;
          }
        }
      }
      // softmax (in place) and LSE; a learned sink joins the denominator
      const sink = a.sinks ? a.sinks[h]! : -Infinity;
      for (let i = 0; i < Nq; i++) {
        let m = sink;
        for (let j = 0; j < Nk; j++) m = Math.max(m, s[i * Nk + j]!);
        let l = sink === -Infinity ? 0 : Math.exp(sink - m);
        for (let j = 0; j < Nk; j++) {
          const p = m === -Infinity ? 0 : Math.exp(s[i * Nk + j]! - m);
          s[i * Nk + j] = p;
          l += p;
        }
        // A NaN score (m or l NaN) makes the whole row NaN, as in the reference.
        const nan = Number.isNaN(l);
        for (let j = 0; j < Nk; j++) s[i * Nk + j] = nan ? NaN : l > 0 ? s[i * Nk + j]! / l : 0;
        lse[(b * Hq + h) * Nq + i] = nan ? NaN : l > 0 ? m + Math.log(l) : -Infinity;
      }
      // O = P V
      for (let i = 0; i < Nq; i++) {
        const oo = rowOffset(qs, b, h, i);
        out.fill(0, oo, oo + D);
        for (let j = 0; j < Nk; j++) {
          const p = s[i * Nk + j]!;
          if (p === 0) continue;
          const vo = rowOffset(vs, b, hk, j);
          for (let d = 0; d < D; d++) out[oo + d] += p * a.v[vo + d]!;
        }
      }
    }
  }
  return { out, lse };
}
