/*
 * What the fused forward's program does differently for paged K/V (kernels/paged.ts):
 * the page table goes up as a small upload each call, and the K and V pools are bound
 * whole (any sequence may point at any page), so a call too large for one binding is
 * split over its query rows only, and the pools must fit one binding themselves.
 */
import { AttentionLimitError } from '../tensor/errors.js';
import { bytesOf } from '../tensor/half.js';
import type { AttentionCall, Caps } from './call.js';
import { pageWords } from './paged.js';
import { padBytes, type BufferDecl } from './program.js';
import type { BoundRange, SplitInput } from './split.js';

const NO_STRIDES = { batch: 0, head: 0, seq: 0 } as const;

/** Bytes of one K (or V) pool: pages × Hkv × pageSize × D elements. */
export function poolBytes(c: Pick<AttentionCall, 'pages' | 'problem' | 'dtype'>): number {
  const p = c.problem;
  return c.pages!.numPages * p.headsKv * c.pages!.pageSize * p.headDim * bytesOf(c.dtype);
}

/**
 * The split input of a paged call: K and V seen as one row each (the pools are bound whole
 * by poolRange, not by the chunks), after checking that a pool fits one binding.
 */
export function pagedSplit(c: AttentionCall, split: SplitInput, caps: Caps): SplitInput {
  if (!c.pages) return split;
  const bytes = padBytes(poolBytes(c));
  if (bytes > caps.maxBindingBytes) {
    throw new AttentionLimitError(
      `a paged call binds each K/V pool whole (${bytes} bytes), but this device binds at most ${caps.maxBindingBytes} bytes ` +
        '(maxStorageBufferBindingSize); use fewer or smaller pages',
    );
  }
  return { ...split, k: NO_STRIDES, v: NO_STRIDES };
}

/** A chunk's bound ranges with K and V replaced by their whole pools (paged calls; others unchanged). */
export function poolRange<R extends { readonly k: BoundRange; readonly v: BoundRange }>(c: AttentionCall, r: R): R {
  if (!c.pages) return r;
  const whole = { offset: 0, size: padBytes(poolBytes(c)) };
  return { ...r, k: whole, v: whole };
}

/** The page table upload a paged program binds as `pages` (u32 words, handed over as their bits). */
export function pagedBuffers(pages: NonNullable<AttentionCall['pages']>): Record<string, BufferDecl> {
  // The runtime writes an upload's bytes as they are: the f32 view only carries the u32 bits.
  return { pages: { role: 'upload', data: new Float32Array(pageWords(pages).buffer), label: 'attention page table' } };
}
