/*
 * What every KV cache kind shares (contiguous, streaming, paged): the public methods a
 * generation loop calls — append, truncate, reset, lengths — and the one internal
 * method through which attn.decode() reads a cache in place. A cache kind implements
 * KVCacheLike; decode() knows nothing else of it, so a new kind only has to say how its
 * keys are laid out for attention (`readPlan`): contiguous slots, a sinks part and a ring
 * part, or page pools with a page table (the paged cache's one extra field, `pages`).
 */
import type { Modifier } from '../mods/modifier.js';
import type { DType } from '../tensor/half.js';
import type { Layout } from '../tensor/shape.js';
import type { TensorData } from './host-data.js';
import type { PagedKeys } from './paged-call.js';
import type { AttentionTensor } from './tensor.js';

/** Options of attn.kvCache(). */
export interface KVCacheOptions {
  /** Sequences held side by side (the batch of every append and decode). */
  readonly batch: number;
  /** K/V heads (Hkv); the queries of decode() may have any multiple of it (GQA). */
  readonly heads: number;
  readonly headDim: number;
  /**
   * Contiguous cache: tokens per sequence the buffers hold at first (default 256). An
   * append past it doubles the capacity (or more, to fit), copying the cache once on
   * the device; a streaming cache has a fixed size and takes no capacity.
   */
  readonly capacity?: number;
  /** Element type of the stored K and V (default 'f32'); appended data is converted to it. */
  readonly dtype?: DType;
  /**
   * StreamingLLM: keep the first `sinks` tokens and a rolling window of the newest tokens,
   * evicting the oldest in place; decode() then equals full attention under
   * `streamingSinks(sinks, window)` over the whole logical sequence.
   */
  readonly streaming?: StreamingOptions;
}

/** The streaming cache's sizes (see KVCacheOptions.streaming). */
export interface StreamingOptions {
  /** Tokens kept from the start of each sequence (≥ 1). */
  readonly sinks: number;
  /** Each query sees the keys at its position and the window − 1 before it (plus the sinks). */
  readonly window: number;
  /**
   * Most query rows one decode() may have (speculative decoding, chunked prefill), default 16:
   * the ring keeps window + maxChunk − 1 recent tokens, what the oldest row of such a chunk needs.
   */
  readonly maxChunk?: number;
}

/** Options of append(). */
export interface AppendOptions {
  /**
   * New tokens per sequence: one number for all, or one per sequence (ragged), each at most
   * the data's token count N. Sequence b takes rows 0 … counts[b] − 1 of its part. Default N.
   */
  readonly counts?: number | readonly number[];
  /** Memory order of host data (default 'bhnd'); a tensor's own layout is used for tensors. */
  readonly layout?: Layout;
}

/**
 * K or V for append(): [B, Hkv, N, D] as host data (f32 values, f16 bits, numbers; N from its
 * length) or a tensor of the same Attention (on WebGPU, of the cache's dtype: copied on the device).
 */
export type AppendData = AttentionTensor | TensorData;

/** The public surface every cache kind offers. */
export interface KVCacheLike {
  readonly kind: 'contiguous' | 'streaming' | 'paged';
  /** Sequences: the batch of every append, truncate and decode (a paged cache's: its live sequences, ascending ids). */
  readonly batch: number;
  /** K/V heads. */
  readonly heads: number;
  readonly headDim: number;
  readonly dtype: DType;
  /** Tokens each sequence has seen so far (logical lengths: a streaming cache's exceed what it keeps). */
  readonly lengths: readonly number[];
  /** Adds tokens to the end of each sequence, in place (enqueued on the device before it returns). */
  append(k: AppendData, v: AppendData, opts?: AppendOptions): void;
  /** Shortens sequences to these lengths (one number for all, or one each; none may grow), e.g. after rejected speculative tokens. */
  truncate(lengths: number | readonly number[]): void;
  /** Empties every sequence, keeping the memory (a paged cache's pages go back to its free list; its sequences stay). */
  reset(): void;
  /** Frees the device memory; the cache cannot be used afterwards. */
  destroy(): void;
  /** @internal How attention reads the cache for query rows starting at these positions (one per sequence). */
  readPlan(queryPositions: readonly number[], rows: number): CacheReadPlan;
  /** @internal Resolves once the device copies of earlier appends are validated; rejects where one failed (copy-watch.ts). */
  settled?(): Promise<void>;
}

/**
 * One set of keys attention runs over in one forward call: K and V [B, Hkv, S, D] read in
 * place, key slot j of sequence b at position keyOffset[b] + j. Slots holding no token of
 * the part must be masked by `causal` (positions past the rows) or by `mask`.
 */
export interface CachePart {
  readonly k: AttentionTensor;
  readonly v: AttentionTensor;
  readonly keyOffset: readonly number[];
  /** A mask this part needs besides the caller's (on positions), e.g. the streaming window. */
  readonly mask?: Modifier;
  /** Whether learned sinks apply in this part: in exactly one part, or the sink would count twice. */
  readonly sinks: boolean;
  /**
   * Paged K/V (the paged cache): k and v are page pools [numPages, Hkv, pageSize, D] and this
   * says which pages batch entry b reads and how many keys it has (forward()'s `pages`); key
   * r of entry b is then at position keyOffset[b] + r, and keys past lengths[b] are masked.
   */
  readonly pages?: PagedKeys;
}

/** The parts attention runs over; more than one are merged exactly with combine. */
export interface CacheReadPlan {
  readonly parts: readonly CachePart[];
  /** Called once the reading call has submitted its work: until then the parts' buffers stay alive even if the cache grows. */
  readonly release?: () => void;
}
