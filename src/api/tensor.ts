/*
 * AttentionTensor: a [B, H, N, D] tensor living on one Attention instance's
 * backend (a GPU buffer, or a Float32Array for the CPU backend). It stays
 * there between calls; read() copies it back explicitly.
 */
import { AttentionInputError } from '../tensor/errors.js';
import { dimsOf, numel, type Layout, type Shape4 } from '../tensor/shape.js';

/** Where a tensor's data lives. */
export type TensorStorage = { readonly kind: 'gpu'; readonly buffer: GPUBuffer } | { readonly kind: 'cpu'; readonly data: Float32Array };

/** The part of a backend a tensor needs to read itself back. */
export interface TensorOwner {
  readBack(storage: TensorStorage, count: number): Promise<Float32Array>;
}

export class AttentionTensor {
  /** Logical shape [B, H, N, D]; an LSE tensor is [B, H, N, 1]. */
  readonly shape: Shape4;
  /** Memory order of the data. */
  readonly layout: Layout;
  /** @internal */
  readonly owner: TensorOwner;
  #storage: TensorStorage | undefined;

  /** @internal Created by Attention.tensor() and forward(). */
  constructor(owner: TensorOwner, storage: TensorStorage, shape: Shape4, layout: Layout) {
    this.owner = owner;
    this.#storage = storage;
    this.shape = shape;
    this.layout = layout;
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

  /** Copies the data back to the host, in this tensor's layout. */
  async read(): Promise<Float32Array> {
    return this.owner.readBack(this.storage(), numel(this.shape));
  }

  /** Releases the GPU buffer (no-op on CPU). Further use throws. */
  destroy(): void {
    if (this.#storage?.kind === 'gpu') this.#storage.buffer.destroy();
    this.#storage = undefined;
  }
}
