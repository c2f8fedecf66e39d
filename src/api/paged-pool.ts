/*
 * The K and V page pools of a paged cache (api/paged-cache.ts) and the writes into
 * them, in place, on the cache's backend: rows of new tokens from host data or from a
 * tensor, and whole-page copies for copy-on-write. The pools are [numPages, H,
 * pageSize, D] 'bhnd' (kernels/paged.ts says why), so one head's rows of one page are
 * contiguous and an append is one write per (head, page) it touches.
 *
 * On WebGPU the writes are queue operations (writeBuffer, copyBufferToBuffer), ordered
 * with every later attention call on the same queue, and need no readback.
 */
import { AttentionInputError } from '../tensor/errors.js';
import { bytesOf, fromHalf, type DType } from '../tensor/half.js';
import { stridesOf, type Layout, type Shape4 } from '../tensor/shape.js';
import type { Attention } from './attention.js';
import { WebGpuBackend } from './backends.js';
import type { HostData } from './host-data.js';
import { AttentionTensor, type TensorStorage } from './tensor.js';

/** New rows for a pool: host data [H, n, D] (f32 values or f16 bits), or a tensor's storage [1, H, n, D] in `layout`. */
export type RowSource =
  { readonly kind: 'host'; readonly data: HostData } | { readonly kind: 'tensor'; readonly storage: TensorStorage; readonly layout: Layout };

/** Where rows [row, row + count) of the new tokens go: page `page`, starting at row `at` of it. */
export interface PageRun {
  readonly page: number;
  readonly at: number;
  readonly row: number;
  readonly count: number;
}

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
      const zeros = () => attn.tensor(new Float32Array(numPages * heads * pageSize * headDim), dims, { dtype });
      [this.k, this.v] = [zeros(), zeros()];
    }
  }

  /** Element offset of row `r` of head `h` of page `p` in a pool. */
  private at(p: number, h: number, r: number): number {
    return ((p * this.heads + h) * this.shape.seq + r) * this.headDim;
  }

  /** Writes the new tokens' rows of `which` pool along `runs`; `n` is the new tokens' count. */
  write(which: 'k' | 'v', src: RowSource, n: number, runs: readonly PageRun[]): void {
    const D = this.headDim;
    const pool = this[which].storage(`cache ${which}`);
    const srcStrides = stridesOf({ batch: 1, heads: this.heads, seq: n, headDim: D }, src.kind === 'host' ? 'bhnd' : src.layout);
    // One op per (head, run) when a head's rows are contiguous in the source, else per row.
    const ops: { from: number; to: number; count: number }[] = [];
    for (const run of runs)
      for (let h = 0; h < this.heads; h++) {
        const from = h * srcStrides.head + run.row * srcStrides.seq;
        if (srcStrides.seq === D) ops.push({ from, to: this.at(run.page, h, run.at), count: run.count * D });
        else for (let r = 0; r < run.count; r++) ops.push({ from: from + r * srcStrides.seq, to: this.at(run.page, h, run.at + r), count: D });
      }
    if (pool.kind === 'cpu') {
      const data = src.kind === 'host' ? (src.data.dtype === 'f32' ? src.data.values : fromHalf(src.data.bits)) : cpuData(src.storage);
      for (const o of ops) pool.data.set(data.subarray(o.from, o.from + o.count), o.to);
      return;
    }
    const device = (this.attn.impl as WebGpuBackend).runner.device;
    const eb = bytesOf(this.dtype);
    if (src.kind === 'host') {
      const data = src.data.dtype === 'f32' ? src.data.values : src.data.bits;
      for (const o of ops) device.queue.writeBuffer(pool.buffer, pool.offset + o.to * eb, data.buffer, data.byteOffset + o.from * eb, o.count * eb);
      return;
    }
    const s = src.storage;
    if (s.kind !== 'gpu') throw new AttentionInputError('append: a host tensor cannot go into a WebGPU cache');
    const enc = device.createCommandEncoder({ label: 'paged cache append' });
    for (const o of ops) enc.copyBufferToBuffer(s.buffer, s.offset + o.from * eb, pool.buffer, pool.offset + o.to * eb, o.count * eb);
    device.queue.submit([enc.finish()]);
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

function cpuData(s: TensorStorage): Float32Array {
  if (s.kind !== 'cpu') throw new AttentionInputError('append: a GPU tensor cannot go into a CPU cache');
  return s.data;
}
