/*
 * attn.decode(q, cache): attention of a few new query rows per sequence (1 … 16:
 * one decoding step, speculative tokens, a prefill chunk) over everything a KV cache
 * holds, read in place. The rows are the newest tokens of each sequence, so their
 * positions come from the cache's lengths: sequence b's row i sits at
 * lengths[b] − counts[b] + i. Causal masking is always on (it is what hides the
 * slots past each sequence's end and keeps a chunk causal inside), and every
 * modifier sees true positions. A cache that reads as several parts (the streaming
 * cache: sinks, ring) runs one forward per part and merges them exactly (combine); a
 * paged part is one forward over the page pools through the `pages` option.
 */
import { and } from '../mods/modifier.js';
import { AttentionInputError } from '../tensor/errors.js';
import type { Attention, ForwardResult } from './attention.js';
import { checkDecodeOptions } from './check-options.js';
import { perSequence } from './kv-cache.js';
import type { KVCacheLike } from './kv-cache-types.js';
import type { BackwardOptions } from './options.js';
import { AttentionTensor } from './tensor.js';

/**
 * Options of attn.decode(): forward()'s, less the positions and pages (the cache sets them),
 * plus counts. backward()'s are accepted and unused, so one options object serves all three.
 */
export interface DecodeOptions extends Omit<BackwardOptions, 'causal' | 'queryOffset' | 'keyOffset' | 'into' | 'pages'> {
  /** Decoding is always causal: true is accepted (it says what decode does anyway), false is an error. */
  readonly causal?: boolean;
  /**
   * Rows of q that are real per sequence: one number for all, or one each (ragged). Sequence b's
   * rows 0 … counts[b] − 1 are its newest counts[b] tokens (the last append's); later rows are
   * padding: their output is meaningless (often finite: they may see cache slots past the
   * sequence's length), so read only the real rows. Default: q's row count Nq.
   */
  readonly counts?: number | readonly number[];
}

/** Whether `x` is a KV cache (attn.kvCache(), or any implementation of KVCacheLike). */
function isCache(x: unknown): x is KVCacheLike {
  return typeof x === 'object' && x !== null && typeof (x as KVCacheLike).readPlan === 'function';
}

/** See Attention.decode. */
export async function decodeOver(attn: Attention, q: AttentionTensor, cache: KVCacheLike, options?: DecodeOptions): Promise<ForwardResult> {
  if (!(q instanceof AttentionTensor)) throw new AttentionInputError('decode: q must be a tensor made by attn.tensor()');
  if (!isCache(cache)) throw new AttentionInputError('decode: cache must come from attn.kvCache() or attn.pagedKVCache()');
  const { counts: countsOpt, ...rest } = checkDecodeOptions(options);
  const { batch, heads, seq: nq, headDim } = q.shape;
  if (batch !== cache.batch || headDim !== cache.headDim || heads % cache.heads !== 0) {
    throw new AttentionInputError(
      `decode: q is [${q.dims.join(', ')}], but the cache holds ${cache.batch} sequences of ${cache.heads} K/V heads of dim ${cache.headDim} ` +
        '(q needs the same batch and head dim, and a multiple of its heads)',
    );
  }
  const lengths = cache.lengths;
  const counts = perSequence(countsOpt ?? nq, batch, 'decode: counts', nq);
  counts.forEach((n, b) => {
    if (n > lengths[b]!) throw new AttentionInputError(`decode: counts[${b}] is ${n}, but sequence ${b} holds ${lengths[b]} tokens: append them first`);
  });
  const queryOffset = counts.map((n, b) => lengths[b]! - n);
  // The device copies of the appends before this call: one that failed wrote nothing (copy-watch.ts).
  const copied = cache.settled?.();
  copied?.catch(() => {}); // awaited below, after the calls have taken their place in order
  const { parts, release } = cache.readPlan(queryOffset, nq);
  const wrong = parts.some((p) => p.k.owner !== attn.impl)
    ? 'decode: the cache belongs to another Attention instance (or device); make it with this one'
    : parts.some((p) => p.k.dtype !== q.dtype)
      ? `decode: q is ${q.dtype} but the cache holds ${parts[0]!.k.dtype}: q must have the cache's dtype`
      : undefined;
  if (wrong) {
    release?.();
    throw new AttentionInputError(wrong);
  }
  const many = parts.length > 1;
  const results: ForwardResult[] = [];
  try {
    // Every part's call is made now, so each takes its place in the submission order before any later call of the caller's.
    const settled = await Promise.allSettled(
      parts.map((part) => {
        const masks = [rest.mask, part.mask].filter((m) => m !== undefined);
        return attn.forward(q, part.k, part.v, {
          ...rest,
          causal: true,
          queryOffset,
          keyOffset: part.keyOffset,
          ...(part.pages ? { pages: part.pages } : {}),
          mask: masks.length > 1 ? and(...masks) : masks[0],
          sinks: part.sinks ? rest.sinks : undefined,
          returnLse: many || rest.returnLse,
        });
      }),
    );
    for (const s of settled) if (s.status === 'fulfilled') results.push(s.value);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason; // (the parts that came back are freed below)
    try {
      await copied;
    } catch (e) {
      if (!many) [results[0]!.out, results[0]!.lse].forEach((t) => t?.destroy());
      throw e;
    }
    if (!many) return results[0]!;
    const merged = await attn.combine(results.map((r) => ({ out: r.out, lse: r.lse! })));
    if (rest.returnLse) return merged;
    merged.lse.destroy();
    return { out: merged.out };
  } finally {
    release?.();
    if (many) for (const r of results) [r.out, r.lse].forEach((t) => t?.destroy());
  }
}
