/*
 * AttentionTensor: a [B, H, N, D] tensor of f32 or f16 elements living on one
 * Attention instance's backend (a range of a GPU buffer — the library's, or a
 * caller's wrapped without a copy — or a Float32Array for the CPU backend). It
 * stays there between calls; read() copies it back explicitly.
 */
import { AttentionInputError, DESTROYED } from '../tensor/errors.js';
import { bytesOf, type DType } from '../tensor/half.js';
import { dimsOf, numel, type Layout, type Shape4 } from '../tensor/shape.js';

/**
 * Where a tensor's data lives: a range of a GPU buffer (`owned`: made by this library,
 * destroyed with the tensor; else the caller's, never destroyed here), or host memory
 * (f32 values; an f16 tensor's are f16 values held as f32).
 */
export type TensorStorage =
  | { readonly kind: 'gpu'; readonly buffer: GPUBuffer; readonly offset: number; readonly owned: boolean }
  | { readonly kind: 'cpu'; readonly data: Float32Array };

/** A tensor's place in a GPU buffer, for passing it to other WebGPU code. */
export interface GpuBufferView {
  readonly buffer: GPUBuffer;
  /** Where the tensor starts in `buffer`. */
  readonly byteOffset: number;
  /** Bytes of the tensor's elements (4 per f32, 2 per f16). */
  readonly byteLength: number;
}

/** The part of a backend a tensor needs to read itself back. */
export interface TensorOwner {
  readBack(storage: TensorStorage, count: number, dtype: DType): Promise<Float32Array>;
  /** After attn.destroy(). */
  readonly destroyed?: boolean;
}

/** What every use of an Attention after attn.destroy() throws (backends.ts checkLive). */
export { DESTROYED };

/** A backend as a call's operands are checked against it (backends.ts). */
interface OperandOwner extends TensorOwner {
  checkStorage(storage: TensorStorage, name: string): void;
}

/** Each argument's storage, checked to be a live tensor of `owner` (anything else, undefined too, is refused by name). */
export function operandStorages<K extends string>(owner: OperandOwner, tensors: Partial<Record<K, AttentionTensor>>): Record<K, TensorStorage> {
  const out = {} as Record<K, TensorStorage>;
  for (const [name, t] of Object.entries(tensors) as [K, AttentionTensor][]) {
    if (!(t instanceof AttentionTensor)) throw new AttentionInputError(`${name} must be a tensor made by attn.tensor()`);
    if (t.owner !== owner) throw new AttentionInputError(`${name} belongs to another Attention instance (or device)`);
    out[name] = t.storage(name);
    owner.checkStorage(out[name], name);
  }
  return out;
}

export class AttentionTensor {
  /** Logical shape [B, H, N, D]; an LSE tensor is [B, H, N, 1]. */
  readonly shape: Shape4;
  /** Memory order of the data. */
  readonly layout: Layout;
  /** Element type: 'f32', or 'f16' (IEEE binary16; a GPU buffer holds 2 bytes per element). */
  readonly dtype: DType;
  /** @internal */
  readonly owner: TensorOwner;
  #storage: TensorStorage | undefined;

  /** @internal Created by Attention.tensor() and forward(). */
  constructor(owner: TensorOwner, storage: TensorStorage, shape: Shape4, layout: Layout, dtype: DType = 'f32') {
    this.owner = owner;
    this.#storage = storage;
    this.shape = shape;
    this.layout = layout;
    this.dtype = dtype;
  }

  /** [B, H, N, D]. */
  get dims(): [number, number, number, number] {
    return dimsOf(this.shape);
  }

  /** @internal The storage; throws if the tensor was destroyed. */
  storage(name = 'tensor'): TensorStorage {
    if (!this.#storage) throw new AttentionInputError(`${name} was destroyed and cannot be used`);
    return this.#storage;
  }

  get destroyed(): boolean {
    return this.#storage === undefined;
  }

  /** Copies the data back to the host, in this tensor's layout, as f32 values (an f16 tensor's are exact in f32). */
  async read(): Promise<Float32Array> {
    return this.owner.readBack(this.storage(), numel(this.shape), this.dtype);
  }

  /**
   * Where the data lives on the GPU (undefined on the CPU backend): a result's buffer is
   * owned by this tensor (destroy() frees it); a wrapped caller's buffer stays the caller's.
   */
  get gpuBuffer(): GpuBufferView | undefined {
    if (this.owner.destroyed) throw new AttentionInputError(DESTROYED);
    const s = this.storage();
    return s.kind === 'gpu' ? { buffer: s.buffer, byteOffset: s.offset, byteLength: numel(this.shape) * bytesOf(this.dtype) } : undefined;
  }

  /** Whether the GPU buffer is the caller's (wrapped with attn.tensor(buffer, …)) rather than the library's. */
  get wrapsCallerBuffer(): boolean {
    return this.#storage?.kind === 'gpu' && !this.#storage.owned;
  }

  /**
   * Releases the tensor: destroys a GPU buffer the library made (a result, an upload);
   * a wrapped caller's buffer is left alone. No-op on the CPU. Further use throws.
   */
  destroy(): void {
    if (this.#storage?.kind === 'gpu' && this.#storage.owned) this.#storage.buffer.destroy();
    this.#storage = undefined;
  }
}

/**
 * Refuses an output `t` whose bytes overlap one of `taken` (a call's inputs and other outputs):
 * a kernel would read what it has already overwritten, and WebGPU refuses a buffer bound for
 * reading and writing at once. Side-by-side ranges of one buffer are fine.
 */
export function checkApart(name: string, t: AttentionTensor, taken: Readonly<Record<string, AttentionTensor | undefined>>): void {
  for (const [other, x] of Object.entries(taken)) {
    if (x && sharesMemory(t, x))
      throw new AttentionInputError(`${name} shares memory with ${other}: results must go where no input or other output of the call lies`);
  }
}

/** Whether two tensors' bytes overlap (the same tensor, or ranges of one GPUBuffer that meet). */
function sharesMemory(a: AttentionTensor, b: AttentionTensor): boolean {
  if (a === b) return true;
  if (a.destroyed || b.destroyed) return false; // the operand checks say so, by name
  const [sa, sb] = [a.storage(), b.storage()];
  if (sa.kind !== 'gpu' || sb.kind !== 'gpu' || sa.buffer !== sb.buffer) return false;
  const end = (s: typeof sa, t: AttentionTensor) => s.offset + numel(t.shape) * bytesOf(t.dtype);
  return sa.offset < end(sb, b) && sb.offset < end(sa, a);
}
