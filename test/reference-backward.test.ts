/*
 * The float64 backward reference against central finite differences of
 * L = Σ dO ∘ O, through the float64 forward reference: every option and
 * variant (causal, GQA, layouts, score modifiers through their symbolic
 * derivative, masks, learned sinks, fully masked rows).
 */
import { describe, expect, it } from 'vitest';
import { alibi, alibiSlopes, keyPadding, learnedSinks, slidingWindow, softcap } from '../src/mods/builtins.js';
import { maskFn, scoreFn } from '../src/mods/emit-js.js';
import { scoreGrad } from '../src/mods/grad.js';
import { compose, scoreMod, type Modifier } from '../src/mods/modifier.js';
import { where } from '../src/mods/trace.js';
import { referenceBackward } from '../src/reference/backward.js';
import { referenceForward, type HostTensor } from '../src/reference/forward.js';
import { rowOffset, stridesOf, type Layout, type Shape4 } from '../src/tensor/shape.js';

function rand(seed: number) {
  let a = seed;
  return () => ((a = (a * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
}

interface Case {
  name: string;
  B: number; Hq: number; Hkv: number; Nq: number; Nk: number; D: number;
  causal?: boolean; layout?: Layout; score?: Modifier; mask?: Modifier; sinks?: number[];
}

const cases: Case[] = [
  { name: 'plain', B: 1, Hq: 2, Hkv: 2, Nq: 5, Nk: 6, D: 4 },
  { name: 'causal, Nq > Nk (first rows fully masked)', B: 1, Hq: 1, Hkv: 1, Nq: 6, Nk: 4, D: 4, causal: true },
  { name: 'GQA 4:1, bnhd', B: 2, Hq: 4, Hkv: 1, Nq: 4, Nk: 5, D: 4, layout: 'bnhd' },
  { name: 'alibi ∘ softcap', B: 1, Hq: 2, Hkv: 1, Nq: 4, Nk: 4, D: 4, score: compose(alibi(alibiSlopes(2)), softcap(1.5)) },
  { name: 'piecewise score (where, abs, max)', B: 1, Hq: 1, Hkv: 1, Nq: 4, Nk: 5, D: 4,
    score: scoreMod((s, _b, _h, q, kv) => where(kv.gt(q), s.abs().mul(0.7), s.max(-0.2).exp().log())) },
  { name: 'key padding (batch 0 fully masked)', B: 2, Hq: 1, Hkv: 1, Nq: 5, Nk: 5, D: 4, mask: keyPadding([0, 3]) },
  { name: 'learned sinks + window', B: 1, Hq: 2, Hkv: 2, Nq: 4, Nk: 4, D: 4, sinks: [0.3, -0.5], mask: slidingWindow(2) },
];

describe('referenceBackward vs finite differences', () => {
  for (const c of cases) {
    it(c.name, () => {
      const r = rand(c.name.length * 7919 + 1);
      const layout = c.layout ?? 'bhnd';
      const mk = (s: Shape4): HostTensor => ({ data: Float64Array.from({ length: s.batch * s.heads * s.seq * s.headDim }, r), shape: s, layout });
      const q = mk({ batch: c.B, heads: c.Hq, seq: c.Nq, headDim: c.D });
      const k = mk({ batch: c.B, heads: c.Hkv, seq: c.Nk, headDim: c.D });
      const v = mk({ batch: c.B, heads: c.Hkv, seq: c.Nk, headDim: c.D });
      const dout = mk(q.shape);
      const sinks = c.sinks ? Float64Array.from(c.sinks) : undefined;
      const opts = {
        causal: c.causal,
        score: c.score && scoreFn(c.score),
        scoreGrad: c.score && scoreFn(scoreGrad(c.score)),
        mask: c.mask && maskFn(c.mask),
      };
      const loss = () => {
        const { out } = referenceForward(q, k, v, { ...opts, sinks });
        // out is bhnd; dout in `layout`
        const st = stridesOf(dout.shape, layout);
        let l = 0;
        for (let b = 0; b < c.B; b++) for (let h = 0; h < c.Hq; h++) for (let i = 0; i < c.Nq; i++) for (let d = 0; d < c.D; d++) {
          l += out[((b * c.Hq + h) * c.Nq + i) * c.D + d]! * dout.data[rowOffset(st, b, h, i) + d]!;
        }
        return l;
      };
      const g = referenceBackward(q, k, v, dout, { ...opts, sinks });
      const eps = 1e-6;
      const check = (t: HostTensor, grad: Float64Array) => {
        const st = stridesOf(t.shape, layout);
        const s = t.shape;
        for (let b = 0; b < s.batch; b++) for (let h = 0; h < s.heads; h++) for (let n = 0; n < s.seq; n++) for (let d = 0; d < s.headDim; d++) {
          const at = rowOffset(st, b, h, n) + d;
          const x = t.data[at]!;
          (t.data as Float64Array)[at] = x + eps;
          const lp = loss();
          (t.data as Float64Array)[at] = x - eps;
          const lm = loss();
          (t.data as Float64Array)[at] = x;
          const fd = (lp - lm) / (2 * eps);
          const an = grad[((b * s.heads + h) * s.seq + n) * s.headDim + d]!;
          expect(Math.abs(an - fd), `(b=${b}, h=${h}, n=${n}, d=${d}) analytic ${an} vs fd ${fd}`).toBeLessThan(1e-6 + 1e-5 * Math.abs(fd));
        }
      };
      check(q, g.dq);
      check(k, g.dk);
      check(v, g.dv);
      if (sinks) {
        for (let h = 0; h < c.Hq; h++) {
          const x = sinks[h]!;
          sinks[h] = x + eps;
          const lp = loss();
          sinks[h] = x - eps;
          const lm = loss();
          sinks[h] = x;
          expect(Math.abs(g.dsinks![h]! - (lp - lm) / (2 * eps))).toBeLessThan(1e-6);
        }
      }
    });
  }
  // A sink requires nothing from learnedSinks() beyond its logits; keep the import honest.
  it('learnedSinks carries the logits it was given', () => expect([...learnedSinks([1, 2]).logits]).toEqual([1, 2]));
});
