/*
 * The memory of a KV cache: K and V as [B, H, S, D] 'bhnd' tensors of S slots on the
 * Attention's backend (GPU buffers on WebGPU, Float32Arrays on the CPU), written row
 * by row in place. Cache kinds decide which slot a token goes to; this file moves the
 * rows: appended data (host arrays, or tensors of the same Attention) into slots,
 * coalescing adjacent rows into one copy, and a whole store into a larger one (growth).
 * The paged cache's pools (paged-pool.ts) are written through the same runs.
 */
import { COPY_SRC } from '../runtime/buffers.js';
import { copyRuns, whenDone, writeRuns, type ByteRun } from '../runtime/copies.js';
import { AttentionInputError, AttentionLimitError } from '../tensor/errors.js';
import { bytesOf, fromHalf, roundToHalf, toHalf, type DType } from '../tensor/half.js';
import { rowOffset, stridesOf, type Layout, type Shape4, type Strides } from '../tensor/shape.js';
import { checkLive, WebGpuBackend, type Backend } from './backends.js';
import { hostData } from './host-data.js';
import type { AppendData } from './kv-cache-types.js';
import { AttentionTensor, type TensorStorage } from './tensor.js';

/** A run of `len` elements from element `src` of the source to element `dst` of the store. */
export interface Run {
  readonly src: number;
  readonly dst: number;
  len: number;
}

/** Appends a run, merging it into the last when both sides continue where it ended. */
function addRun(runs: Run[], src: number, dst: number, len: number): void {
  const last = runs[runs.length - 1];
  if (last && last.src + last.len === src && last.dst + last.len === dst) last.len += len;
  else runs.push({ src, dst, len });
}

/** Appended K or V, checked and brought to a form the store can copy from. */
export interface AppendSource {
  /** Tokens per sequence in the data (N of [B, H, N, D]). */
  readonly seq: number;
  readonly strides: Strides;
  /** Host values in the cache's dtype (f32 values; f16 bits on WebGPU, f16-rounded values on the CPU), or a tensor's storage. */
  readonly host?: Float32Array | Uint16Array;
  readonly tensor?: { readonly storage: TensorStorage; readonly dtype: DType };
}

/**
 * Checks appended data against the cache's [B, H, ·, D] and dtype and converts host data
 * once. A tensor must belong to the same Attention; on WebGPU it must have the cache's dtype
 * (it is copied on the device, with no conversion).
 */
export function appendSource(impl: Backend, data: AppendData, name: string, like: Shape4, dtype: DType, layout?: Layout): AppendSource {
  checkLive(impl);
  const { batch: B, heads: H, headDim: D } = like;
  const rowElems = B * H * D;
  if (data instanceof AttentionTensor) {
    if (data.owner !== impl) throw new AttentionInputError(`${name} belongs to another Attention instance (or device)`);
    if (layout !== undefined && layout !== data.layout) {
      throw new AttentionInputError(
        `append() options: layout '${layout}' is for host data, but ${name} is a tensor in '${data.layout}' (its own layout is used; leave layout out)`,
      );
    }
    const s = data.shape;
    if (s.batch !== B || s.heads !== H || s.headDim !== D) {
      throw new AttentionInputError(`${name} must be [${B}, ${H}, N, ${D}] (the cache's batch, heads, head dim), got [${data.dims.join(', ')}]`);
    }
    if (impl.kind === 'webgpu' && data.dtype !== dtype) {
      throw new AttentionInputError(`${name} is ${data.dtype} but the cache holds ${dtype}: on WebGPU append a tensor of the cache's dtype (or host data)`);
    }
    const storage = data.storage(name);
    impl.checkStorage(storage, name);
    if (storage.kind === 'gpu' && !(storage.buffer.usage & COPY_SRC)) {
      throw new AttentionInputError(
        `${name}: its GPUBuffer lacks COPY_SRC usage (usage 0x${storage.buffer.usage.toString(16)}), and the cache copies it in with copyBufferToBuffer; create it with GPUBufferUsage.COPY_SRC, or append host data`,
      );
    }
    return { seq: s.seq, strides: stridesOf(s, data.layout), tensor: { storage, dtype: data.dtype } };
  }
  const h = hostData(data, data instanceof Uint16Array ? 'f16' : 'f32');
  const seq = h.length / rowElems;
  if (!Number.isInteger(seq) || seq < 1) {
    throw new AttentionInputError(`${name} has ${h.length} elements, not a whole number ≥ 1 of tokens of [${B}, ${H}, N, ${D}] (${rowElems} each)`);
  }
  const strides = stridesOf({ ...like, seq }, layout ?? 'bhnd');
  let host: Float32Array | Uint16Array;
  if (impl.kind === 'webgpu' && dtype === 'f16') host = h.dtype === 'f16' ? h.bits : toHalf(h.values);
  else {
    const values = h.dtype === 'f16' ? fromHalf(h.bits) : h.values;
    host = dtype === 'f16' ? roundToHalf(new Float32Array(values)) : values;
  }
  return { seq, strides, host };
}

/**
 * The element runs that write tokens i < counts[b] of each sequence b of `src` (every head) to
 * the rows `place(b, i)` returns: element offsets of head 0 in the destination, head h
 * `headStride` elements further. Adjacent rows merge into one run; the runs of the j-th
 * placement of every token come after those of the (j − 1)-th (a token may go to several rows).
 */
export function rowRuns(
  src: AppendSource,
  counts: readonly number[],
  heads: number,
  headDim: number,
  headStride: number,
  place: (b: number, i: number) => readonly number[],
): Run[] {
  const lists: Run[][] = [];
  counts.forEach((n, b) => {
    const rows = Array.from({ length: n }, (_, i) => place(b, i));
    for (let h = 0; h < heads; h++)
      rows.forEach((r, i) => r.forEach((dst, j) => addRun((lists[j] ??= []), rowOffset(src.strides, b, h, i), dst + h * headStride, headDim)));
  });
  return lists.flat();
}

/**
 * Copies `runs` (in elements) of `src` into the tensor `into` of a cache (its dtype), in place:
 * on the CPU directly (rounding f32 tensor data into an f16 cache), on WebGPU as queue writes
 * of host data or one device copy of a tensor's buffer (then: its validation, see copy-watch.ts).
 */
export function writeRunsInto(impl: Backend, into: AttentionTensor, src: AppendSource, runs: readonly Run[]): Promise<string | undefined> | undefined {
  const dst = into.storage();
  if (dst.kind === 'cpu') {
    const from = src.host ?? (src.tensor!.storage as { data: Float32Array }).data;
    for (const r of runs) {
      dst.data.set(from.subarray(r.src, r.src + r.len), r.dst);
      if (into.dtype === 'f16' && src.tensor?.dtype === 'f32') roundToHalf(dst.data.subarray(r.dst, r.dst + r.len));
    }
    return;
  }
  const runner = (impl as WebGpuBackend).runner;
  if (dst.kind !== 'gpu' || (dst.owned && !runner.buffers.holds(dst.buffer))) {
    // Its K/V buffers died with a device that attn.recover() replaced: writes to them would do nothing.
    throw new AttentionInputError(
      'this cache lives on a GPU device that was lost and replaced (attn.recover()); make a new cache and append the sequences again',
    );
  }
  const eb = bytesOf(into.dtype);
  const bytes = (base: number): ByteRun[] => runs.map((r) => ({ src: base + r.src * eb, dst: dst.offset + r.dst * eb, bytes: r.len * eb }));
  if (src.host) {
    writeRuns(runner, dst.buffer, src.host, bytes(0));
    return undefined;
  }
  const s = src.tensor!.storage;
  if (s.kind !== 'gpu') throw new Error('a CPU tensor given to a WebGPU cache');
  return copyRuns(runner, s.buffer, dst.buffer, bytes(s.offset), 'webgpu-attention kv-cache append');
}

/** `count` zeros for a cache on the CPU: AttentionLimitError (naming `label`) where the engine cannot allocate them. */
export function hostZeros(count: number, label: string): Float32Array {
  try {
    return new Float32Array(count);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new AttentionLimitError(`${label} needs ${count} f32 values (${count * 4} bytes), more than this JavaScript engine allocates in one array`);
  }
}

/** K and V of one cache: [B, H, slots, D] 'bhnd' on the backend. */
export class CacheStore {
  readonly k: AttentionTensor;
  readonly v: AttentionTensor;
  readonly shape: Shape4;
  private readonly strides: Strides;

  constructor(
    private readonly impl: Backend,
    shape: Shape4,
    readonly dtype: DType,
    label: string,
  ) {
    this.shape = shape;
    this.strides = stridesOf(shape, 'bhnd');
    const make = (which: string) => new AttentionTensor(impl, this.allocate(`${label} ${which}`), shape, 'bhnd', dtype);
    this.k = make('K');
    this.v = make('V');
  }

  private allocate(label: string): TensorStorage {
    const count = this.shape.batch * this.shape.heads * this.shape.seq * this.shape.headDim;
    if (this.impl instanceof WebGpuBackend) {
      // Zero-filled by WebGPU: slots never written hold zeros, not garbage.
      return { kind: 'gpu', buffer: this.impl.runner.buffers.storage(count * bytesOf(this.dtype), label), offset: 0, owned: true };
    }
    return { kind: 'cpu', data: hostZeros(count, label) };
  }

  /**
   * Writes rows of `src` into slots: for sequence b, its tokens i < counts[b] go to the slots
   * `place(b, i)` returns (none: the token is skipped; two: it is written twice), every head.
   */
  write(which: 'k' | 'v', src: AppendSource, counts: readonly number[], place: (b: number, i: number) => readonly number[]) {
    const st = this.strides;
    const runs = rowRuns(src, counts, this.shape.heads, this.shape.headDim, st.head, (b, i) => place(b, i).map((slot) => rowOffset(st, b, 0, slot)));
    return writeRunsInto(this.impl, this[which], src, runs);
  }

  /** Copies every slot of `from` (a smaller store of the same batch and heads) into the first slots here. */
  copyFrom(from: CacheStore): void {
    const { batch: B, heads: H, seq: S, headDim: D } = from.shape;
    const runs: Run[] = [];
    for (let bh = 0; bh < B * H; bh++) runs.push({ src: bh * S * D, dst: bh * this.shape.seq * D, len: S * D });
    for (const which of ['k', 'v'] as const) {
      const t = from[which];
      writeRunsInto(this.impl, this[which], { seq: S, strides: from.strides, tensor: { storage: t.storage(), dtype: t.dtype } }, runs);
    }
  }

  /** Frees the memory once the work already submitted (which may read it) is done. */
  destroy(): void {
    for (const t of [this.k, this.v]) {
      if (this.impl instanceof WebGpuBackend) whenDone(this.impl.runner, () => t.destroy());
      else t.destroy();
    }
  }
}
