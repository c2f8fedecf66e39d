/*
 * The K and V page pools of a paged cache (api/paged-cache.ts) and the writes into
 * them, in place, on the cache's backend: rows of new tokens from host data or from a
 * tensor (through the contiguous cache's row runs, cache-store.ts), and whole-page
 * copies for copy-on-write. The pools are [numPages, H, pageSize, D] 'bhnd'
 * (kernels/paged.ts says why), so one head's rows of one page are contiguous and an
 * append is one write per (head, page) it touches.
 *
 * On WebGPU the writes are queue operations (writeBuffer, copyBufferToBuffer), ordered
 * with every later attention call on the same queue, and need no readback.
 */
import { bytesOf, type DType } from '../tensor/half.js';
import type { Shape4 } from '../tensor/shape.js';
import type { Attention } from './attention.js';
import { WebGpuBackend } from './backends.js';
import { hostZeros, rowRuns, writeRunsInto, type AppendSource } from './cache-store.js';
import { AttentionTensor } from './tensor.js';

/** K and V pools of one cache, and in-place writes into them. */
export class PagePools {
  readonly k: AttentionTensor;
  readonly v: AttentionTensor;
  private readonly shape: Shape4;

  constructor(
    private readonly attn: Attention,
    numPages: number,
    private readonly heads: number,
    pageSize: number,
    private readonly headDim: number,
    private readonly dtype: DType,
  ) {
    this.shape = { batch: numPages, heads, seq: pageSize, headDim };
    const dims = [numPages, heads, pageSize, headDim];
    const impl = attn.impl;
    if (impl instanceof WebGpuBackend) {
      // Fresh buffers are zero; nothing goes through host memory however large the pools are.
      const bytes = Math.max(16, Math.ceil((numPages * heads * pageSize * headDim * bytesOf(dtype)) / 16) * 16);
      const pool = (name: string) => {
        const buffer = impl.runner.buffers.storage(bytes, `paged cache ${name} pool ${dims.join('x')}`);
        return new AttentionTensor(impl, { kind: 'gpu', buffer, offset: 0, owned: true }, this.shape, 'bhnd', dtype);
      };
      [this.k, this.v] = [pool('K'), pool('V')];
    } else {
      const zeros = (name: string) => attn.tensor(hostZeros(numPages * heads * pageSize * headDim, `paged cache ${name} pool`), dims, { dtype });
      [this.k, this.v] = [zeros('K'), zeros('V')];
    }
  }

  /**
   * Writes tokens i < counts[b] of batch entry b of `src` ([B, H, N, D], checked by appendSource)
   * into the pool `which`, token i at row `at` of page `page` as `place(b, i)` says: one run per
   * head and page when the source's rows are contiguous.
   */
  write(which: 'k' | 'v', src: AppendSource, counts: readonly number[], place: (b: number, i: number) => { page: number; at: number }) {
    const { seq: ps, headDim: D } = this.shape;
    const row = (b: number, i: number) => {
      const { page, at } = place(b, i);
      return [(page * this.heads * ps + at) * D];
    };
    return writeRunsInto(this.attn.impl, this[which], src, rowRuns(src, counts, this.heads, D, ps * D, row));
  }

  /** Copies page `from` of both pools to page `to` (copy-on-write of a shared partial page). */
  copyPage(from: number, to: number): void {
    const elems = this.heads * this.shape.seq * this.headDim;
    const [k, v] = [this.k.storage('cache k'), this.v.storage('cache v')];
    if (k.kind === 'cpu' && v.kind === 'cpu') {
      for (const s of [k, v]) s.data.copyWithin(to * elems, from * elems, (from + 1) * elems);
      return;
    }
    if (k.kind !== 'gpu' || v.kind !== 'gpu') throw new Error('paged cache: pools on two backends');
    const runner = (this.attn.impl as WebGpuBackend).runner;
    const bytes = elems * bytesOf(this.dtype);
    // A buffer cannot copy into itself: through a scratch page.
    const scratch = runner.buffers.storage(Math.max(16, bytes), 'paged cache copy-on-write page');
    const enc = runner.device.createCommandEncoder({ label: 'paged cache copy-on-write' });
    for (const s of [k, v]) {
      enc.copyBufferToBuffer(s.buffer, s.offset + from * bytes, scratch, 0, bytes);
      enc.copyBufferToBuffer(scratch, 0, s.buffer, s.offset + to * bytes, bytes);
    }
    runner.device.queue.submit([enc.finish()]);
    scratch.destroy();
  }

  destroy(): void {
    this.k.destroy();
    this.v.destroy();
  }
}
