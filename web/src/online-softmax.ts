/*
 * The lectures' worked example of the online softmax, one key at a time, in
 * float64: a single query q, keys k[j] and values v[j] (one dimension each,
 * scale 1, so the score is q·k[j]). After key j the running statistics are
 *
 *   m' = max(m, s_j)                       running max
 *   l' = l·e^(m−m') + e^(s_j−m')           running denominator
 *   acc' = acc·e^(m−m') + e^(s_j−m')·v_j   running unnormalised output
 *
 * and acc'/l' is the attention output over the keys seen so far: the softmax
 * never needs the whole row, which is what lets FlashAttention work tile by tile.
 */

/** The statistics after one more key. */
export interface OnlineStep {
  /** Index of the key just read. */
  readonly j: number;
  /** Its score q·k[j]. */
  readonly s: number;
  /** Running max, denominator and unnormalised output after it. */
  readonly m: number;
  readonly l: number;
  readonly acc: number;
  /** acc / l: the output over keys 0..j. */
  readonly out: number;
  /** e^(m_old − m_new): how much the earlier terms were rescaled (1 when the max did not move). */
  readonly rescale: number;
}

/** Every step of the online softmax over `k`, `v` for query `q`. */
export function onlineSoftmax(q: number, k: readonly number[], v: readonly number[]): OnlineStep[] {
  let m = -Infinity;
  let l = 0;
  let acc = 0;
  return k.map((kj, j) => {
    const s = q * kj;
    const mNew = Math.max(m, s);
    const rescale = Math.exp(m - mNew); // exp(−∞) = 0 on the first key: nothing to rescale
    const p = Math.exp(s - mNew);
    l = l * rescale + p;
    acc = acc * rescale + p * v[j]!;
    m = mNew;
    return { j, s, m, l, acc, out: acc / l, rescale };
  });
}

/** The same output computed the naive way: Σ e^(s_j)·v_j / Σ e^(s_j), the whole row at once. */
export function naiveSoftmaxOutput(q: number, k: readonly number[], v: readonly number[]): number {
  const e = k.map((kj) => Math.exp(q * kj));
  return e.reduce((a, ej, j) => a + ej * v[j]!, 0) / e.reduce((a, ej) => a + ej, 0);
}
