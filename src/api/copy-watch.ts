/*
 * A cache's append of a caller's GPU tensor is a device copy (copyBufferToBuffer), enqueued
 * before append() returns; WebGPU validates it on the device afterwards. A GPUBuffer
 * destroyed in the meantime, or made on another device, fails there, and nothing is
 * written. So each such copy is watched: a failure stays on the cache, its next append,
 * truncate or decode throws (decode() waits for the copies it would read), and reset()
 * clears it, with the sequences it emptied.
 */
import { AttentionInputError } from '../tensor/errors.js';

export class CopyWatch {
  /** Each watched copy's validation: its failure, or undefined where it ran (or a reset dropped it). */
  #pending = new Set<Promise<string | undefined>>();
  #failure: string | undefined;
  /** Bumped by reset(): a copy that fails after it belongs to tokens already dropped. */
  #epoch = 0;

  /** Watches the copy of `name` (k or v) that `check` validates (resolving to the device's error message, if any). */
  watch(check: Promise<string | undefined> | undefined, name: string): void {
    if (!check) return;
    const epoch = this.#epoch;
    const done = check.then((why) => {
      if (!why || epoch !== this.#epoch) return undefined;
      const failure = `copying ${name} into it failed on the GPU (${reasonOf(why)})`;
      this.#failure ??= failure;
      return failure;
    });
    this.#pending.add(done);
    void done.then(() => this.#pending.delete(done));
  }

  /** Throws where a watched copy is known to have failed. */
  check(): void {
    if (this.#failure) throw failed(this.#failure);
  }

  /**
   * Waits for the copies watched so far (taken now, before any await: an append made after a
   * decode cannot fail it) and throws where one of them, or one before, failed.
   */
  async settled(): Promise<void> {
    const known = this.#failure;
    const failures = await Promise.all([...this.#pending]);
    const failure = known ?? failures.find((f) => f !== undefined);
    if (failure) throw failed(failure);
  }

  /** Forgets failures: the cache was emptied. */
  reset(): void {
    this.#failure = undefined;
    this.#epoch++;
  }
}

function failed(failure: string): AttentionInputError {
  return new AttentionInputError(
    `an append into this KV cache wrote nothing: ${failure}; its contents are incomplete, so reset() the whole cache (a paged one: its own reset(), not a selection's) or make a new one before using it again`,
  );
}

/** A validation message as the reason a caller's buffer could not be copied. */
function reasonOf(message: string): string {
  if (/associated with/i.test(message)) return 'its GPUBuffer was made on another GPUDevice';
  if (/destroyed/i.test(message)) return 'its GPUBuffer was destroyed before the copy ran';
  return message.split('\n')[0]!.trim();
}
