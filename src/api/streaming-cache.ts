/*
 * The streaming KV cache (StreamingLLM): the first `sinks` tokens of each sequence
 * stay for good, and a ring keeps the newest R = window + maxChunk − 1 tokens,
 * evicting the oldest in place. Attention over it equals full attention under
 * streamingSinks(sinks, window) over the logical sequence: a query at position p
 * sees the sinks and the keys in (p − window, p], and a chunk of up to maxChunk
 * rows needs at most R recent keys.
 *
 * Positions must stay affine in the slot index (the kernels place key j at
 * keyOffset + j), which a ring breaks where it wraps. So the ring is doubled: token t
 * is written at ring slots r and r + R (r = (t − sinks) mod R), and the R newest tokens
 * are then always one contiguous run of slots, oldest first. Attention runs as two
 * parts merged exactly by combine: the sinks (positions 0 … sinks − 1), and the ring
 * with keyOffset placing that run at its true positions. Ring slots before the run
 * land at positions older than every kept token and are outside each row's window;
 * slots after it land past the rows and are hidden by causal masking.
 */
import { slidingWindow } from '../mods/builtins.js';
import type { Modifier } from '../mods/modifier.js';
import { AttentionInputError } from '../tensor/errors.js';
import type { DType } from '../tensor/half.js';
import { checkLive, type Backend } from './backends.js';
import { CacheStore } from './cache-store.js';
import { CopyWatch } from './copy-watch.js';
import { appendArgs, perSequence, type CacheSizes } from './kv-cache.js';
import { PendingReads } from './pending-reads.js';
import type { AppendData, AppendOptions, CachePart, CacheReadPlan, KVCacheLike } from './kv-cache-types.js';

/** Most query rows per decode() by default (speculative decoding, chunked prefill). */
export const DEFAULT_MAX_CHUNK = 16;

/** A streaming KV cache (attn.kvCache({ …, streaming: { sinks, window } })). */
export class StreamingKVCache implements KVCacheLike {
  readonly kind = 'streaming';
  readonly batch: number;
  readonly heads: number;
  readonly headDim: number;
  readonly dtype: DType;
  /** Tokens kept from the start of each sequence. */
  readonly sinks: number;
  readonly window: number;
  /** Most query rows one decode() may have. */
  readonly maxChunk: number;
  /** Recent tokens the ring keeps: window + maxChunk − 1. */
  readonly ring: number;
  #sinkStore: CacheStore | undefined;
  #ringStore: CacheStore | undefined;
  #lengths: number[];
  readonly #reads = new PendingReads();
  readonly #copies = new CopyWatch();
  /** Per sequence, the oldest position ≥ sinks from which every token up to its length is in the ring. */
  #oldest: number[];
  /** The ring part's mask: for keys past the sinks, streamingSinks is the causal window. */
  private readonly windowMask: Modifier;

  /** @internal Use attn.kvCache({ streaming }). */
  constructor(
    private readonly impl: Backend,
    sizes: CacheSizes,
    streaming: { readonly sinks: number; readonly window: number; readonly maxChunk?: number },
  ) {
    ({ batch: this.batch, heads: this.heads, headDim: this.headDim, dtype: this.dtype } = sizes);
    this.sinks = streaming.sinks;
    this.window = streaming.window;
    this.maxChunk = streaming.maxChunk ?? DEFAULT_MAX_CHUNK;
    this.ring = this.window + this.maxChunk - 1;
    this.windowMask = slidingWindow(this.window);
    const shape = (seq: number) => ({ batch: this.batch, heads: this.heads, seq, headDim: this.headDim });
    this.#sinkStore = new CacheStore(impl, shape(this.sinks), this.dtype, 'kv-cache sinks');
    this.#ringStore = new CacheStore(impl, shape(2 * this.ring), this.dtype, 'kv-cache ring');
    this.#lengths = Array<number>(this.batch).fill(0);
    this.#oldest = Array<number>(this.batch).fill(this.sinks);
  }

  private stores(): [CacheStore, CacheStore] {
    checkLive(this.impl);
    if (!this.#sinkStore || !this.#ringStore) throw new AttentionInputError('this KV cache was destroyed');
    return [this.#sinkStore, this.#ringStore];
  }

  /** Tokens each sequence has seen (its logical length; only sinks + ring of them are kept). */
  get lengths(): readonly number[] {
    this.stores();
    return Object.freeze([...this.#lengths]);
  }

  /** Tokens kept per sequence at most: sinks + ring. */
  get capacity(): number {
    this.stores();
    return this.sinks + this.ring;
  }

  /**
   * Appends counts[b] tokens to sequence b, in place: tokens before position `sinks` go to the
   * sinks, later ones to the ring (twice, see the top of this file), evicting the oldest;
   * of a long append only the newest `ring` tokens are written.
   */
  append(k: AppendData, v: AppendData, opts: AppendOptions = {}): void {
    const [sinkStore, ringStore] = this.stores();
    this.#reads.check('append (a streaming cache evicts in place)');
    this.#copies.check();
    const { ks, vs, counts } = appendArgs(this.impl, this, k, v, opts);
    const { sinks: S, ring: R } = this;
    const end = counts.map((n, b) => this.#lengths[b]! + n);
    const toSinks = (b: number, i: number) => {
      const t = this.#lengths[b]! + i;
      return t < S ? [t] : [];
    };
    const toRing = (b: number, i: number) => {
      const t = this.#lengths[b]! + i;
      if (t < S || t < end[b]! - R) return []; // a sink, or evicted before this append ends
      const r = (t - S) % R;
      return [r, r + R];
    };
    for (const [which, src] of [
      ['k', ks],
      ['v', vs],
    ] as const) {
      this.#copies.watch(sinkStore.write(which, src, counts, toSinks), which);
      this.#copies.watch(ringStore.write(which, src, counts, toRing), which);
    }
    this.#lengths = end;
    this.#oldest = this.#oldest.map((o, b) => Math.max(o, end[b]! - R));
  }

  /**
   * Shortens sequences to `lengths` (e.g. rejected speculative tokens). Evicted tokens do not
   * come back: decode() refuses rows whose window reaches a token no longer kept.
   */
  truncate(lengths: number | readonly number[]): void {
    this.stores();
    this.#reads.check('truncate');
    this.#copies.check();
    const want = perSequence(lengths, this.batch, 'truncate: lengths');
    want.forEach((n, b) => {
      if (n > this.#lengths[b]!) throw new AttentionInputError(`truncate: sequence ${b} holds ${this.#lengths[b]} tokens, cannot grow to ${n}`);
    });
    this.#oldest = this.#oldest.map((o, b) => Math.min(o, Math.max(want[b]!, this.sinks)));
    this.#lengths = want;
  }

  reset(): void {
    this.stores();
    this.#reads.check('reset');
    this.#lengths.fill(0);
    this.#oldest.fill(this.sinks);
    this.#copies.reset();
  }

  /** Frees the memory (once any decode not yet submitted has submitted its work). */
  destroy(): void {
    const stores = [this.#sinkStore, this.#ringStore];
    this.#sinkStore = this.#ringStore = undefined;
    this.#reads.whenIdle(() => stores.forEach((st) => st?.destroy()));
  }

  /** @internal */
  settled(): Promise<void> {
    return this.#copies.settled();
  }

  /**
   * @internal The sinks (with the learned sinks, if any), then the ring when some sequence has
   * tokens past the sinks. Throws if a row's window reaches a token that is no longer kept.
   */
  readPlan(queryPositions: readonly number[]): CacheReadPlan {
    const [sinkStore, ringStore] = this.stores();
    this.#copies.check();
    const { sinks: S, ring: R } = this;
    queryPositions.forEach((p, b) => {
      const need = Math.max(S, p - this.window + 1);
      if (need < this.#oldest[b]! && need < this.#lengths[b]!) {
        throw new AttentionInputError(
          `streaming cache: the rows of sequence ${b} (from position ${p}) need keys from position ${need}, but it keeps them only from ` +
            `${this.#oldest[b]} (a ring of window + maxChunk − 1 = ${R} tokens): use at most maxChunk = ${this.maxChunk} rows, ` +
            'and truncate by at most maxChunk − rows tokens',
        );
      }
    });
    const parts: CachePart[] = [{ k: sinkStore.k, v: sinkStore.v, keyOffset: Array<number>(this.batch).fill(0), sinks: true }];
    if (this.#lengths.some((n) => n > S)) {
      // Ring slot j of sequence b holds position keyOffset[b] + j for the kept run (oldest first).
      const keyOffset = this.#oldest.map((o) => o - ((o - S) % R));
      parts.push({ k: ringStore.k, v: ringStore.v, keyOffset, mask: this.windowMask, sinks: false });
    }
    return { parts, release: this.#reads.begin() };
  }
}
