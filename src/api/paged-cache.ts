/*
 * PagedKVCache: a K/V cache of fixed-size pages, as vLLM's PagedAttention keeps it.
 * Every sequence owns a page table (a list of page ids) and a length; pages come from
 * one free list and go back to it when no sequence points at them. Sequences may share
 * pages: fork(seq) makes a new sequence pointing at the same pages (reference counts
 * go up), and the first append to a shared page that is only partly filled copies it
 * first (copy-on-write), so a shared prompt is stored once however many continuations
 * grow from it.
 *
 * It is a KVCacheLike like the contiguous and streaming caches: its batch is its live
 * sequences by ascending id, append/truncate/reset/lengths work on that batch, and
 * attn.decode(q, cache) reads the pages in place through one forward with the `pages`
 * option (kernels/paged.ts): no per-step copies, ragged lengths in one call. What only
 * a paged cache has — sequences that come and go — is create(), fork(), free(), and
 * select(ids), the same interface over some of the sequences in a chosen order.
 *
 *   const cache = attn.pagedKVCache({ batch: 2, heads: 8, headDim: 64, pageSize: 16, numPages: 1024 });
 *   cache.append(kNew, vNew);                      // [2, Hkv, n, D], as for attn.kvCache()
 *   const { out } = await attn.decode(q, cache);   // q [2, Hq, n, D]
 *   const s = cache.fork(0);                       // sequence 2 shares sequence 0's pages
 *   await attn.decode(q1, cache.select([s]));      // q1 [1, Hq, n, D]: sequence 2 alone
 */
import { AttentionInputError } from '../tensor/errors.js';
import type { DType } from '../tensor/half.js';
import type { Attention } from './attention.js';
import { checkLive } from './backends.js';
import { checkPagedKVCacheOptions } from './check-options.js';
import { CopyWatch } from './copy-watch.js';
import { appendArgs, perSequence } from './kv-cache.js';
import type { AppendData, AppendOptions, CacheReadPlan, KVCacheLike } from './kv-cache-types.js';
import { PagePools } from './paged-pool.js';
import { PendingReads } from './pending-reads.js';
import { PagedSelection } from './paged-selection.js';
import type { AttentionTensor } from './tensor.js';

/** Options of attn.pagedKVCache(). */
export interface PagedKVCacheOptions {
  /** Sequences created at once, with ids 0 … batch−1 (more with create() and fork()). Default 0. */
  readonly batch?: number;
  /** K/V heads (Hkv). */
  readonly heads: number;
  /** Head dim D. */
  readonly headDim: number;
  /** Rows (tokens) per page. */
  readonly pageSize: number;
  /** Pages in the pools: the cache holds at most numPages · pageSize tokens, shared pages counted once. */
  readonly numPages: number;
  /** 'f32' (default) or 'f16'. */
  readonly dtype?: DType;
}

interface Sequence {
  pages: number[];
  length: number;
}

/** A paged KV cache (attn.pagedKVCache()); see the top of this file. */
export class PagedKVCache implements KVCacheLike {
  readonly kind = 'paged';
  readonly heads: number;
  readonly headDim: number;
  readonly pageSize: number;
  readonly numPages: number;
  readonly dtype: DType;
  private readonly pools: PagePools;
  private readonly refs: Int32Array;
  /** Free page ids; the next page comes off the end (lowest ids first on a fresh cache). */
  private readonly freeList: number[];
  private readonly seqs = new Map<number, Sequence>();
  private nextId = 0;
  #destroyed = false;
  readonly #reads = new PendingReads();
  readonly #copies = new CopyWatch();

  /** @internal Use attn.pagedKVCache(). */
  constructor(
    private readonly attn: Attention,
    opts: PagedKVCacheOptions,
  ) {
    const o = checkPagedKVCacheOptions(opts);
    ({ heads: this.heads, headDim: this.headDim, pageSize: this.pageSize, numPages: this.numPages } = o);
    this.dtype = o.dtype ?? 'f32';
    this.pools = new PagePools(attn, this.numPages, this.heads, this.pageSize, this.headDim, this.dtype);
    this.refs = new Int32Array(this.numPages);
    this.freeList = Array.from({ length: this.numPages }, (_, i) => this.numPages - 1 - i);
    for (let i = 0; i < (o.batch ?? 0); i++) this.create();
  }

  /** The K page pool [numPages, Hkv, pageSize, D] ('bhnd'), as forward()'s `pages` option reads it. */
  get k(): AttentionTensor {
    this.live();
    return this.pools.k;
  }

  /** The V page pool, shaped like k. */
  get v(): AttentionTensor {
    this.live();
    return this.pools.v;
  }

  /** Pages no sequence points at. */
  get freePages(): number {
    this.live();
    return this.freeList.length;
  }

  /** Ids of the live sequences, ascending. */
  sequences(): number[] {
    this.live();
    return [...this.seqs.keys()].sort((a, b) => a - b);
  }

  /** Tokens in sequence `seq`. */
  length(seq: number): number {
    return this.seq(seq).length;
  }

  /** Sequence `seq`'s page table (a copy): page ids in token order. */
  pages(seq: number): number[] {
    return [...this.seq(seq).pages];
  }

  /** How many sequences point at `page`. */
  refCount(page: number): number {
    this.live();
    if (!Number.isInteger(page) || page < 0 || page >= this.numPages) {
      throw new AttentionInputError(`refCount: page must be a page id, an integer in [0, ${this.numPages}), got ${String(page)}`);
    }
    return this.refs[page] ?? 0;
  }

  /** A new empty sequence; returns its id. */
  create(): number {
    this.live();
    const id = this.nextId++;
    this.seqs.set(id, { pages: [], length: 0 });
    return id;
  }

  /** Live sequences: the batch of append, truncate, decode (entry b is sequences()[b]). */
  get batch(): number {
    this.live();
    return this.seqs.size;
  }

  /** Tokens in each live sequence, by ascending id. */
  get lengths(): readonly number[] {
    return this.lengthsOf(this.sequences());
  }

  /**
   * Appends counts[b] tokens to the b-th live sequence (as KVCache.append: k and v
   * [B, Hkv, N, D] host data or tensors of this Attention, opts.counts, opts.layout). To append
   * to some sequences only, use select(ids).append or counts of 0.
   */
  append(k: AppendData, v: AppendData, opts?: AppendOptions): void {
    this.appendTo(this.sequences(), k, v, opts);
  }

  /** Shortens the live sequences to `lengths` (one for all, or one each); whole pages past them are released. */
  truncate(lengths: number | readonly number[]): void {
    this.truncateTo(this.sequences(), lengths);
  }

  /** Empties every sequence: they stay (same ids, length 0) and every page goes back to the free list. */
  reset(): void {
    this.truncateTo(this.sequences(), 0, 'reset');
    this.#copies.reset();
  }

  /** A view of sequences `ids` in this order (each at most once) with the same interface: for decode, append, truncate of some. */
  select(ids: readonly number[]): PagedSelection {
    if (!Array.isArray(ids)) throw new AttentionInputError('select: ids must be an array of sequence ids');
    ids.forEach((id) => this.seq(id));
    if (new Set(ids).size !== ids.length) throw new AttentionInputError(`select: ids [${ids.join(', ')}] name a sequence twice`);
    return new PagedSelection(this, [...ids]);
  }

  /** @internal (a selection's too: one watch for the pools) */
  settled(): Promise<void> {
    return this.#copies.settled();
  }

  /** @internal One part: the page pools, read through the live sequences' page tables. */
  readPlan(): CacheReadPlan {
    return this.planFor(this.sequences());
  }

  /** @internal Lengths of sequences `ids`. */
  lengthsOf(ids: readonly number[]): readonly number[] {
    return Object.freeze(ids.map((id) => this.seq(id).length));
  }

  /** @internal The read plan of sequences `ids` (batch entry b: sequence ids[b]). */
  planFor(ids: readonly number[]): CacheReadPlan {
    this.#copies.check();
    const table = ids.map((id) => [...this.seq(id).pages]);
    const lengths = ids.map((id) => this.seq(id).length);
    const keyOffset = Array<number>(ids.length).fill(0);
    return { parts: [{ k: this.pools.k, v: this.pools.v, keyOffset, sinks: true, pages: { table, lengths } }], release: this.#reads.begin() };
  }

  /**
   * @internal Appends counts[b] tokens to sequence ids[b], into its pages in place. A shared,
   * partly filled last page is copied first (copy-on-write); new pages come from the free list.
   * Throws, changing nothing, when the pages run out.
   */
  appendTo(ids: readonly number[], k: AppendData, v: AppendData, opts: AppendOptions = {}): void {
    const seqs = ids.map((id) => this.seq(id));
    this.#copies.check();
    const sizes = { batch: ids.length, heads: this.heads, headDim: this.headDim, dtype: this.dtype };
    const { ks, vs, counts } = appendArgs(this.attn.impl, sizes, k, v, opts);
    const ps = this.pageSize;
    // Plan first, in order, so that two sequences sharing a partial page copy it once.
    const shared = new Map<number, number>();
    let fresh = 0;
    const cow = seqs.map((s, b) => {
      if (counts[b] === 0) return false;
      const last = s.length % ps !== 0 ? s.pages[s.pages.length - 1]! : -1;
      const copies = last >= 0 && this.refs[last]! - (shared.get(last) ?? 0) > 1;
      if (copies) shared.set(last, (shared.get(last) ?? 0) + 1);
      fresh += Math.ceil((s.length + counts[b]!) / ps) - s.pages.length + (copies ? 1 : 0);
      return copies;
    });
    if (fresh > this.freeList.length) {
      throw new AttentionInputError(`append needs ${fresh} more pages of ${ps} tokens, but only ${this.freeList.length} are free`);
    }
    seqs.forEach((s, b) => {
      if (cow[b]) {
        const last = s.pages.length - 1;
        const copy = this.take();
        this.pools.copyPage(s.pages[last]!, copy);
        this.release(s.pages[last]!);
        s.pages[last] = copy;
      }
      while (s.pages.length * ps < s.length + counts[b]!) s.pages.push(this.take());
    });
    const place = (b: number, i: number) => {
      const pos = seqs[b]!.length + i;
      return { page: seqs[b]!.pages[Math.floor(pos / ps)]!, at: pos % ps };
    };
    this.#copies.watch(this.pools.write('k', ks, counts, place), 'k');
    this.#copies.watch(this.pools.write('v', vs, counts, place), 'v');
    seqs.forEach((s, b) => (s.length += counts[b]!));
  }

  /** @internal Shortens sequences `ids` to `lengths` (checked first: none may grow); pages past them are released. */
  truncateTo(ids: readonly number[], lengths: number | readonly number[], what = 'truncate'): void {
    const seqs = ids.map((id) => this.seq(id));
    this.#reads.check(what); // freed pages could be reused by a later append
    if (what !== 'reset') this.#copies.check();
    const want = perSequence(lengths, ids.length, 'truncate: lengths');
    want.forEach((n, b) => {
      if (n > seqs[b]!.length) throw new AttentionInputError(`truncate: sequence ${ids[b]} holds ${seqs[b]!.length} tokens, cannot grow to ${n}`);
    });
    seqs.forEach((s, b) => {
      for (const p of s.pages.splice(Math.ceil(want[b]! / this.pageSize))) this.release(p);
      s.length = want[b]!;
    });
  }

  /** Frees sequence `seq`: its pages go back to the free list once no other sequence points at them. */
  free(seq: number): void {
    const s = this.seq(seq);
    this.#reads.check('free'); // freed pages could be reused by a later append
    for (const p of s.pages) this.release(p);
    this.seqs.delete(seq);
  }

  /**
   * A new sequence sharing `seq`'s tokens (a common prefix): it points at the same pages, and
   * either one's next append copies a shared partial page before writing. Returns its id
   * (the highest so far: the last batch entry).
   */
  fork(seq: number): number {
    const s = this.seq(seq);
    const id = this.create();
    this.seqs.set(id, { pages: [...s.pages], length: s.length });
    for (const p of s.pages) this.refs[p]!++;
    return id;
  }

  /** Releases the pools (once any decode not yet submitted has submitted its work); every later use of the cache throws. Calling it again does nothing. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#reads.whenIdle(() => this.pools.destroy()); // a decode not yet submitted still reads the pools
    this.seqs.clear();
  }

  /** Throws once the Attention or this cache is destroyed. */
  private live(): void {
    checkLive(this.attn.impl);
    if (this.#destroyed) throw new AttentionInputError('this paged KV cache was destroyed');
  }

  private seq(id: number): Sequence {
    this.live();
    const s = this.seqs.get(id);
    if (!s) throw new AttentionInputError(`sequence ${String(id)} is not in this cache (never created, or freed)`);
    return s;
  }

  private take(): number {
    const p = this.freeList.pop()!;
    this.refs[p] = 1;
    return p;
  }

  private release(page: number): void {
    if (--this.refs[page]! === 0) this.freeList.push(page);
  }
}
