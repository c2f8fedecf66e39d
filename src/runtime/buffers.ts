/*
 * Buffers a runner makes: counted while alive (leak tests, `liveBytes`), checked
 * against the device's largest buffer, scratch pooled by size and usage so that
 * repeated calls allocate nothing new, read back through a staging buffer.
 */
import { AttentionLimitError } from '../tensor/errors.js';
import { scopeError } from './scope-error.js';
import type { DeviceLife } from './device-life.js';

/** GPUBufferUsage.COPY_SRC (the number: Node has no GPUBufferUsage global). */
export const COPY_SRC = 0x04;
export const STORAGE = 0x80 | COPY_SRC | 0x08; // STORAGE | COPY_SRC | COPY_DST
export const UNIFORM = 0x40 | 0x08; // UNIFORM | COPY_DST

/** A whole buffer, or a range of one (offset aligned to minStorageBufferOffsetAlignment). */
export type BindingResource = GPUBuffer | { readonly buffer: GPUBuffer; readonly offset: number; readonly size: number };

export class Buffers {
  private readonly pool = new Map<string, GPUBuffer[]>();
  /** Pooled and cached buffers this runner keeps; destroyed with it. */
  private readonly owned = new Set<GPUBuffer>();
  private readonly live = new Map<GPUBuffer, number>();
  /** Callers' buffers seen to bind on this device. */
  private readonly usable = new WeakSet<GPUBuffer>();
  private probeLayout?: GPUBindGroupLayout;

  constructor(
    private readonly device: GPUDevice,
    private readonly life: DeviceLife,
  ) {}

  /** Whether `buf` was made here and is not destroyed (a tensor from a lost device is not). */
  holds(buf: GPUBuffer): boolean {
    return this.live.has(buf);
  }

  /**
   * Why a caller's buffer cannot be bound on this device (it belongs to another one),
   * or undefined: one bind group made inside an error scope, once per buffer.
   */
  async foreign(buffer: GPUBuffer): Promise<string | undefined> {
    if (this.usable.has(buffer)) return undefined;
    this.probeLayout ??= this.device.createBindGroupLayout({
      label: 'webgpu-attention buffer check',
      entries: [{ binding: 0, visibility: 0x4, buffer: { type: 'read-only-storage' } }], // COMPUTE
    });
    this.device.pushErrorScope('validation');
    this.device.createBindGroup({ label: 'webgpu-attention buffer check', layout: this.probeLayout, entries: [{ binding: 0, resource: { buffer } }] });
    const err = await this.device.popErrorScope();
    if (err) return err.message;
    this.usable.add(buffer);
    return undefined;
  }

  /** Bytes of the buffers made here and not destroyed (pooled ones included). */
  get liveBytes(): number {
    let n = 0;
    for (const b of this.live.values()) n += b;
    return n;
  }

  /** Labels of every buffer made here ('' for unlabeled ones): an error naming a buffer says whether it was ours. */
  readonly labels = new Set<string>();

  /** device.createBuffer, counted in liveBytes until destroyed. */
  create(desc: GPUBufferDescriptor): GPUBuffer {
    this.life.checkAlive();
    const buf = this.device.createBuffer(desc);
    this.labels.add(desc.label ?? '');
    this.live.set(buf, desc.size);
    const destroy = buf.destroy.bind(buf);
    buf.destroy = () => {
      this.live.delete(buf);
      destroy();
    };
    return buf;
  }

  /** A storage buffer of `bytes` (rounded up to 16), checked against the device's largest buffer. */
  storage(bytes: number, label: string): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    if (size > this.device.limits.maxBufferSize) {
      throw new AttentionLimitError(
        `${label} needs ${size} bytes, but this device's largest buffer is ${this.device.limits.maxBufferSize} bytes (maxBufferSize)`,
      );
    }
    return this.create({ label, size, usage: STORAGE });
  }

  /** A new storage buffer holding `data`. */
  upload(data: ArrayBufferView, label: string): GPUBuffer {
    const buf = this.storage(data.byteLength, label);
    this.device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
    return buf;
  }

  /** Copies `bytes` from `src` (at `offset`) back to the host. */
  async read(src: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    const staging = this.create({ label: `${src.label} readback`, size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: 0x01 | 0x08 }); // MAP_READ | COPY_DST
    // In a scope: a copy WebGPU refuses must not come back as the staging buffer's zeros.
    this.device.pushErrorScope('validation');
    let refused: Promise<GPUError | null>;
    try {
      const enc = this.device.createCommandEncoder({ label: 'readback' });
      enc.copyBufferToBuffer(src, offset, staging, 0, Math.min(staging.size, src.size - offset));
      this.device.queue.submit([enc.finish()]);
    } finally {
      refused = this.device.popErrorScope();
    }
    try {
      const err = scopeError(`read() of ${src.label || 'a buffer'}`, await refused, null, this.labels);
      if (err) throw err;
      await this.life.guard(staging.mapAsync(0x0001)); // GPUMapMode.READ
      const out = staging.getMappedRange(0, bytes).slice(0);
      staging.unmap();
      return out;
    } catch (e) {
      throw this.life.lostInfo ? this.life.lostError() : e;
    } finally {
      staging.destroy();
    }
  }

  /**
   * Fills a buffer with NaN (poison) so that unwritten outputs are detectable: the word
   * 0x7fc07fc0 is a NaN read as one f32 and as two f16s alike.
   */
  poison(buffer: GPUBuffer): void {
    this.device.queue.writeBuffer(buffer, 0, new Uint32Array(buffer.size / 4).fill(0x7fc07fc0));
  }

  /** A pooled buffer of exactly `bytes` (a multiple of 16) and `usage`; give it back after the run. */
  take(bytes: number, usage: number, label: string): GPUBuffer {
    const buf = this.pool.get(`${usage}:${bytes}`)?.pop() ?? this.create({ label, size: bytes, usage });
    this.owned.add(buf);
    return buf;
  }

  giveBack(buf: GPUBuffer): void {
    if (this.closed) return void buf.destroy(); // a call that ended after destroyAll(): nothing is pooled any more
    const key = `${buf.usage}:${buf.size}`;
    let free = this.pool.get(key);
    if (!free) this.pool.set(key, (free = []));
    free.push(buf);
  }

  /** Kept by the runner until `release` or `destroyAll` (cached results). */
  keep(buf: GPUBuffer): void {
    if (this.closed) return this.release(buf);
    this.owned.add(buf);
  }

  /** Frees a kept buffer once the queue has finished with it. */
  release(buf: GPUBuffer): void {
    this.owned.delete(buf);
    const free = () => buf.destroy();
    void this.device.queue.onSubmittedWorkDone().then(free, free); // a lost device finishes nothing: free it all the same
  }

  /** Set by destroyAll(): buffers given back or kept afterwards are freed, not pooled. */
  private closed = false;

  destroyAll(): void {
    this.closed = true;
    for (const b of this.owned) b.destroy();
    this.owned.clear();
    this.pool.clear();
  }
}
