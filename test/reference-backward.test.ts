/*
 * The float64 backward reference against central finite differences of
 * L = Σ dO ∘ O, through the float64 forward reference: every option and
 * variant (causal, GQA, layouts, score modifiers through their symbolic
 * derivative, masks, learned sinks, fully masked rows) and the gradients of
 * the tables score modifiers read.
 */
import { describe, expect, it } from 'vitest';
import { alibi, alibiSlopes, keyPadding, learnedSinks, relativeBias, slidingWindow, softcap } from '../src/mods/builtins.js';
import { maskFn, scoreFn } from '../src/mods/emit-js.js';
import { jsTableTerms, scoreGrad } from '../src/mods/grad.js';
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
  B: number;
  Hq: number;
  Hkv: number;
  Nq: number;
  Nk: number;
  D: number;
  causal?: boolean;
  layout?: Layout;
  score?: Modifier;
  mask?: Modifier;
  sinks?: number[];
}

const cases: Case[] = [
  { name: 'plain', B: 1, Hq: 2, Hkv: 2, Nq: 5, Nk: 6, D: 4 },
  { name: 'causal, Nq > Nk (first rows fully masked)', B: 1, Hq: 1, Hkv: 1, Nq: 6, Nk: 4, D: 4, causal: true },
  { name: 'GQA 4:1, bnhd', B: 2, Hq: 4, Hkv: 1, Nq: 4, Nk: 5, D: 4, layout: 'bnhd' },
  { name: 'alibi ∘ softcap', B: 1, Hq: 2, Hkv: 1, Nq: 4, Nk: 4, D: 4, score: compose(alibi(alibiSlopes(2)), softcap(1.5)) },
  {
    name: 'piecewise score (where, abs, max)',
    B: 1,
    Hq: 1,
    Hkv: 1,
    Nq: 4,
    Nk: 5,
    D: 4,
    score: scoreMod((s, _b, _h, q, kv) => where(kv.gt(q), s.abs().mul(0.7), s.max(-0.2).exp().log())),
  },
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
        for (let b = 0; b < c.B; b++)
          for (let h = 0; h < c.Hq; h++)
            for (let i = 0; i < c.Nq; i++)
              for (let d = 0; d < c.D; d++) {
                l += out[((b * c.Hq + h) * c.Nq + i) * c.D + d]! * dout.data[rowOffset(st, b, h, i) + d]!;
              }
        return l;
      };
      const g = referenceBackward(q, k, v, dout, { ...opts, sinks });
      const eps = 1e-6;
      const check = (t: HostTensor, grad: Float64Array) => {
        const st = stridesOf(t.shape, layout);
        const s = t.shape;
        for (let b = 0; b < s.batch; b++)
          for (let h = 0; h < s.heads; h++)
            for (let n = 0; n < s.seq; n++)
              for (let d = 0; d < s.headDim; d++) {
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

describe('referenceBackward savedOut', () => {
  it('D reads the stored O: the exact O changes nothing (to rounding); a perturbed O moves dsinks by −Σ P_sink·dO·δO', () => {
    const r = rand(4242);
    const s: Shape4 = { batch: 1, heads: 2, seq: 3, headDim: 4 };
    const mk = (): HostTensor => ({ data: Float64Array.from({ length: 24 }, r), shape: s, layout: 'bhnd' });
    const [q, k, v, dout] = [mk(), mk(), mk(), mk()];
    const sinks = Float64Array.from([0.2, -0.4]);
    const exact = referenceBackward(q, k, v, dout, { sinks });
    const { out, lse } = referenceForward(q, k, v, { sinks });
    const same = referenceBackward(q, k, v, dout, { sinks, savedOut: out });
    same.dsinks!.forEach((x, h) => expect(x).toBeCloseTo(exact.dsinks![h]!, 13));
    same.dq.forEach((x, i) => expect(x).toBeCloseTo(exact.dq[i]!, 13));
    const delta = 1e-3;
    const moved = referenceBackward(q, k, v, dout, { sinks, savedOut: out.map((x) => x + delta) });
    for (let h = 0; h < 2; h++) {
      let want = exact.dsinks![h]!;
      for (let i = 0; i < 3; i++) {
        let dotDelta = 0;
        for (let d = 0; d < 4; d++) dotDelta += dout.data[(h * 3 + i) * 4 + d]! * delta;
        want -= Math.exp(sinks[h]! - lse[h * 3 + i]!) * dotDelta;
      }
      expect(moved.dsinks![h]!).toBeCloseTo(want, 12);
    }
    expect([...moved.dv]).toEqual([...exact.dv]); // dV does not read D
  });
});

describe('table gradients (reference) vs finite differences', () => {
  const tableCases: { name: string; Hq: number; Nq: number; Nk: number; causal?: boolean; score: () => Modifier }[] = [
    { name: 'alibi slopes', Hq: 2, Nq: 4, Nk: 5, score: () => alibi([0.5, 0.25]) },
    {
      name: 'relativeBias table per head, causal',
      Hq: 2,
      Nq: 5,
      Nk: 5,
      causal: true,
      score: () => relativeBias([0.1, -0.2, 0.3, 0.05, -0.1, 0.2, 0.4, -0.3, 0.0, 0.15, -0.05, 0.25, 0.35, -0.15], 2),
    },
    {
      name: 'user temperature per head (partial depends on the score)',
      Hq: 2,
      Nq: 4,
      Nk: 4,
      score: () => scoreMod((s, _b, h, _q, _kv, t) => s.mul(t.temp!.at(h)), { temp: [0.8, 1.3] }),
    },
    { name: 'alibi ∘ softcap (chain rule through tanh)', Hq: 2, Nq: 4, Nk: 4, score: () => compose(alibi([0.7, 0.3]), softcap(1.2)) },
  ];
  for (const c of tableCases) {
    it(c.name, () => {
      const r = rand(c.name.length * 104729 + 3);
      const mod = c.score();
      const mk = (s: Shape4): HostTensor => ({ data: Float64Array.from({ length: s.batch * s.heads * s.seq * s.headDim }, r), shape: s, layout: 'bhnd' });
      const q = mk({ batch: 1, heads: c.Hq, seq: c.Nq, headDim: 4 });
      const k = mk({ batch: 1, heads: 1, seq: c.Nk, headDim: 4 });
      const v = mk({ batch: 1, heads: 1, seq: c.Nk, headDim: 4 });
      const dout = mk(q.shape);
      const opts = { causal: c.causal, score: scoreFn(mod), scoreGrad: scoreFn(scoreGrad(mod)) };
      const loss = () => referenceForward(q, k, v, opts).out.reduce((l, o, i) => l + o * dout.data[i]!, 0);
      const g = referenceBackward(q, k, v, dout, { ...opts, tableTerms: jsTableTerms(mod) });
      expect(g.dtables!.size).toBe(mod.tables.size);
      for (const [id, table] of mod.tables) {
        const grad = g.dtables!.get(id)!;
        let nonzero = 0;
        for (let i = 0; i < table.length; i++) {
          // Tables are float32: use the perturbation that was actually stored.
          const x = table[i]!;
          table[i] = x + 1e-3;
          const up = table[i]!;
          const lp = loss();
          table[i] = x - 1e-3;
          const down = table[i]!;
          const lm = loss();
          table[i] = x;
          const fd = (lp - lm) / (up - down);
          if (Math.abs(fd) > 1e-4) nonzero++;
          expect(Math.abs(grad[i]! - fd), `${id}[${i}] analytic ${grad[i]} vs fd ${fd}`).toBeLessThan(2e-6 + 1e-4 * Math.abs(fd));
        }
        // The check must not pass vacuously.
        expect(nonzero).toBeGreaterThan(0);
      }
    });
  }
});
