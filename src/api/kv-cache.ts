/*
 * The contiguous KV cache: K and V of B sequences as [B, Hkv, capacity, D] tensors on
 * the backend, token t of sequence b in slot t. append() writes the new rows in place
 * (writeBuffer / copyBufferToBuffer on WebGPU); attention reads the whole buffers with
 * no copy, the rows past each sequence's length hidden by causal masking at its
 * positions (they come after the sequence's last query). Past the capacity the
 * buffers double (one device copy, amortised O(1) per token).
 */
import { AttentionInputError } from '../tensor/errors.js';
import type { DType } from '../tensor/half.js';
import { checkLive, type Backend } from './backends.js';
import { checkAppendOptions } from './check-options.js';
import { CopyWatch } from './copy-watch.js';
import { PendingReads } from './pending-reads.js';
import { appendSource, CacheStore } from './cache-store.js';
import type { AppendData, AppendOptions, CacheReadPlan, KVCacheLike } from './kv-cache-types.js';
import type { AttentionTensor } from './tensor.js';

/** Tokens per sequence a contiguous cache holds before its first growth. */
export const DEFAULT_CAPACITY = 256;

/** One count per sequence from a number or an array (checked: integers in [0, max]). */
export function perSequence(v: number | readonly number[], batch: number, name: string, max = Infinity): number[] {
  const arrayLike = Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
  const list = typeof v === 'number' ? Array<number>(batch).fill(v) : arrayLike ? Array.from(v as ArrayLike<number>) : undefined;
  if (!list) throw new AttentionInputError(`${name} must be a number or an array of ${batch} numbers, got ${typeof v}`);
  if (list.length !== batch) throw new AttentionInputError(`${name} has ${list.length} entries, but the cache holds ${batch} sequences`);
  list.forEach((x, b) => {
    if (!Number.isInteger(x) || x < 0 || x > max) {
      throw new AttentionInputError(`${name}[${b}] must be ${max === Infinity ? 'an integer ≥ 0' : `an integer in [0, ${max}]`}, got ${String(x)}`);
    }
  });
  return list;
}

/** What append() works from: K and V checked and converted, and the count per sequence. */
export function appendArgs(impl: Backend, cache: CacheSizes, k: AppendData, v: AppendData, options?: AppendOptions) {
  const opts = checkAppendOptions(options);
  const like = { batch: cache.batch, heads: cache.heads, seq: 1, headDim: cache.headDim };
  const ks = appendSource(impl, k, 'k', like, cache.dtype, opts.layout);
  const vs = appendSource(impl, v, 'v', like, cache.dtype, opts.layout);
  if (ks.seq !== vs.seq) throw new AttentionInputError(`k holds ${ks.seq} tokens per sequence but v holds ${vs.seq}`);
  const counts = perSequence(opts.counts ?? ks.seq, cache.batch, 'counts', ks.seq);
  return { ks, vs, counts };
}

/** The checked sizes every cache kind is made with. */
export interface CacheSizes {
  readonly batch: number;
  readonly heads: number;
  readonly headDim: number;
  readonly dtype: DType;
}

/** A contiguous KV cache (attn.kvCache({ batch, heads, headDim, capacity, dtype })). */
export class KVCache implements KVCacheLike {
  readonly kind = 'contiguous';
  readonly batch: number;
  readonly heads: number;
  readonly headDim: number;
  readonly dtype: DType;
  #store: CacheStore | undefined;
  #lengths: number[];
  readonly #reads = new PendingReads();
  readonly #copies = new CopyWatch();

  /** @internal Use attn.kvCache(). */
  constructor(
    private readonly impl: Backend,
    sizes: CacheSizes,
    capacity: number,
  ) {
    ({ batch: this.batch, heads: this.heads, headDim: this.headDim, dtype: this.dtype } = sizes);
    this.#lengths = Array<number>(this.batch).fill(0);
    this.#store = this.newStore(capacity);
  }

  private newStore(capacity: number): CacheStore {
    return new CacheStore(this.impl, { batch: this.batch, heads: this.heads, seq: capacity, headDim: this.headDim }, this.dtype, 'kv-cache');
  }

  private get store(): CacheStore {
    return this.live();
  }

  /** The store; throws once the cache is destroyed. */
  private live(): CacheStore {
    checkLive(this.impl);
    if (!this.#store) throw new AttentionInputError('this KV cache was destroyed');
    return this.#store;
  }

  /** Tokens each sequence holds. */
  get lengths(): readonly number[] {
    this.live();
    return Object.freeze([...this.#lengths]);
  }

  /** Token slots per sequence now allocated (grows by doubling). */
  get capacity(): number {
    return this.store.shape.seq;
  }

  /** K, [B, Hkv, capacity, D] 'bhnd', owned by the cache (do not destroy; replaced when the cache grows). Slots past lengths[b] hold stale rows. */
  get k(): AttentionTensor {
    return this.store.k;
  }

  /** V, like k. */
  get v(): AttentionTensor {
    return this.store.v;
  }

  /**
   * Appends counts[b] tokens to sequence b (rows 0 … counts[b] − 1 of its part of k and v),
   * in place. Past the capacity the cache first grows to max(2 × capacity, what is needed).
   * @param k [B, Hkv, N, D] host data (layout `opts.layout`, default 'bhnd') or a tensor of this Attention
   * @param v like k
   */
  append(k: AppendData, v: AppendData, opts: AppendOptions = {}): void {
    const store = this.store;
    this.#copies.check();
    const { ks, vs, counts } = appendArgs(this.impl, this, k, v, opts);
    const need = Math.max(...counts.map((n, b) => this.#lengths[b]! + n));
    if (need > store.shape.seq) this.grow(Math.max(2 * store.shape.seq, need));
    const place = (b: number, i: number) => [this.#lengths[b]! + i];
    this.#copies.watch(this.store.write('k', ks, counts, place), 'k');
    this.#copies.watch(this.store.write('v', vs, counts, place), 'v');
    counts.forEach((n, b) => (this.#lengths[b]! += n));
  }

  /** Reallocates to `capacity` slots, copying the old buffers on the device once. */
  private grow(capacity: number): void {
    const old = this.store;
    const next = this.newStore(capacity);
    next.copyFrom(old);
    this.#reads.whenIdle(() => old.destroy()); // a decode not yet submitted still reads the old buffers
    this.#store = next;
  }

  /** Shortens sequences to `lengths` (one for all, or one each; none may exceed its length now). */
  truncate(lengths: number | readonly number[]): void {
    this.live();
    this.#reads.check('truncate');
    this.#copies.check();
    const want = perSequence(lengths, this.batch, 'truncate: lengths');
    want.forEach((n, b) => {
      if (n > this.#lengths[b]!) throw new AttentionInputError(`truncate: sequence ${b} holds ${this.#lengths[b]} tokens, cannot grow to ${n}`);
    });
    this.#lengths = want;
  }

  /** Empties every sequence (the memory stays allocated). */
  reset(): void {
    this.live();
    this.#reads.check('reset');
    this.#lengths.fill(0);
    this.#copies.reset();
  }

  /** Frees the memory (once any decode not yet submitted has submitted its work). */
  destroy(): void {
    const store = this.#store;
    this.#store = undefined;
    if (store) this.#reads.whenIdle(() => store.destroy());
  }

  /** @internal */
  settled(): Promise<void> {
    return this.#copies.settled();
  }

  /** @internal One part: the whole buffers, key slot j at position j. */
  readPlan(): CacheReadPlan {
    const { k, v } = this.store;
    this.#copies.check();
    return { parts: [{ k, v, keyOffset: Array<number>(this.batch).fill(0), sinks: true }], release: this.#reads.begin() };
  }
}
