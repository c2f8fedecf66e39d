/*
 * Which table elements a modifier can read in a call, by interval arithmetic
 * over its IR with b, h, q and kv ranging over the call's sizes. A table read
 * past either end would be clamped in the kernels (never out of bounds), which
 * would make a too-short table (ALiBi slopes for fewer heads than the call has,
 * document ids for fewer tokens) silently wrong instead; forward() turns such a
 * read into an AttentionInputError before any work.
 */
import { foldNodes } from './ir.js';
import type { Modifier } from './modifier.js';
import { tableName } from './grad.js';
import type { Positions } from './positions.js';

type Range = readonly [number, number];
const ANY: Range = [-Infinity, Infinity];

export interface CallSizes {
  readonly batch: number;
  readonly headsQ: number;
  readonly seqQ: number;
  readonly seqK: number;
}

/**
 * The first table read of `mod` that can fall outside its table in this call, described;
 * undefined if none. q and kv range over the call's positions (default: keys 0 … Nk−1,
 * queries Nk−Nq … Nk−1). Under `causal`, only pairs with kv ≤ q matter (a row before
 * every key sees none; a key after every row is seen by none), so the ranges narrow, and
 * the distance q − kv (or kv − q) taken directly from the two positions keeps its sign.
 */
export function outOfRangeRead(mod: Modifier, sizes: CallSizes, positions?: Positions, causal = false): string | undefined {
  let problem: string | undefined;
  const span = (starts: readonly number[] | undefined, dflt: number, n: number): Range =>
    starts ? [Math.min(...starts), Math.max(...starts) + n - 1] : [dflt, dflt + n - 1];
  let q = span(positions?.query, sizes.seqK - sizes.seqQ, sizes.seqQ);
  let kv = span(positions?.key, 0, sizes.seqK);
  if (causal)
    [q, kv] = [
      [Math.max(q[0], kv[0]), q[1]],
      [kv[0], Math.min(kv[1], q[1])],
    ];
  const at = { b: [0, sizes.batch - 1] as Range, h: [0, sizes.headsQ - 1] as Range, q, kv };
  foldNodes<Range>(mod.ir, (n, r) => {
    let out: Range = ANY;
    switch (n.k) {
      case 'const':
        out = [Number(n.v), Number(n.v)];
        break;
      case 'arg':
        out = n.name === 'score' ? ANY : at[n.name];
        break;
      case 'unary': {
        const [lo, hi] = r(n.a);
        if (n.op === 'neg') out = [-hi, -lo];
        else if (n.op === 'abs') out = lo >= 0 ? [lo, hi] : hi <= 0 ? [-hi, -lo] : [0, Math.max(-lo, hi)];
        else if (n.op === 'f32') out = [lo, hi];
        break;
      }
      case 'binary': {
        const [a0, a1] = r(n.a);
        const [b0, b1] = r(n.b);
        if (n.op === 'add') out = [a0 + b0, a1 + b1];
        else if (n.op === 'sub') {
          out = [a0 - b1, a1 - b0];
          // Under causal every pair that matters has kv ≤ q: the distance q − kv is ≥ 0 (kv − q ≤ 0),
          // which the two intervals alone cannot say (a table read by distance would look out of range).
          const arg = (x: typeof n.a, name: string) => x.k === 'arg' && x.name === name;
          if (causal && arg(n.a, 'q') && arg(n.b, 'kv')) out = [Math.max(0, out[0]), out[1]];
          if (causal && arg(n.a, 'kv') && arg(n.b, 'q')) out = [out[0], Math.min(0, out[1])];
        } else if (n.op === 'mul') {
          const p = [a0 * b0, a0 * b1, a1 * b0, a1 * b1].map((x) => (Number.isNaN(x) ? 0 : x)); // 0·∞ = 0 here
          out = [Math.min(...p), Math.max(...p)];
        } else if (n.op === 'min') out = [Math.min(a0, b0), Math.min(a1, b1)];
        else if (n.op === 'max') out = [Math.max(a0, b0), Math.max(a1, b1)];
        break;
      }
      case 'select': {
        const [t0, t1] = r(n.then);
        const [e0, e1] = r(n.else);
        out = [Math.min(t0, e0), Math.max(t1, e1)];
        break;
      }
      case 'aux': {
        const data = mod.tables.get(n.table)!;
        const [lo, hi] = r(n.index);
        if (problem === undefined && (lo < 0 || hi > data.length - 1)) {
          problem =
            `${mod.label}: table '${tableName(n.table)}' has ${data.length} entries, but this call (batch ${sizes.batch}, ` +
            `${sizes.headsQ} query heads, Nq ${sizes.seqQ}, Nk ${sizes.seqK}, query positions ${at.q[0]} … ${at.q[1]}, ` +
            `key positions ${at.kv[0]} … ${at.kv[1]}) reads indices ${lo} … ${hi} (over every pair a mask may still hide): ` +
            `clamp the index (.max(0).min(${data.length - 1})) or give the table an entry for each`;
        }
        out = [Math.min(...data), Math.max(...data)];
        break;
      }
    }
    return out;
  });
  return problem;
}
