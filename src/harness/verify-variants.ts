/*
 * The variants of the verify grid: one case per built-in, a few user-written
 * modifiers, and combinations (document ∧ causal ∧ window, with GQA). Each
 * builder makes the modifiers for a case's shape from the case's random stream,
 * so tables (slopes, document ids, lengths) are fresh on every run too.
 */
import {
  alibi,
  alibiSlopes,
  causal,
  documentMask,
  keyPadding,
  learnedSinks,
  prefixLM,
  relativeBias,
  slidingWindow,
  softcap,
  streamingSinks,
  type Sinks,
} from '../mods/builtins.js';
import { and, compose, maskMod, not, or, scoreMod, type Modifier } from '../mods/modifier.js';
import type { Problem } from '../tensor/validate.js';

export interface VariantOptions {
  readonly score?: Modifier;
  readonly mask?: Modifier;
  readonly sinks?: Sinks;
}

type Builder = (p: Problem, rand: () => number) => VariantOptions;

/** Random document ids over `n` tokens: sorted runs of 1 to n/3 tokens. */
function docIds(n: number, rand: () => number): number[] {
  const ids: number[] = [];
  let doc = 0;
  while (ids.length < n) {
    const run = 1 + Math.floor(rand() * Math.max(1, n / 3));
    for (let i = 0; i < run && ids.length < n; i++) ids.push(doc);
    doc++;
  }
  return ids;
}

const randoms = (n: number, rand: () => number, scale = 1) => Array.from({ length: n }, () => (rand() * 2 - 1) * scale);

export const VARIANTS: Readonly<Record<string, Builder>> = {
  alibi: (p) => ({ score: alibi(alibiSlopes(p.headsQ)) }),
  softcap: () => ({ score: softcap(2) }),
  relativeBias: (p, r) => ({ score: relativeBias(randoms(p.headsQ * 17, r), p.headsQ) }),
  causalMod: () => ({ mask: causal() }),
  slidingWindow: () => ({ mask: slidingWindow(13) }),
  slidingWindowSymmetric: () => ({ mask: slidingWindow(9, { causal: false }) }),
  // One id per position; q and kv index the same positions, so the ids cover the longer of Nq and Nk.
  documentMask: (p, r) => ({ mask: documentMask(docIds(Math.max(p.seqQ, p.seqK), r)) }),
  documentMaskVarlen: (p, r) => {
    const len = Math.max(p.seqQ, p.seqK);
    return { mask: documentMask(Array.from({ length: p.batch }, () => docIds(len, r)).flat(), len) };
  },
  prefixLM: () => ({ mask: prefixLM(11) }),
  // Batch 0 has no keys at all: every row fully masked (O = 0, LSE = −∞).
  keyPadding: (p, r) => ({ mask: keyPadding(Array.from({ length: p.batch }, (_, b) => (b === 0 ? 0 : 1 + Math.floor(r() * p.seqK)))) }),
  streamingSinks: () => ({ mask: streamingSinks(3, 10) }),
  learnedSinks: (p, r) => ({ sinks: learnedSinks(randoms(p.headsQ, r, 2)) }),
  'learnedSinks+keyPadding': (p, r) => ({
    sinks: learnedSinks(randoms(p.headsQ, r, 2)),
    mask: keyPadding(Array.from({ length: p.batch }, (_, b) => (b === 0 ? 0 : p.seqK))),
  }),
  'document∧causal∧window': (p, r) => ({ mask: and(documentMask(docIds(Math.max(p.seqQ, p.seqK), r)), causal(), slidingWindow(20)) }),
  'or/not': () => ({ mask: or(not(slidingWindow(5)), prefixLM(3)) }),
  'alibi∘softcap+window': (p) => ({ score: compose(alibi(alibiSlopes(p.headsQ)), softcap(3)), mask: slidingWindow(31) }),
  // User-written ALiBi and a user mask reading a table, as a user would write them.
  userAlibi: (p) => ({
    score: scoreMod((s, _b, h, q, kv, t) => s.sub(t.slope!.at(h).mul(q.sub(kv).abs())), { slope: alibiSlopes(p.headsQ) }, 'user alibi'),
  }),
  userMask: (p, r) => ({
    mask: maskMod((_b, h, q, kv, t) => kv.le(q.add(t.reach!.at(h))), { reach: Array.from({ length: p.headsQ }, () => Math.floor(r() * 5)) }, 'user reach'),
  }),
};
