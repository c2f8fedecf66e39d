/*
 * Positions: where a call's query rows and keys sit in their sequences. Query row i
 * of batch b is at position query[b] + i, key j at key[b] + j; `causal` keeps a key
 * whose position is ≤ the query's, and modifiers see these positions as q and kv.
 * So one modifier gives the same result whether a sequence is processed in one call,
 * in chunks of query rows, or token by token against a growing cache.
 *
 * The default puts the keys at 0 … Nk−1 and the queries at the end of them,
 * Nk−Nq … Nk−1: the bottom-right causal alignment, and the positions of a decoding
 * step's new rows when K/V hold the whole sequence so far.
 */

/** An offset option: one value for every batch entry, or one per batch entry (ragged batches). */
export type OffsetOption = number | readonly number[];

/** Per batch entry, the position of the call's first query row and of its first key. */
export interface Positions {
  readonly query: readonly number[];
  readonly key: readonly number[];
}

/** Positions of a call of `batch` entries, Nq query rows and Nk keys, defaults filled in. */
export function resolvePositions(batch: number, seqQ: number, seqK: number, queryOffset?: OffsetOption, keyOffset?: OffsetOption): Positions {
  const each = (o: OffsetOption | undefined, dflt: number) =>
    Object.freeze(Array.from({ length: batch }, (_, b) => (o === undefined ? dflt : typeof o === 'number' ? o : o[b]!)));
  return Object.freeze({ query: each(queryOffset, seqK - seqQ), key: each(keyOffset, 0) });
}

/** Whether every batch entry has the same value of f. */
function uniform(p: Positions, f: (b: number) => number): boolean {
  return p.query.every((_, b) => f(b) === f(0));
}

/** The causal diagonal's shift (query position − key position of row 0, key 0) when the batch shares one, else undefined. */
export function sharedCausalShift(p: Positions): number | undefined {
  const shift = (b: number) => p.query[b]! - p.key[b]!;
  return uniform(p, shift) ? shift(0) : undefined;
}

/**
 * Whether kernels must read positions per batch entry: modifiers that must see positions
 * other than the call's own indices, or causal diagonals that differ between entries.
 * Otherwise the kernels' long-standing uniform `causalOffset` says everything.
 */
export function needsPositionTable(p: Positions, modded: boolean): boolean {
  if (modded && !(p.query.every((x) => x === 0) && p.key.every((x) => x === 0))) return true;
  return sharedCausalShift(p) === undefined;
}

/** The per-batch (query position, key position) pairs, as the kernels read them from `aux`. */
export function positionPairs(p: Positions): Float32Array {
  const out = new Float32Array(2 * p.query.length);
  p.query.forEach((q, b) => {
    out[2 * b] = q;
    out[2 * b + 1] = p.key[b]!;
  });
  return out;
}

/** Largest position a table of f32 values holds exactly (2^24): offsets plus lengths must stay below it. */
export const MAX_POSITION = 2 ** 24;
