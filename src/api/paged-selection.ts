/*
 * cache.select(ids): some sequences of a paged cache, in a chosen order, seen through
 * the same KVCacheLike interface as a whole cache. The paged cache's own batch is all
 * its live sequences; a generator that runs only some of them (a finished sequence
 * left out, one beam advanced alone, a per-sequence append) decodes or appends through
 * a selection instead, and batch entry b is sequence ids[b]. A selection holds no
 * memory: it reads and writes the cache's pages and page tables.
 */
import type { DType } from '../tensor/half.js';
import type { AppendData, AppendOptions, CacheReadPlan, KVCacheLike } from './kv-cache-types.js';
import type { PagedKVCache } from './paged-cache.js';

/** Sequences `ids` of a paged cache as one KVCacheLike (from cache.select(ids)). */
export class PagedSelection implements KVCacheLike {
  readonly kind = 'paged';
  readonly heads: number;
  readonly headDim: number;
  readonly dtype: DType;

  /** @internal Use cache.select(ids). */
  constructor(
    readonly cache: PagedKVCache,
    /** The sequence ids: batch entry b is sequence ids[b]. */
    readonly ids: readonly number[],
  ) {
    ({ heads: this.heads, headDim: this.headDim, dtype: this.dtype } = cache);
  }

  get batch(): number {
    return this.ids.length;
  }

  /** Tokens in sequence ids[b]. */
  get lengths(): readonly number[] {
    return this.cache.lengthsOf(this.ids);
  }

  /** Appends counts[b] tokens to sequence ids[b]: k and v [ids.length, Hkv, N, D], as KVCache.append. */
  append(k: AppendData, v: AppendData, opts?: AppendOptions): void {
    this.cache.appendTo(this.ids, k, v, opts);
  }

  /** Shortens sequence ids[b] to lengths[b] (one number for all, or one each). */
  truncate(lengths: number | readonly number[]): void {
    this.cache.truncateTo(this.ids, lengths);
  }

  /** Empties these sequences (they stay; their pages go back unless another sequence shares them). */
  reset(): void {
    this.truncate(0);
  }

  /** Frees these sequences (cache.free of each); the rest of the cache stays. */
  destroy(): void {
    this.cache.lengthsOf(this.ids); // every id still a sequence, checked before any is freed
    for (const id of this.ids) this.cache.free(id);
  }

  /** @internal */
  readPlan(): CacheReadPlan {
    return this.cache.planFor(this.ids);
  }

  /** @internal */
  settled(): Promise<void> {
    return this.cache.settled();
  }
}
