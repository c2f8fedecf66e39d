/*
 * Results kept between calls (block masks): a program's output stored under the
 * key its kernel program derived, least recently used first, at most `size`. A
 * hit also compares the uploads the result was made from, so a key collision
 * can never reuse a wrong result.
 */
import type { Buffers } from './buffers.js';

interface Entry {
  readonly buffer: GPUBuffer;
  readonly uploads: readonly Float32Array[];
}

export class ResultCache {
  private readonly entries = new Map<string, Entry>();
  /** Buffers that prepared programs have bound and not yet submitted, with how many of them. */
  private readonly pins = new Map<GPUBuffer, number>();
  /** Buffers dropped from `entries` while pinned: freed at their last unpin. */
  private readonly dropped = new Set<GPUBuffer>();

  constructor(
    private readonly buffers: Buffers,
    private readonly size: number,
  ) {}

  /** The kept buffer for `key` made from `uploads`, or undefined. */
  get(key: string, uploads: readonly Float32Array[]): GPUBuffer | undefined {
    const hit = this.entries.get(key);
    if (!hit || hit.uploads.length !== uploads.length || !hit.uploads.every((u, i) => sameBits(u, uploads[i]!))) return undefined;
    this.entries.delete(key); // re-insert: most recently used last
    this.entries.set(key, hit);
    return hit.buffer;
  }

  /** Keeps `buffer` under `key`; the oldest entry beyond the size is freed once the queue is done with it. */
  set(key: string, buffer: GPUBuffer, uploads: readonly Float32Array[]): void {
    const replaced = this.entries.get(key);
    if (replaced) this.drop(key, replaced);
    this.buffers.keep(buffer);
    this.entries.set(key, { buffer, uploads: uploads.map((u) => u.slice()) });
    if (this.entries.size > this.size) {
      const [oldKey, old] = this.entries.entries().next().value!;
      this.drop(oldKey, old);
    }
  }

  /** A prepared program binds `buffer` (a kept result): it is not freed before unpin(). */
  pin(buffer: GPUBuffer): void {
    this.pins.set(buffer, (this.pins.get(buffer) ?? 0) + 1);
  }

  /** The program that pinned `buffer` has submitted (or given up): an evicted buffer is freed once the queue is done with it. */
  unpin(buffer: GPUBuffer): void {
    const n = (this.pins.get(buffer) ?? 0) - 1;
    if (n > 0) return void this.pins.set(buffer, n);
    this.pins.delete(buffer);
    if (this.dropped.delete(buffer)) this.buffers.release(buffer);
  }

  private drop(key: string, e: Entry): void {
    this.entries.delete(key);
    if (this.pins.has(e.buffer)) this.dropped.add(e.buffer);
    else this.buffers.release(e.buffer);
  }
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
}
