/*
 * PagedKVCache: a K/V cache of fixed-size pages, as vLLM's PagedAttention keeps it.
 * Every sequence owns a page table (a list of page ids) and a length; pages come from
 * one free list and go back to it when no sequence points at them. Sequences may share
 * pages: fork(seq) makes a new sequence pointing at the same pages (reference counts
 * go up), and the first append to a shared page that is only partly filled copies it
 * first (copy-on-write), so a shared prompt is stored once however many continuations
 * grow from it. Attention reads the pages in place through forward()'s `pages` option
 * (kernels/paged.ts): no per-step copies, ragged lengths in one call.
 *
 *   const cache = attn.pagedKVCache({ heads: 8, headDim: 64, pageSize: 16, numPages: 1024 });
 *   const s = cache.create();
 *   cache.append(s, kNew, vNew);                        // [Hkv, n, D] host data, or [1, Hkv, n, D] tensors
 *   const { out } = await cache.attend(q, { seqs: [s] });
 */
import { AttentionInputError } from '../tensor/errors.js';
import type { DType } from '../tensor/half.js';
import { shapeToString } from '../tensor/shape.js';
import type { Attention, ForwardResult } from './attention.js';
import { hostData, type TensorData } from './host-data.js';
import type { ForwardOptions } from './options.js';
import { PagePools, type PageRun, type RowSource } from './paged-pool.js';
import { AttentionTensor } from './tensor.js';

/** Options of attn.pagedKVCache(). */
export interface PagedKVCacheOptions {
  /** Sequences created at once, with ids 0 … batch−1 (more with create()). Default 0. */
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

/** Options of cache.attend(): forward()'s (but pages), and which sequences the query batch entries are. */
export interface AttendOptions extends Omit<ForwardOptions, 'pages'> {
  /** Query batch entry b attends over sequence seqs[b]. Default: every live sequence, by ascending id. */
  readonly seqs?: readonly number[];
}

interface Sequence {
  pages: number[];
  length: number;
}

export class PagedKVCache {
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

  /** @internal Use attn.pagedKVCache(). */
  constructor(
    private readonly attn: Attention,
    opts: PagedKVCacheOptions,
  ) {
    const o = opts ?? ({} as PagedKVCacheOptions);
    const int = (name: string, v: unknown, min: number) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
        throw new AttentionInputError(`pagedKVCache: ${name} must be an integer ≥ ${min}, got ${String(v)}`);
      return v;
    };
    this.heads = int('heads', o.heads, 1);
    this.headDim = int('headDim', o.headDim, 4);
    if (this.headDim % 4 !== 0) throw new AttentionInputError(`pagedKVCache: headDim must be a multiple of 4, got ${this.headDim}`);
    this.pageSize = int('pageSize', o.pageSize, 1);
    this.numPages = int('numPages', o.numPages, 1);
    if (o.dtype !== undefined && o.dtype !== 'f32' && o.dtype !== 'f16')
      throw new AttentionInputError(`pagedKVCache: dtype must be 'f32' or 'f16', got ${String(o.dtype)}`);
    this.dtype = o.dtype ?? 'f32';
    this.pools = new PagePools(attn, this.numPages, this.heads, this.pageSize, this.headDim, this.dtype);
    this.refs = new Int32Array(this.numPages);
    this.freeList = Array.from({ length: this.numPages }, (_, i) => this.numPages - 1 - i);
    for (let i = 0; i < int('batch', o.batch ?? 0, 0); i++) this.create();
  }

  /** The K page pool [numPages, Hkv, pageSize, D] ('bhnd'), as forward()'s `pages` option reads it. */
  get k(): AttentionTensor {
    return this.pools.k;
  }

  /** The V page pool, shaped like k. */
  get v(): AttentionTensor {
    return this.pools.v;
  }

  /** Pages no sequence points at. */
  get freePages(): number {
    return this.freeList.length;
  }

  /** Ids of the live sequences, ascending. */
  sequences(): number[] {
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
    return this.refs[page] ?? 0;
  }

  /** A new empty sequence; returns its id. */
  create(): number {
    const id = this.nextId++;
    this.seqs.set(id, { pages: [], length: 0 });
    return id;
  }

  /**
   * Appends n tokens' keys and values to sequence `seq`, written into its pages in place:
   * host data [Hkv, n, D] (f32 values, or f16 bits for an f16 cache), or tensors [1, Hkv, n, D]
   * of this Attention and the cache's dtype. A shared, partly filled last page is copied
   * first (copy-on-write); new pages come from the free list. Throws, changing nothing,
   * when the pages run out.
   */
  append(seq: number, k: TensorData | AttentionTensor, v: TensorData | AttentionTensor): void {
    const s = this.seq(seq);
    const [ks, n] = this.source(k, 'k');
    const [vs, nv] = this.source(v, 'v');
    if (n !== nv) throw new AttentionInputError(`append: k has ${n} tokens but v has ${nv}`);
    if (n === 0) return;
    const ps = this.pageSize;
    const partial = s.length % ps !== 0;
    const cow = partial && this.refs[s.pages[Math.floor(s.length / ps)]!]! > 1;
    const fresh = Math.ceil((s.length + n) / ps) - s.pages.length + (cow ? 1 : 0);
    if (fresh > this.freeList.length) {
      throw new AttentionInputError(`append: sequence ${seq} needs ${fresh} more pages of ${ps} tokens, but only ${this.freeList.length} are free`);
    }
    if (cow) {
      const last = s.pages.length - 1;
      const copy = this.take();
      this.pools.copyPage(s.pages[last]!, copy);
      this.release(s.pages[last]!);
      s.pages[last] = copy;
    }
    while (s.pages.length * ps < s.length + n) s.pages.push(this.take());
    const runs: PageRun[] = [];
    for (let row = 0; row < n;) {
      const pos = s.length + row;
      const count = Math.min(n - row, ps - (pos % ps));
      runs.push({ page: s.pages[Math.floor(pos / ps)]!, at: pos % ps, row, count });
      row += count;
    }
    this.pools.write('k', ks, n, runs);
    this.pools.write('v', vs, n, runs);
    s.length += n;
  }

  /** Shortens sequence `seq` to `length` tokens (rejected speculative tokens); pages past it are released. */
  truncate(seq: number, length: number): void {
    const s = this.seq(seq);
    if (!Number.isInteger(length) || length < 0 || length > s.length) {
      throw new AttentionInputError(`truncate: length must be an integer in [0, ${s.length}] for sequence ${seq}, got ${String(length)}`);
    }
    const keep = Math.ceil(length / this.pageSize);
    for (const p of s.pages.splice(keep)) this.release(p);
    s.length = length;
  }

  /** Frees sequence `seq`: its pages go back to the free list once no other sequence points at them. */
  free(seq: number): void {
    const s = this.seq(seq);
    for (const p of s.pages) this.release(p);
    this.seqs.delete(seq);
  }

  /** Frees every sequence. */
  reset(): void {
    for (const id of this.sequences()) this.free(id);
  }

  /**
   * A new sequence sharing `seq`'s tokens (a common prefix): it points at the same pages, and
   * either one's next append copies a shared partial page before writing. Returns its id.
   */
  fork(seq: number): number {
    const s = this.seq(seq);
    const id = this.create();
    this.seqs.set(id, { pages: [...s.pages], length: s.length });
    for (const p of s.pages) this.refs[p]!++;
    return id;
  }

  /**
   * Attention of q [B, Hq, Nq, D] over the sequences `opts.seqs` (query entry b over
   * sequence seqs[b], default every live one by id), read in place through the page tables.
   * Each entry's Nq rows sit at its last positions (queryOffset = length − Nq) unless
   * queryOffset says otherwise; forward()'s other options apply as usual.
   */
  async attend(q: AttentionTensor, opts: AttendOptions = {}): Promise<ForwardResult> {
    const { seqs = this.sequences(), ...rest } = opts ?? {};
    if (!Array.isArray(seqs)) throw new AttentionInputError('attend: seqs must be an array of sequence ids');
    const table = seqs.map((id) => this.seq(id).pages);
    const lengths = seqs.map((id) => this.seq(id).length);
    if (q instanceof AttentionTensor && q.shape.batch !== seqs.length) {
      throw new AttentionInputError(`attend: q ${shapeToString(q.shape)} has batch ${q.shape.batch}, but ${seqs.length} sequences were named (one each)`);
    }
    return this.attn.forward(q, this.pools.k, this.pools.v, { ...rest, pages: { table, lengths } } as ForwardOptions);
  }

  /** Releases the pools. */
  destroy(): void {
    this.pools.destroy();
    this.seqs.clear();
  }

  private seq(id: number): Sequence {
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

  /** New rows as a pool write reads them, and their token count. */
  private source(x: TensorData | AttentionTensor, name: string): [RowSource, number] {
    const HD = this.heads * this.headDim;
    if (x instanceof AttentionTensor) {
      const sh = x.shape;
      if (sh.batch !== 1 || sh.heads !== this.heads || sh.headDim !== this.headDim || x.dtype !== this.dtype) {
        throw new AttentionInputError(`append: ${name} must be [1, ${this.heads}, n, ${this.headDim}] ${this.dtype}, got ${shapeToString(sh)} ${x.dtype}`);
      }
      if (x.owner !== this.attn.impl) throw new AttentionInputError(`append: ${name} belongs to another Attention instance`);
      return [{ kind: 'tensor', storage: x.storage(name), layout: x.layout }, sh.seq];
    }
    const data = hostData(x, this.dtype);
    if (data.dtype !== this.dtype) throw new AttentionInputError(`append: ${name} is ${data.dtype} data, but the cache is ${this.dtype}`);
    if (data.length % HD !== 0)
      throw new AttentionInputError(`append: ${name} has ${data.length} values, not a whole number of [${this.heads}, n, ${this.headDim}] tokens`);
    return [{ kind: 'host', data }, data.length / HD];
  }
}
