/*
 * The demo page's pure parts (web/src): the walkthrough's online softmax
 * against the closed form, and the playground's text → modifier translation
 * (each accepted form gives the same mask or score as the library's own
 * builders; each bad input gives a message with the right character position).
 */
import { describe, expect, it } from 'vitest';
import { naiveSoftmaxOutput, onlineSoftmax } from '../web/src/online-softmax.js';
import { caret, maskFromText, ModifierTextError, scoreFromText } from '../web/src/parse-modifier.js';
import { maskFn, scoreFn } from '../src/mods/emit-js.js';

const E = Math.E;

describe('walkthrough: online softmax of Q=[1], K=[1,2,3], V=[2,4,8]', () => {
  const steps = onlineSoftmax(1, [1, 2, 3], [2, 4, 8]);
  it('keeps the running max, denominator and output at each key', () => {
    expect(steps.map((s) => s.m)).toEqual([1, 2, 3]);
    expect(steps[1]!.l).toBeCloseTo(1 + 1 / E, 15);
    expect(steps[1]!.out).toBeCloseTo((2 * E + 4 * E ** 2) / (E + E ** 2), 14);
    expect(steps[2]!.l).toBeCloseTo(1 + 1 / E + 1 / E ** 2, 15);
  });
  it('ends at exactly (2e¹+4e²+8e³)/(e¹+e²+e³)', () => {
    const exact = (2 * E + 4 * E ** 2 + 8 * E ** 3) / (E + E ** 2 + E ** 3);
    expect(Math.abs(steps[2]!.out - exact)).toBeLessThan(1e-14);
    expect(Math.abs(naiveSoftmaxOutput(1, [1, 2, 3], [2, 4, 8]) - exact)).toBeLessThan(1e-14);
  });
});

/** Whether two masks agree on a 24×24 grid of one batch and two heads. */
function sameMask(a: ReturnType<typeof maskFn>, b: ReturnType<typeof maskFn>): boolean {
  for (let h = 0; h < 2; h++) for (let q = 0; q < 24; q++) for (let kv = 0; kv < 24; kv++) if (a(0, h, q, kv) !== b(0, h, q, kv)) return false;
  return true;
}

describe('playground: modifier text', () => {
  it('operators, functions and method syntax give the masks they spell', () => {
    const window = (_b: number, _h: number, q: number, kv: number) => q - kv < 8 && kv <= q;
    expect(sameMask(maskFn(maskFromText('q - kv < 8 && kv <= q')), window)).toBe(true);
    expect(sameMask(maskFn(maskFromText('q.sub(kv).lt(8).and(kv.le(q))')), window)).toBe(true);
    expect(sameMask(maskFn(maskFromText('8 > q - kv && !(kv > q)')), window)).toBe(true);
    expect(sameMask(maskFn(maskFromText('h == 0 ? kv <= q : abs(q - kv) < 3')), (_b, h, q, kv) => (h === 0 ? kv <= q : Math.abs(q - kv) < 3))).toBe(true);
    expect(sameMask(maskFn(maskFromText('kv < 2 || min(q, 20) - kv < 4 - 2')), (_b, _h, q, kv) => kv < 2 || Math.min(q, 20) - kv < 2)).toBe(true);
  });
  it('score modifiers read score and fold plain numbers', () => {
    const f = scoreFn(scoreFromText('score - abs(q - kv) / (2 * 4)'));
    expect(f(1.5, 0, 0, 10, 2)).toBeCloseTo(0.5, 6);
    const g = scoreFn(scoreFromText('10 * tanh(score / 10) + 1 - 1'));
    expect(g(3, 0, 0, 0, 0)).toBeCloseTo(10 * Math.tanh(0.3), 6);
    const w = scoreFn(scoreFromText('where(kv > q, score - 1, score)'));
    expect([w(0, 0, 0, 1, 2), w(0, 0, 0, 2, 1)]).toEqual([-1, 0]);
  });
  it.each([
    ['q - kv < 8 &&& kv', 13],
    ['q < (kv', 7],
    ['q < foo', 4],
    ['q % 2 == 0', 2],
    ['score < q', 0],
    ['q < sqrt(kv)', 4],
    ['q.pow(2) < kv', 2],
    ['', 0],
  ])('%j fails at character %i', (text, index) => {
    let err: unknown;
    try {
      maskFromText(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModifierTextError);
    expect((err as ModifierTextError).index).toBe(index);
  });
  it('the library’s own checks come through as messages', () => {
    expect(() => maskFromText('q + kv')).toThrow(/mask modifier must return a boolean/);
    expect(() => maskFromText('1 < 2')).toThrow(/does not depend on/);
    expect(() => scoreFromText('score + (q < kv)')).toThrow(/needs numbers, got a boolean/);
  });
  it('draws a caret under the position', () => {
    expect(caret('q < foo', 4)).toBe('q < foo\n    ^');
  });
});
