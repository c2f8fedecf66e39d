/*
 * Decodes of a cache that have read its plan but not yet submitted their work. attn.decode
 * takes the plan synchronously and submits later (after its kernels compile, after earlier
 * submissions), so a caller that does not await it can change the cache in between. Changes
 * that only add rows past what a pending decode reads (an append; a growth, whose old buffers
 * wait here to be freed) stay allowed; changes that could overwrite rows it reads (truncate,
 * reset, a streaming cache's eviction, a paged cache's freed pages) throw instead of giving a
 * silently wrong result; destroy() waits for the reads to submit before freeing.
 */
import { AttentionInputError } from '../tensor/errors.js';

export class PendingReads {
  #count = 0;
  #idle: (() => void)[] = [];

  /** One more pending read; the returned function ends it (calling it again does nothing). */
  begin(): () => void {
    this.#count++;
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      if (--this.#count === 0) for (const fn of this.#idle.splice(0)) fn();
    };
  }

  /** Throws while a read is pending: `what` could change rows it reads. */
  check(what: string): void {
    if (this.#count > 0) {
      throw new AttentionInputError(
        `${what}: a decode of this cache has not submitted its work yet, and this could change what it reads; await attn.decode(…) first`,
      );
    }
  }

  /** Runs `fn` now, or once the last pending read has submitted its work. */
  whenIdle(fn: () => void): void {
    if (this.#count === 0) fn();
    else this.#idle.push(fn);
  }
}
